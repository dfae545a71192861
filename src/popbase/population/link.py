"""The link stage: persons to rooms, employers and households; enterprises to buildings.

LIVES_IN and HUKOU_AT link persons to rooms, WORKS_AT to employers, MEMBER_OF to the
household of the register's household number (户号, with the relation to its head),
LOCATED_IN enterprises to buildings; each link keeps its source record and date.

Where several records give a person's residence, the most trusted source wins, then the
most recent; the deceased live nowhere. That choice is the residency rule ``listed``
(:mod:`popbase.population.residency_rules`), scored by ``popbase eval`` like the others.
Where a source is declared the hukou register (``hukou_register: true``), only persons
it lists are registered here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from popbase.population.credit_code import validate_credit_codes
from popbase.population.whereabouts import says_away_sql
from popbase.values.vocabulary import word_key_sql, word_key_texts

if TYPE_CHECKING:
    from popbase.context import BuildContext


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
    residence = (
        f"AND NOT g.deceased AND NOT ({says_away_sql('r.household_status')})"
        if kind == "residence"
        else ""
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
    """Employees to their employer's credit code, valid by GB 32100 (``employer_codes``).

    The employer may be registered elsewhere (a Huangpu company's employee living in
    Minhang): the link keeps the code, and ``registered`` says whether the enterprise is
    in this base's registry.
    """
    return f"""
        CREATE OR REPLACE TABLE works_at AS
        SELECT m.person_id, c.credit_code, nullif(trim(r.employer_name), '') AS employer_name,
               e.credit_code IS NOT NULL AS registered, r.source, r.record_id, r.as_of
        FROM person_records_valid r
        JOIN person_members m USING (record_id)
        JOIN employer_codes c ON c.raw = r.employer_credit_code
        LEFT JOIN enterprises e ON e.credit_code = c.credit_code
        {_best("m.person_id, c.credit_code", "r")}
    """


def repair_codes(invalid: pd.DataFrame, valid: pd.DataFrame) -> dict[str, str]:
    """Mistyped codes repaired from co-workers: raw code → the valid code it stands for.

    ``invalid`` and ``valid`` hold ``raw, employer_name`` (valid also ``credit_code``). A
    code that fails its check is repaired when, among the valid codes given with the same
    employer name, exactly one differs from it in one character.

    Examples
    --------
    >>> bad = pd.DataFrame({"raw": ["91310105RL2KEQ3Q41"], "employer_name": ["某公司"]})
    >>> good = pd.DataFrame({"raw": ["91310105RL2KEQ3Q4U"], "employer_name": ["某公司"],
    ...                      "credit_code": ["91310105RL2KEQ3Q4U"]})
    >>> repair_codes(bad, good)
    {'91310105RL2KEQ3Q41': '91310105RL2KEQ3Q4U'}
    """
    by_name = valid.groupby("employer_name")["credit_code"].agg(lambda c: sorted(set(c)))
    out: dict[str, str] = {}
    for raw, name in zip(invalid["raw"], invalid["employer_name"], strict=True):
        text = str(raw).strip().upper()
        near = [
            c
            for c in by_name.get(name, [])
            if len(c) == len(text) and sum(a != b for a, b in zip(c, text, strict=True)) == 1
        ]
        if len(near) == 1:
            out[str(raw)] = near[0]
    return out


def _employer_codes(ctx: BuildContext) -> dict[str, int]:
    """``employer_codes``: each distinct employer code as written, normalised, if valid.

    A code that fails its check but that co-workers give correctly (see
    :func:`repair_codes`) is repaired; the rest are left out of WORKS_AT and counted.
    """
    given = ctx.db.query_df(
        "SELECT DISTINCT employer_credit_code AS raw, trim(employer_name) AS employer_name "
        "FROM person_records_valid WHERE nullif(trim(employer_credit_code), '') IS NOT NULL"
    )
    check = validate_credit_codes(given["raw"])
    ok = check["valid"].to_numpy(dtype=bool)
    valid = given[ok].assign(credit_code=check.loc[ok, "normalized"].to_numpy(dtype=object))
    repaired = repair_codes(given[~ok], valid)
    codes = pd.concat(
        [
            valid[["raw", "credit_code"]],
            pd.DataFrame({"raw": list(repaired), "credit_code": list(repaired.values())}),
        ]
    ).drop_duplicates("raw")
    ctx.db.put("employer_codes", codes.astype(object))
    invalid = set(given.loc[~ok, "raw"])
    return {
        "employer_codes_repaired": len(repaired),
        "employer_codes_invalid": len(invalid - set(repaired)),
    }


def member_of_sql() -> str:
    """Persons to the household their most trusted, most recent 户号 names.

    A household number is the source's own (``police_hukou:H0012``): two registers may
    number households alike.
    """
    return f"""
        CREATE OR REPLACE TABLE member_of AS
        SELECT m.person_id, r.source || ':' || trim(r.household_no) AS household_id,
               nullif(trim(r.relation), '') AS relation, r.source, r.record_id, r.as_of
        FROM person_records_valid r JOIN person_members m USING (record_id)
        WHERE nullif(trim(r.household_no), '') IS NOT NULL
        {_best("m.person_id", "r")}
    """


def households_sql(head_words: Sequence[str]) -> str:
    """One row per household: its members, its head and its register room.

    The head is the member whose relation is one of ``head_words`` (户主, 本人 …),
    compared as vocabulary words (without spaces or punctuation, any case).
    """
    heads = ", ".join(f"'{k}'" for k in word_key_texts(head_words)) or "NULL"
    return f"""
        CREATE OR REPLACE TABLE households AS
        SELECT o.household_id, count(*) AS members,
               min(o.person_id) FILTER (WHERE {word_key_sql("o.relation")} IN ({heads}))
                   AS head_person_id,
               mode(h.room_id) AS room_id
        FROM member_of o LEFT JOIN hukou_at h USING (person_id)
        GROUP BY o.household_id
    """


def unregistered_hukou_sql(registers: list[str]) -> str:
    """Drop HUKOU_AT of persons whom no hukou-register source lists.

    >>> unregistered_hukou_sql([])
    'SELECT 1 WHERE false'
    """
    if not registers:
        return "SELECT 1 WHERE false"
    named = ", ".join(f"'{s}'" for s in registers)
    return f"""
        DELETE FROM hukou_at WHERE person_id NOT IN (
            SELECT m.person_id FROM person_members m
            JOIN person_records_valid r USING (record_id) WHERE r.source IN ({named})
        )
    """


def link_persons(ctx: BuildContext) -> dict[str, Any]:
    """Create the link tables."""
    db = ctx.db
    db.execute(room_link_sql("lives_in", "residence"))
    db.execute(room_link_sql("hukou_at", "hukou"))
    linked = int(db.scalar("SELECT count(*) FROM hukou_at") or 0)
    registers = [s.name for s in ctx.project.config.sources if s.hukou_register]
    db.execute(unregistered_hukou_sql(registers))
    dropped = linked - int(db.scalar("SELECT count(*) FROM hukou_at") or 0)
    db.execute(enterprises_sql())
    code_counts = _employer_codes(ctx)
    db.execute(works_at_sql())
    db.execute(member_of_sql())
    db.execute(households_sql(ctx.project.vocabulary.words("relation", "head")))
    counts = {
        t: int(db.scalar(f"SELECT count(*) FROM {t}") or 0)
        for t in ("lives_in", "hukou_at", "enterprises", "works_at", "member_of", "households")
    }
    counts.update(code_counts)
    counts["hukou_dropped_not_in_register"] = dropped
    counts["works_at_registered"] = int(
        db.scalar("SELECT count(*) FROM works_at WHERE registered") or 0
    )
    counts["enterprises_located"] = int(
        db.scalar("SELECT count(*) FROM enterprises WHERE building_id IS NOT NULL") or 0
    )
    return counts
