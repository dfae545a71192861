"""The residency stage: each person's 人户 status, from where they live and are registered.

The statuses follow the statistical definitions (国家统计局, 第七次全国人口普查 and the
常住人口 definition of the annual population sample survey), with the township/street
(乡镇街道, the first nine digits of a division code) as the unit of 人户一致:

``present_registered`` (人在户在)
    Lives in the street where their hukou is registered.
``present_resident`` (人在户不在, 常住)
    Lives here, registered elsewhere, and has lived here six months or more.
``present_floating`` (人在户不在, 流动)
    Lives here, registered elsewhere, for less than six months.
``absent_registered`` (人不在户在, 外出)
    Registered here but lives elsewhere: no residence here, or a record that says so.
``none``
    Neither lives nor is registered here (a deceased person, an employee living in
    another district).

``unknown`` (待核实)
    Registered here, not listed anywhere, and the only evidence that they are here is
    weak (see below): to be verified, counted apart, not guessed.

Where a person lives is the LIVES_IN room (which already leaves out the deceased and
rows that say the person is away); where they are registered, the HUKOU_AT room. Sources
declared ``presence: true`` then add what listings miss, in the order of the placement
rules (:mod:`popbase.population.residency_rules`, each with its reason):

1. A person whom located presence rows (an operator's night-time residence, see
   :mod:`popbase.population.whereabouts`) place only away from the area loses the
   LIVES_IN link (``observed_away``).
2. A person registered here whom no residence source lists lives at the hukou room when
   the evidence for it is strong: a located presence row with its point in the hukou's
   street (``located_at_hukou``), or an active presence row of any kind together with
   another member of the register household (户号) living in the hukou room
   (``household_at_hukou``). No record may say the person is away (人不在户在, 外出),
   and a row whose status says it is suspended or ended (暂停, 停保, 终止, 注销) is not
   evidence.
3. A child under twelve (no phone or insurance of its own, so no presence row) registered
   here whom no source lists and no record says is away lives at the hukou room when
   another member of its register household lives in that room (``child_with_household``).
4. A living person who still has no room, but whose presence row places them here,
   stays in that grid (``stays_in``): they count as living in the grid and its
   committee, with no room (有人无房, to be visited).
5. A person registered here whose only evidence is an active presence row without
   coordinates (social-security contributions: they work in the city, which says nothing
   about where they sleep) is ``unknown`` (``presence_unlocated``).

Each person's deciding rule is kept in ``residency.residency_rule``; for those living
here with the hukou elsewhere, the rule that gave the months of residence in
``residency.months_rule`` (:mod:`popbase.population.months_here`; with no evidence at all
the person counts as 常住, flagged ``months_unknown``).

Per unit: 常住人口 (``usual_resident``) = 人在户在 + 常住; 实有人口 (``resident``) = everyone
living here; 户籍人口 (``registered``) = everyone registered here, living here or not,
counted where the hukou is.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from popbase.population.months_here import months_here_sql
from popbase.population.residency_rules import MONTHS_RULE_NAMES, RULE_NAMES
from popbase.population.whereabouts import inactive_sql, place_presence, says_away_sql

if TYPE_CHECKING:
    from popbase.context import BuildContext

STATUSES = (
    "present_registered",
    "present_resident",
    "present_floating",
    "absent_registered",
    "unknown",
    "none",
)
STATUS_LABELS = {
    "present_registered": "人在户在",
    "present_resident": "人在户不在（常住）",
    "present_floating": "人在户不在（流动）",
    "absent_registered": "人不在户在",
    "unknown": "待核实",
    "none": "不在本地",
}
STATUS_LABELS_EN = {
    "present_registered": "living where registered",
    "present_resident": "registered elsewhere, usual resident (6+ months)",
    "present_floating": "registered elsewhere, floating (under 6 months)",
    "absent_registered": "registered here, living elsewhere",
    "unknown": "to be verified",
    "none": "not here",
}
# Digits of a division code that name the township or street (乡镇街道).
STREET_DIGITS = 9
# Below this age a child has no phone or insurance of its own: no presence row shows it.
CHILD_AGE = 12


def away_sql() -> str:
    """Persons whom located presence rows place only away from the area."""
    return """
        SELECT person_id FROM presence_places
        GROUP BY person_id
        HAVING bool_and(place <> 'here') AND bool_or(place = 'away')
    """


def said_away_sql() -> str:
    """Persons of whom some record says they live elsewhere (人不在户在, 外出)."""
    return f"""
        SELECT m.person_id FROM person_records_valid a
        JOIN person_members m USING (record_id) WHERE {says_away_sql("a.household_status")}
    """


def drop_residence_of_away_sql() -> str:
    """Remove LIVES_IN of persons observed to stay away: the listing is out of date."""
    return f"DELETE FROM lives_in WHERE person_id IN ({away_sql()})"


def _named(sources: list[str]) -> str:
    return ", ".join(f"'{s}'" for s in sources)


def unplaced_registered_sql() -> str:
    """Living persons registered here, with no room yet, not observed or said to be away."""
    return f"""
        SELECT h.person_id, h.room_id, h.source, h.record_id, h.as_of
        FROM hukou_at h JOIN persons_golden g USING (person_id)
        WHERE NOT g.deceased
          AND h.person_id NOT IN (SELECT person_id FROM lives_in)
          AND h.person_id NOT IN ({away_sql()})
          AND h.person_id NOT IN ({said_away_sql()})
    """


def _at_hukou_sql(sources: list[str], joins: str, conditions: str) -> str:
    """LIVES_IN at the hukou room for the unplaced registered, citing an active presence row.

    ``joins`` and ``conditions`` add what the rule asks of the row (``h`` the registered,
    ``m`` their member rows, ``r`` the presence row); the most recent row is cited.
    """
    if not sources:
        return "SELECT 1 WHERE false"
    return f"""
        INSERT INTO lives_in
        SELECT h.person_id, h.room_id, r.source, r.record_id, m.as_of
        FROM ({unplaced_registered_sql()}) h
        JOIN person_members m ON m.person_id = h.person_id
        JOIN person_records_valid r ON r.record_id = m.record_id
        {joins}
        WHERE r.source IN ({_named(sources)}) AND NOT ({inactive_sql("r.person_status")})
          AND {conditions}
        QUALIFY row_number() OVER (
            PARTITION BY h.person_id ORDER BY m.as_of DESC NULLS LAST, r.record_id
        ) = 1
    """


def presence_at_hukou_sql(sources: list[str]) -> str:
    """LIVES_IN at the hukou room for the registered whose located row lies in its street.

    Only a row with coordinates placed ``here`` in the hukou's street counts: a row
    without coordinates (social-security contributions) says the person works in the
    city, not where they sleep, and is weighed by :func:`household_at_hukou_sql`.
    """
    return _at_hukou_sql(
        sources,
        """JOIN presence_places p ON p.record_id = r.record_id
        JOIN rooms hr ON hr.room_id = h.room_id
        JOIN buildings hb ON hb.building_id = hr.building_id""",
        f"""p.place = 'here'
          AND left(p.division_code, {STREET_DIGITS}) = left(hb.division_code, {STREET_DIGITS})""",
    )


def household_at_hukou_sql(sources: list[str]) -> str:
    """LIVES_IN at the hukou room for the registered in the city whose family lives there.

    An active presence row not placed away shows the person in the city; another member
    of the register household (户号) living in the hukou room says where. A person whom
    a located row places here, in another street than the hukou's, stays there instead
    (:func:`stays_in_sql`). The link cites the presence row.
    """
    return _at_hukou_sql(
        sources,
        "LEFT JOIN presence_places p ON p.record_id = r.record_id",
        """coalesce(p.place, 'unsure') <> 'away'
          -- A located row here in another street says where they sleep: not at home.
          AND h.person_id NOT IN (SELECT person_id FROM presence_places WHERE place = 'here')
          AND EXISTS (
              SELECT 1 FROM member_of c
              JOIN member_of o ON o.household_id = c.household_id AND o.person_id <> c.person_id
              JOIN lives_in l ON l.person_id = o.person_id
              WHERE c.person_id = h.person_id AND l.room_id = h.room_id
          )""",
    )


def child_at_home_sql(as_of: dt.date | None) -> str:
    """LIVES_IN at the hukou room for young children whose household lives there.

    A child under :data:`CHILD_AGE` registered here whom no source lists, and whom no
    record or located row says is away, lives at the hukou room when another member of
    its register household (户号) lives in that same room. The link cites the child's
    hukou record.
    """
    on = f"DATE '{as_of.isoformat()}'" if as_of else "current_date"
    return f"""
        INSERT INTO lives_in
        SELECT DISTINCT ON (h.person_id) h.person_id, h.room_id, h.source, h.record_id, h.as_of
        FROM ({unplaced_registered_sql()}) h
        JOIN persons_golden g USING (person_id)
        JOIN member_of c ON c.person_id = h.person_id
        JOIN member_of o ON o.household_id = c.household_id AND o.person_id <> c.person_id
        JOIN lives_in l ON l.person_id = o.person_id AND l.room_id = h.room_id
        WHERE date_sub('year', CAST(g.birth_date AS DATE), {on}) < {CHILD_AGE}
        ORDER BY h.person_id
    """


def unlocated_presence_sql(sources: list[str]) -> str:
    """Persons with an active presence row that has no coordinates (weak evidence)."""
    if not sources:
        return "SELECT NULL AS person_id WHERE false"
    return f"""
        SELECT m.person_id FROM person_records_valid r JOIN person_members m USING (record_id)
        WHERE r.source IN ({_named(sources)}) AND NOT ({inactive_sql("r.person_status")})
          AND (nullif(trim(r.lon), '') IS NULL OR nullif(trim(r.lat), '') IS NULL)
    """


def rules_table_sql() -> str:
    """``residence_rules``: the rule that gave each LIVES_IN link so far: a listing."""
    return (
        "CREATE OR REPLACE TABLE residence_rules AS "
        "SELECT person_id, 'listed' AS rule FROM lives_in"
    )


def record_rule_sql(rule: str) -> str:
    """Note ``rule`` for every LIVES_IN link no earlier rule gave.

    >>> "'household_at_hukou'" in record_rule_sql("household_at_hukou")
    True
    """
    if rule not in RULE_NAMES:
        raise ValueError(f"residency rule was {rule!r}, expected one of {RULE_NAMES}")
    return f"""
        INSERT INTO residence_rules
        SELECT person_id, '{rule}' FROM lives_in
        WHERE person_id NOT IN (SELECT person_id FROM residence_rules)
    """


def stays_in_sql() -> str:
    """``stays_in``: the unit where presence rows place a person no source gives a room.

    The most trusted, then most recent row placed ``here`` wins; the deceased stay nowhere.
    """
    return """
        CREATE OR REPLACE TABLE stays_in AS
        SELECT p.person_id, p.division_code, p.community_code, p.source, p.record_id, p.as_of
        FROM presence_places p JOIN persons_golden g USING (person_id)
        WHERE p.place = 'here' AND NOT g.deceased
          AND p.person_id NOT IN (SELECT person_id FROM lives_in)
        QUALIFY row_number() OVER (
            PARTITION BY p.person_id
            ORDER BY p.priority DESC, p.as_of DESC NULLS LAST, p.record_id
        ) = 1
    """


def residency_sql(as_of: dt.date | None, presence_sources: list[str] | None = None) -> str:
    """``residency``: one row per person with status, months here, streets and rules.

    ``presence_sources`` are the sources declared ``presence: true``: a registered person
    whose only evidence is an unlocated row of one of them is ``unknown``.
    """
    same_street = f"left(live_code, {STREET_DIGITS}) = left(hukou_code, {STREET_DIGITS})"
    return f"""
        CREATE OR REPLACE TABLE residency AS
        WITH stay AS ({months_here_sql(as_of)}),
        places AS (
            SELECT g.person_id, g.deceased,
                   coalesce(lb.division_code, st.division_code) AS live_code,
                   hb.division_code AS hukou_code,
                   s.months, s.months_rule, s.length,
                   CASE
                       WHEN g.deceased THEN 'deceased'
                       WHEN g.person_id IN ({away_sql()}) THEN 'observed_away'
                       WHEN l.person_id IS NOT NULL THEN coalesce(pr.rule, 'listed')
                       WHEN st.person_id IS NOT NULL THEN 'stays_in_unit'
                       WHEN h.person_id IS NULL THEN 'not_here'
                       WHEN g.person_id IN ({said_away_sql()}) THEN 'said_away'
                       WHEN g.person_id IN ({unlocated_presence_sql(presence_sources or [])})
                           THEN 'presence_unlocated'
                       ELSE 'no_residence_here'
                   END AS residency_rule
            FROM persons_golden g
            LEFT JOIN lives_in l USING (person_id)
            LEFT JOIN residence_rules pr USING (person_id)
            LEFT JOIN rooms lr ON lr.room_id = l.room_id
            LEFT JOIN buildings lb ON lb.building_id = lr.building_id
            LEFT JOIN stays_in st USING (person_id)
            LEFT JOIN hukou_at h USING (person_id)
            LEFT JOIN rooms hr ON hr.room_id = h.room_id
            LEFT JOIN buildings hb ON hb.building_id = hr.building_id
            LEFT JOIN stay s USING (person_id)
        )
        SELECT person_id, live_code, hukou_code,
               CASE WHEN live_code IS NOT NULL THEN months END AS months,
               CASE
                   WHEN live_code IS NOT NULL AND hukou_code IS NOT NULL AND {same_street}
                       THEN 'present_registered'
                   WHEN live_code IS NOT NULL THEN coalesce(length, 'present_resident')
                   WHEN residency_rule = 'presence_unlocated' THEN 'unknown'
                   WHEN hukou_code IS NOT NULL AND NOT deceased THEN 'absent_registered'
                   ELSE 'none'
               END AS residency_status,
               residency_rule,
               CASE
                   WHEN live_code IS NULL OR (hukou_code IS NOT NULL AND {same_street})
                       THEN NULL
                   ELSE coalesce(months_rule, 'months_unknown')
               END AS months_rule
        FROM places
    """


def _count(ctx: BuildContext, sql: str) -> int:
    return int(ctx.db.scalar(sql) or 0)


def _counts_by(ctx: BuildContext, column: str) -> dict[str, int]:
    rows = ctx.db.query_df(f"SELECT {column} AS k, count(*) AS n FROM residency GROUP BY ALL")
    return {str(k): int(n) for k, n in zip(rows["k"], rows["n"], strict=True)}


def classify_residency(ctx: BuildContext) -> dict[str, Any]:
    """Give every person a residency status and the rules that decided it; count each."""
    db = ctx.db
    config = ctx.project.config
    presence = [s.name for s in config.sources if s.presence]
    placed = place_presence(ctx)
    listed = _count(ctx, "SELECT count(*) FROM lives_in")
    db.execute(drop_residence_of_away_sql())
    dropped = listed - _count(ctx, "SELECT count(*) FROM lives_in")
    db.execute(rules_table_sql())
    for rule, sql in (
        ("located_at_hukou", presence_at_hukou_sql(presence)),
        ("household_at_hukou", household_at_hukou_sql(presence)),
        ("child_with_household", child_at_home_sql(config.project.as_of)),
    ):
        db.execute(sql)
        db.execute(record_rule_sql(rule))
    db.execute(stays_in_sql())
    db.execute(residency_sql(config.project.as_of, presence))
    statuses = _counts_by(ctx, "residency_status")
    rules = _counts_by(ctx, "residency_rule")
    months = _counts_by(ctx, "months_rule")
    return {
        **placed,
        "residence_dropped_as_away": dropped,
        "stays_in_unit_by_presence": _count(ctx, "SELECT count(*) FROM stays_in"),
        **{f"persons_{s}": statuses.get(s, 0) for s in STATUSES},
        **{f"rule_{r}": rules.get(r, 0) for r in RULE_NAMES},
        **{f"months_rule_{r}": months.get(r, 0) for r in MONTHS_RULE_NAMES},
    }
