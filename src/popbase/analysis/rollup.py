"""The rollup stage: population counts for every unit, consistent from building to district.

Each person is counted where the measure places them: living persons at their residence
room (or the grid they stay in, when no room is known), registered persons at their hukou
room. Counts are made once per committee and per
grid (from rooms' buildings) and summed upwards by division-code prefix, so a parent is
always exactly the sum of its children. Households are counted as occupied rooms.

Measures (see :mod:`popbase.population.residency` for the statuses):

``resident``
    实有人口: everyone living here.
``usual_resident``
    常住人口: 人在户在 and 人在户不在 of six months or more.
``floating``
    流动人口: 人在户不在 of less than six months.
``registered``
    户籍人口: the living registered here (counted at the hukou room).
``absent``
    人不在户在: registered here, living elsewhere (at the hukou room).
``unknown``
    待核实: registered here, whether they live here not decided by the evidence (only a
    presence row without coordinates shows them in the city); counted at the hukou room,
    in 户籍人口 but in neither 实有人口 nor 人不在户在.

Residents are also broken down per unit by tag (``unit_tags``) and by sex and five-year
age band (``unit_pyramids``), summed upwards the same way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from popbase.analysis.measures import MEASURES

if TYPE_CHECKING:
    from popbase.context import BuildContext


def residents_sql() -> str:
    """Each resident with the room, building and units it lives in.

    A person who stays in a unit without a known room (``stays_in``) has no room or
    building, and counts in the grid and committee only.
    """
    return """
        CREATE OR REPLACE TABLE residents AS
        SELECT l.person_id, l.room_id, r.building_id, b.community_code, b.grid_code, b.division_code
        FROM lives_in l
        JOIN rooms r USING (room_id)
        JOIN buildings b USING (building_id)
        UNION ALL
        SELECT s.person_id, NULL, NULL, s.community_code,
               CASE WHEN s.division_code <> s.community_code THEN s.division_code END,
               s.division_code
        FROM stays_in s
    """


def unit_members_sql() -> str:
    """One row per person and measure, with the room and units where it is counted."""
    return """
        CREATE OR REPLACE TABLE unit_members AS
        SELECT r.person_id, m.measure, r.room_id, r.building_id, r.community_code, r.grid_code
        FROM residents r
        JOIN residency s USING (person_id)
        JOIN (VALUES ('resident'), ('usual_resident'), ('floating')) m(measure)
          ON m.measure = 'resident'
          OR (m.measure = 'usual_resident'
              AND s.residency_status IN ('present_registered', 'present_resident'))
          OR (m.measure = 'floating' AND s.residency_status = 'present_floating')
        UNION ALL
        SELECT h.person_id, m.measure, h.room_id, r.building_id, b.community_code, b.grid_code
        FROM hukou_at h
        JOIN residency s USING (person_id)
        JOIN rooms r ON r.room_id = h.room_id
        JOIN buildings b ON b.building_id = r.building_id
        JOIN (VALUES ('registered'), ('absent'), ('unknown')) m(measure)
          ON (m.measure = 'registered' AND s.residency_status <> 'none')
          OR (m.measure = 'absent' AND s.residency_status = 'absent_registered')
          OR (m.measure = 'unknown' AND s.residency_status = 'unknown')
    """


def _measure_columns(prefix: str = "") -> str:
    counts = [f"count(*) FILTER (WHERE {prefix}measure = '{m}')::BIGINT AS {m}" for m in MEASURES]
    households = (
        f"count(DISTINCT {prefix}room_id) FILTER (WHERE {prefix}measure = 'resident')::BIGINT "
        "AS households"
    )
    return ", ".join([*counts, households])


def building_counts_sql() -> str:
    """Counts and occupied rooms per building."""
    return f"""
        CREATE OR REPLACE TABLE building_counts AS
        SELECT building_id, {_measure_columns()} FROM unit_members
        WHERE building_id IS NOT NULL GROUP BY building_id
    """


def unit_counts_sql() -> str:
    """Counts per division, summed from committees by code prefix, and per grid."""
    sums = ", ".join(f"coalesce(sum(c.{m}), 0)::BIGINT AS {m}" for m in (*MEASURES, "households"))
    grid = ", ".join(f"coalesce(p.{m}, 0)::BIGINT AS {m}" for m in (*MEASURES, "households"))
    return f"""
        CREATE OR REPLACE TABLE unit_counts AS
        WITH per_community AS (
            SELECT community_code, {_measure_columns()}
            FROM unit_members GROUP BY community_code
        ),
        per_grid AS (
            SELECT grid_code AS code, {_measure_columns()}
            FROM unit_members WHERE grid_code IS NOT NULL GROUP BY grid_code
        )
        SELECT d.code, {sums}
        FROM divisions d LEFT JOIN per_community c ON starts_with(c.community_code, d.code)
        GROUP BY d.code
        UNION ALL
        SELECT g.grid_code AS code, {grid}
        FROM grids g LEFT JOIN per_grid p ON p.code = g.grid_code
    """


def breakdown_sql(table: str, keys: tuple[str, ...], members: str) -> str:
    """Residents per unit and ``keys`` (a tag; a sex and age band), summed by prefix.

    ``members`` selects ``person_id`` and the ``keys`` of the persons to count; each is
    counted where it lives, like ``resident``.
    """
    cols = ", ".join(keys)
    k = ", ".join(f"c.{key}" for key in keys)
    return f"""
        CREATE OR REPLACE TABLE {table} AS
        WITH counted AS (
            SELECT u.community_code, u.grid_code, {", ".join(f"x.{key}" for key in keys)}
            FROM unit_members u JOIN ({members}) x USING (person_id)
            WHERE u.measure = 'resident'
        ),
        per_community AS (
            SELECT community_code, {cols}, count(*) AS persons FROM counted GROUP BY ALL
        )
        SELECT d.code, {k}, sum(c.persons)::BIGINT AS persons
        FROM divisions d JOIN per_community c ON starts_with(c.community_code, d.code)
        GROUP BY ALL
        UNION ALL
        SELECT grid_code AS code, {cols}, count(*)::BIGINT AS persons
        FROM counted WHERE grid_code IS NOT NULL GROUP BY ALL
    """


def rollup_units(ctx: BuildContext) -> dict[str, Any]:
    """Count every measure for every building, grid, committee, street and district."""
    db = ctx.db
    db.execute(residents_sql())
    db.execute(unit_members_sql())
    db.execute(building_counts_sql())
    db.execute(unit_counts_sql())
    db.execute(breakdown_sql("unit_tags", ("tag",), "SELECT person_id, tag FROM person_tags"))
    db.execute(
        breakdown_sql(
            "unit_pyramids",
            ("sex", "age_band"),
            "SELECT person_id, sex, age_band FROM person_facts WHERE age_band IS NOT NULL",
        )
    )
    total = int(db.scalar("SELECT count(*) FROM residents") or 0)
    roomless = int(db.scalar("SELECT count(*) FROM residents WHERE room_id IS NULL") or 0)
    unplaced = int(db.scalar("SELECT count(*) FROM lives_in") or 0) - (total - roomless)
    totals = db.query_df(
        "SELECT measure, count(*) AS n FROM unit_members GROUP BY measure ORDER BY measure"
    )
    return {
        "residents": total,
        "residents_without_building": unplaced,
        "residents_without_room": roomless,
        **{f"counted_{m}": int(n) for m, n in zip(totals["measure"], totals["n"], strict=True)},
    }
