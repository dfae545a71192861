"""The rollup stage: resident counts for every unit, consistent from room to district.

A resident is a living person with a residence room. Counts are made once per committee
(from rooms' buildings) and summed upwards by division-code prefix, so a parent is always
exactly the sum of its children; households are counted as occupied rooms.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from popbase.pipeline import BuildContext


def residents_sql() -> str:
    """Each resident with the room, building and units it lives in."""
    return """
        CREATE OR REPLACE TABLE residents AS
        SELECT l.person_id, l.room_id, r.building_id, b.community_code, b.grid_code, b.division_code
        FROM lives_in l
        JOIN rooms r USING (room_id)
        JOIN buildings b USING (building_id)
    """


def building_counts_sql() -> str:
    """Residents and occupied rooms per building."""
    return """
        CREATE OR REPLACE TABLE building_counts AS
        SELECT building_id, count(*) AS resident, count(DISTINCT room_id) AS households
        FROM residents GROUP BY building_id
    """


def unit_counts_sql() -> str:
    """Residents per division, summed from committees by code prefix."""
    return """
        CREATE OR REPLACE TABLE unit_counts AS
        WITH per_community AS (
            SELECT community_code, count(*) AS resident, count(DISTINCT room_id) AS households
            FROM residents GROUP BY community_code
        ),
        per_grid AS (
            SELECT grid_code AS code, count(*) AS resident, count(DISTINCT room_id) AS households
            FROM residents WHERE grid_code IS NOT NULL GROUP BY grid_code
        ),
        divisions_rolled AS (
            SELECT d.code, coalesce(sum(c.resident), 0)::BIGINT AS resident,
                   coalesce(sum(c.households), 0)::BIGINT AS households
            FROM divisions d LEFT JOIN per_community c ON starts_with(c.community_code, d.code)
            GROUP BY d.code
        )
        SELECT * FROM divisions_rolled
        UNION ALL
        SELECT g.grid_code AS code, coalesce(p.resident, 0)::BIGINT,
               coalesce(p.households, 0)::BIGINT
        FROM grids g LEFT JOIN per_grid p ON p.code = g.grid_code
    """


def rollup_units(ctx: BuildContext) -> dict[str, Any]:
    """Count residents for every room's building, grid, committee, street and district."""
    db = ctx.db
    db.execute(residents_sql())
    db.execute(building_counts_sql())
    db.execute(unit_counts_sql())
    total = int(db.scalar("SELECT count(*) FROM residents") or 0)
    unplaced = int(db.scalar("SELECT count(*) FROM lives_in") or 0) - total
    return {"residents": total, "residents_without_building": unplaced}
