"""The link stage: persons to rooms, employers, and enterprises to buildings.

LIVES_IN and HUKOU_AT link persons to rooms, WORKS_AT to employers, LOCATED_IN
enterprises to buildings; each link keeps its source record and date.

Where several records give a person's residence, the most trusted source wins, then the
most recent; the deceased live nowhere.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from popbase.pipeline import BuildContext


# Household statuses (人户状态) that say the person does not live at the listed address.
ABSENT_PREFIXES = ("人不在户在", "外出", "人户分离（外出）")


def _best(partition: str, alias: str) -> str:
    """Keep the most trusted, then most recent, then first record per ``partition``."""
    return (
        f"QUALIFY row_number() OVER (PARTITION BY {partition} "
        f"ORDER BY {alias}.priority DESC, {alias}.as_of DESC NULLS LAST, {alias}.record_id) = 1"
    )


def room_link_sql(table: str, kind: str) -> str:
    """The best-ranked linked room of each kind per person.

    A residence needs a living person and a record that does not itself say the person
    lives elsewhere (人不在户在, 外出): such a ledger row lists the registered home.
    """
    absent = " OR ".join([f"starts_with(trim(r.household_status), '{w}')" for w in ABSENT_PREFIXES])
    residence = (
        f"AND NOT g.deceased AND NOT coalesce({absent}, false)" if kind == "residence" else ""
    )
    return f"""
        CREATE OR REPLACE TABLE {table} AS
        SELECT m.person_id, l.room_id, l.source, l.record_id, m.as_of
        FROM record_links l
        JOIN person_members m USING (record_id)
        JOIN persons_golden g USING (person_id)
        JOIN person_records_valid r USING (record_id)
        WHERE l.address_kind = '{kind}' AND l.room_id IS NOT NULL {residence}
        {_best("m.person_id", "m")}
    """


def enterprises_sql() -> str:
    """One enterprise per valid credit code: the most trusted, most recent registration."""
    return f"""
        CREATE OR REPLACE TABLE enterprises AS
        SELECT e.credit_code_norm AS credit_code, e.name, l.building_id, e.record_id,
               e.industry, e.status
        FROM enterprise_records_valid e LEFT JOIN record_links l USING (record_id)
        {_best("e.credit_code_norm", "e")}
    """


def works_at_sql() -> str:
    """Employees to the enterprises named by their employer's credit code."""
    return f"""
        CREATE OR REPLACE TABLE works_at AS
        SELECT m.person_id, e.credit_code, r.source, r.record_id, r.as_of
        FROM person_records_valid r
        JOIN person_members m USING (record_id)
        JOIN enterprises e ON upper(trim(r.employer_credit_code)) = e.credit_code
        {_best("m.person_id, e.credit_code", "r")}
    """


def link_persons(ctx: BuildContext) -> dict[str, Any]:
    """Create the link tables."""
    db = ctx.db
    db.execute(room_link_sql("lives_in", "residence"))
    db.execute(room_link_sql("hukou_at", "hukou"))
    db.execute(enterprises_sql())
    db.execute(works_at_sql())
    counts = {
        t: int(db.scalar(f"SELECT count(*) FROM {t}") or 0)
        for t in ("lives_in", "hukou_at", "enterprises", "works_at")
    }
    counts["enterprises_located"] = int(
        db.scalar("SELECT count(*) FROM enterprises WHERE building_id IS NOT NULL") or 0
    )
    return counts
