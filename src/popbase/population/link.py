"""The link stage: persons to rooms (LIVES_IN, HUKOU_AT), employers (WORKS_AT), and
enterprises to buildings (LOCATED_IN), each link with its source record and date.

Where several records give a person's residence, the most trusted source wins, then the
most recent; the deceased live nowhere.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from popbase.pipeline import BuildContext


def room_link_sql(table: str, kind: str) -> str:
    """The best-ranked linked room of each kind per person."""
    alive = "AND NOT g.deceased" if kind == "residence" else ""
    return f"""
        CREATE OR REPLACE TABLE {table} AS
        SELECT m.person_id, arg_min(l.room_id, [-m.priority, -epoch(coalesce(m.as_of, TIMESTAMP '1900-01-01'))]) AS room_id,
               arg_min(l.source, [-m.priority, -epoch(coalesce(m.as_of, TIMESTAMP '1900-01-01'))]) AS source,
               arg_min(l.record_id, [-m.priority, -epoch(coalesce(m.as_of, TIMESTAMP '1900-01-01'))]) AS record_id,
               max(m.as_of) AS as_of
        FROM record_links l
        JOIN person_members m USING (record_id)
        JOIN persons_golden g USING (person_id)
        WHERE l.address_kind = '{kind}' AND l.room_id IS NOT NULL {alive}
        GROUP BY m.person_id
    """


def enterprises_sql() -> str:
    """One enterprise per valid credit code: the most trusted, most recent registration."""
    return """
        CREATE OR REPLACE TABLE enterprises AS
        SELECT credit_code_norm AS credit_code,
               arg_min(e.name, [-e.priority, -epoch(coalesce(e.as_of, TIMESTAMP '1900-01-01'))]) AS name,
               arg_min(l.building_id, [-e.priority, -epoch(coalesce(e.as_of, TIMESTAMP '1900-01-01'))]) AS building_id,
               arg_min(e.record_id, [-e.priority, -epoch(coalesce(e.as_of, TIMESTAMP '1900-01-01'))]) AS record_id,
               any_value(e.industry) AS industry, any_value(e.status) AS status
        FROM enterprise_records_valid e LEFT JOIN record_links l USING (record_id)
        GROUP BY credit_code_norm
    """


def works_at_sql() -> str:
    """Employees to the enterprises named by their employer's credit code."""
    return """
        CREATE OR REPLACE TABLE works_at AS
        SELECT DISTINCT ON (m.person_id, e.credit_code) m.person_id, e.credit_code, r.source, r.record_id, r.as_of
        FROM person_records_valid r
        JOIN person_members m USING (record_id)
        JOIN enterprises e ON upper(trim(r.employer_credit_code)) = e.credit_code
        ORDER BY m.person_id, e.credit_code, r.priority DESC, r.as_of DESC
    """


def link_persons(ctx: BuildContext) -> dict[str, Any]:
    """Create the link tables."""
    db = ctx.db
    db.execute(room_link_sql("lives_in", "residence"))
    db.execute(room_link_sql("hukou_at", "hukou"))
    db.execute(enterprises_sql())
    db.execute(works_at_sql())
    counts = {t: int(db.scalar(f"SELECT count(*) FROM {t}") or 0)
              for t in ("lives_in", "hukou_at", "enterprises", "works_at")}
    counts["enterprises_located"] = int(
        db.scalar("SELECT count(*) FROM enterprises WHERE building_id IS NOT NULL") or 0)
    return counts
