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

Where a person lives is the LIVES_IN room (which already leaves out the deceased and
rows that say the person is away); where they are registered, the HUKOU_AT room. Sources
declared ``presence: true`` then add what listings miss, in this order:

1. A person whom located presence rows (an operator's night-time residence, see
   :mod:`popbase.population.whereabouts`) place only away from the area loses the
   LIVES_IN link: a listing says where someone lived when it was made, the observation
   where they sleep now (a ledger row kept after a move).
2. A person registered here whom no residence source lists, but who has an active
   presence row — without coordinates (social-security contributions in the city), or
   with a point in the hukou's street — lives at the hukou room: such a LIVES_IN link is
   added, citing that row. No record may say the person is away (人不在户在, 外出), and a
   row whose status says it is suspended or ended (暂停, 停保, 终止, 注销) is not evidence.
3. A child under twelve (no phone or insurance of its own, so no presence row) registered
   here whom no source lists and no record says is away lives at the hukou room when
   another member of its register household (户号) lives in that room.
4. A living person who still has no room, but whose presence row places them here,
   stays in that grid (``stays_in``): they count as living in the grid and its
   committee, with no room (有人无房, to be visited).

The months of residence come from the most trusted, most recent record that gives them
(``residence_months``, or ``residence_since`` counted to the project's as-of date); when
no record gives them, a status stated by a record (人在户不在（流动）) decides, and
otherwise the person counts as 常住.

Per unit: 常住人口 (``usual_resident``) = 人在户在 + 常住; 实有人口 (``resident``) = everyone
living here; 户籍人口 (``registered``) = everyone registered here, living here or not,
counted where the hukou is.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from popbase.population.link import says_away_sql
from popbase.population.whereabouts import inactive_sql, place_presence
from popbase.values.dates import iso_date_sql

if TYPE_CHECKING:
    from popbase.pipeline import BuildContext

STATUSES = (
    "present_registered",
    "present_resident",
    "present_floating",
    "absent_registered",
    "none",
)
STATUS_LABELS = {
    "present_registered": "人在户在",
    "present_resident": "人在户不在（常住）",
    "present_floating": "人在户不在（流动）",
    "absent_registered": "人不在户在",
    "none": "不在本地",
}
# Months of residence from which a person registered elsewhere counts as 常住.
USUAL_RESIDENCE_MONTHS = 6
# Digits of a division code that name the township or street (乡镇街道).
STREET_DIGITS = 9


def away_sql() -> str:
    """Persons whom located presence rows place only away from the area."""
    return """
        SELECT person_id FROM presence_places
        GROUP BY person_id
        HAVING bool_and(place <> 'here') AND bool_or(place = 'away')
    """


def drop_residence_of_away_sql() -> str:
    """Remove LIVES_IN of persons observed to stay away: the listing is out of date."""
    return f"DELETE FROM lives_in WHERE person_id IN ({away_sql()})"


def presence_at_hukou_sql(sources: list[str]) -> str:
    """LIVES_IN at the hukou room for the registered whom only a presence source shows here.

    A row with coordinates counts only when its point lies in the hukou's street; a
    person observed away, or whom any record says is away, is left out.
    """
    if not sources:
        return "SELECT 1 WHERE false"
    named = ", ".join(f"'{s}'" for s in sources)
    away = says_away_sql("a.household_status")
    return f"""
        INSERT INTO lives_in
        SELECT h.person_id, h.room_id, r.source, r.record_id, m.as_of
        FROM hukou_at h
        JOIN rooms hr ON hr.room_id = h.room_id
        JOIN buildings hb ON hb.building_id = hr.building_id
        JOIN persons_golden g USING (person_id)
        JOIN person_members m ON m.person_id = h.person_id
        JOIN person_records_valid r ON r.record_id = m.record_id
        LEFT JOIN presence_places p ON p.record_id = r.record_id
        WHERE r.source IN ({named}) AND NOT ({inactive_sql("r.person_status")})
          AND NOT g.deceased
          AND (nullif(trim(r.lon), '') IS NULL
               OR (p.place = 'here'
                   AND left(p.division_code, {STREET_DIGITS})
                       = left(hb.division_code, {STREET_DIGITS})))
          AND h.person_id NOT IN (SELECT person_id FROM lives_in)
          AND h.person_id NOT IN ({away_sql()})
          AND h.person_id NOT IN (
              SELECT m2.person_id FROM person_records_valid a
              JOIN person_members m2 USING (record_id) WHERE {away}
          )
        QUALIFY row_number() OVER (
            PARTITION BY h.person_id ORDER BY m.as_of DESC NULLS LAST, r.record_id
        ) = 1
    """


# Below this age a child has no phone or insurance of its own: no presence row shows it.
CHILD_AGE = 12


def child_at_home_sql(as_of: dt.date | None) -> str:
    """LIVES_IN at the hukou room for young children whose household lives there.

    A child under :data:`CHILD_AGE` registered here whom no source lists, and whom no
    record or located row says is away, lives at the hukou room when another member of
    its register household (户号) lives in that same room. The link cites the child's
    hukou record.
    """
    on = f"DATE '{as_of.isoformat()}'" if as_of else "current_date"
    away = says_away_sql("a.household_status")
    return f"""
        INSERT INTO lives_in
        SELECT DISTINCT ON (h.person_id) h.person_id, h.room_id, h.source, h.record_id, h.as_of
        FROM hukou_at h
        JOIN persons_golden g USING (person_id)
        JOIN member_of c ON c.person_id = h.person_id
        JOIN member_of o ON o.household_id = c.household_id AND o.person_id <> c.person_id
        JOIN lives_in l ON l.person_id = o.person_id AND l.room_id = h.room_id
        WHERE NOT g.deceased
          AND date_sub('year', CAST(g.birth_date AS DATE), {on}) < {CHILD_AGE}
          AND h.person_id NOT IN (SELECT person_id FROM lives_in)
          AND h.person_id NOT IN ({away_sql()})
          AND h.person_id NOT IN (
              SELECT m2.person_id FROM person_records_valid a
              JOIN person_members m2 USING (record_id) WHERE {away}
          )
        ORDER BY h.person_id
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


def months_here_sql(as_of: dt.date | None) -> str:
    """Months of residence per person, from the best record that gives them."""
    until = f"DATE '{as_of.isoformat()}'" if as_of else "CAST(as_of AS DATE)"
    return f"""
        SELECT person_id, coalesce(months_given, date_diff('month', since, {until})) AS months,
               stated
        FROM (
            SELECT m.person_id, r.priority, r.as_of, r.record_id,
                   TRY_CAST(r.residence_months AS INTEGER) AS months_given,
                   {iso_date_sql("r.residence_since")} AS since,
                   r.household_status AS stated
            FROM person_records_valid r JOIN person_members m USING (record_id)
        )
        WHERE months_given IS NOT NULL OR since IS NOT NULL OR stated IS NOT NULL
        QUALIFY row_number() OVER (
            PARTITION BY person_id
            ORDER BY (months_given IS NOT NULL OR since IS NOT NULL) DESC,
                     priority DESC, as_of DESC NULLS LAST, record_id
        ) = 1
    """


def residency_sql(as_of: dt.date | None) -> str:
    """``residency``: one row per person with status, months here and the streets."""
    return f"""
        CREATE OR REPLACE TABLE residency AS
        WITH stay AS ({months_here_sql(as_of)}),
        places AS (
            SELECT g.person_id, g.deceased,
                   coalesce(lb.division_code, st.division_code) AS live_code,
                   hb.division_code AS hukou_code,
                   s.months, s.stated
            FROM persons_golden g
            LEFT JOIN lives_in l USING (person_id)
            LEFT JOIN rooms lr ON lr.room_id = l.room_id
            LEFT JOIN buildings lb ON lb.building_id = lr.building_id
            LEFT JOIN stays_in st USING (person_id)
            LEFT JOIN hukou_at h USING (person_id)
            LEFT JOIN rooms hr ON hr.room_id = h.room_id
            LEFT JOIN buildings hb ON hb.building_id = hr.building_id
            LEFT JOIN stay s USING (person_id)
        )
        SELECT person_id, live_code, hukou_code, months,
               CASE
                   WHEN live_code IS NOT NULL AND hukou_code IS NOT NULL
                        AND left(live_code, {STREET_DIGITS}) = left(hukou_code, {STREET_DIGITS})
                       THEN 'present_registered'
                   WHEN live_code IS NOT NULL AND months IS NOT NULL
                       THEN CASE WHEN months >= {USUAL_RESIDENCE_MONTHS}
                                 THEN 'present_resident' ELSE 'present_floating' END
                   WHEN live_code IS NOT NULL
                       THEN CASE WHEN coalesce(stated = 'present_floating', false)
                                 THEN 'present_floating' ELSE 'present_resident' END
                   WHEN hukou_code IS NOT NULL AND NOT deceased THEN 'absent_registered'
                   ELSE 'none'
               END AS residency_status
        FROM places
    """


def classify_residency(ctx: BuildContext) -> dict[str, Any]:
    """Give every person a residency status; count each status."""
    db = ctx.db
    config = ctx.project.config
    placed = place_presence(ctx)
    listed = int(db.scalar("SELECT count(*) FROM lives_in") or 0)
    db.execute(drop_residence_of_away_sql())
    before = int(db.scalar("SELECT count(*) FROM lives_in") or 0)
    db.execute(presence_at_hukou_sql([s.name for s in config.sources if s.presence]))
    inferred = int(db.scalar("SELECT count(*) FROM lives_in") or 0) - before
    db.execute(child_at_home_sql(config.project.as_of))
    children = int(db.scalar("SELECT count(*) FROM lives_in") or 0) - before - inferred
    db.execute(stays_in_sql())
    db.execute(residency_sql(config.project.as_of))
    counts = db.query_df(
        "SELECT residency_status, count(*) AS n FROM residency GROUP BY ALL ORDER BY ALL"
    )
    return {
        **placed,
        "residence_dropped_as_away": listed - before,
        "lives_at_hukou_by_presence": inferred,
        "children_at_home_with_household": children,
        "stays_in_unit_by_presence": int(db.scalar("SELECT count(*) FROM stays_in") or 0),
        **{
            f"persons_{s}": int(counts.loc[counts["residency_status"] == s, "n"].sum())
            for s in STATUSES
        },
    }
