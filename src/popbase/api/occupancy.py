"""Building and room occupancy: a building of the caller's jurisdiction and its rooms.

Each room comes with the persons living in it and its households (the base counts one
household per occupied room), so the rooms add up to the building's totals as
``GET /api/buildings`` shows them. Counts only: no person is named, in the answer or
in its audit entry. Under a disclosure floor the building's totals are suppressed as on
the map and no room count is shown (:func:`popbase.api.disclosed.protect_rooms`).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from fastapi import APIRouter, Request

from popbase.api.deps import Caller, GateDep, Served, returned
from popbase.api.disclosed import (
    ROOM_MEASURES,
    below,
    building_counts,
    floor_of,
    plain,
    protect_rooms,
)
from popbase.api.gate import NOT_FOUND_RESPONSE, not_found
from popbase.api.models import BuildingOccupancy
from popbase.api.served import ServedSnapshot
from popbase.security.access import Level

router = APIRouter(prefix="/api")

BUILDING_SQL = """
    SELECT building_id, address, use, floors, division_code, community_code, resident,
           households
    FROM buildings WHERE building_id = ?
"""
# A building's residents live under its division code: person_cards is sorted by it.
ROOMS_SQL = """
    SELECT r.room_id, r.room_no, r.floor, r.origin, count(p.person_id) AS resident
    FROM rooms r
    LEFT JOIN person_cards p ON p.room_id = r.room_id AND p.division_code = ?
    WHERE r.building_id = ?
    GROUP BY r.room_id, r.room_no, r.floor, r.origin
    ORDER BY r.floor NULLS LAST, r.room_no, r.room_id
"""


def room_counts(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The rooms' residents and households (1 for an occupied room, else 0), in row order.

    Examples
    --------
    >>> room_counts([{"room_id": "b-101", "resident": 3}, {"room_id": "b-102", "resident": 0}])
       resident  households
    0         3           1
    1         0           0
    """
    resident = pd.Series([int(r["resident"]) for r in rows], dtype="int64")
    return pd.DataFrame({"resident": resident, "households": (resident > 0).astype("int64")})


def _position(served: ServedSnapshot, building_id: str) -> int | None:
    """Where a building stands in the snapshot's building index (its counts' order)."""
    positions = served.derived(
        "building_positions",
        lambda: {b: i for i, b in enumerate(served.buildings().properties["building_id"])},
    )
    return positions.get(building_id)


def _totals(
    served: ServedSnapshot, building: dict[str, Any], floor: Level | None
) -> dict[str, int | None]:
    """The building's residents and households as the caller sees them (as on the map)."""
    if floor is None or not below(floor, "building"):
        return {m: plain(building[m] or 0) for m in ROOM_MEASURES}
    at = _position(served, building["building_id"])
    if at is None:
        return dict.fromkeys(ROOM_MEASURES)
    return {m: building_counts(served, floor, m)[at] for m in ROOM_MEASURES}


@router.get(
    "/buildings/{building_id}/rooms", response_model=BuildingOccupancy, responses=NOT_FOUND_RESPONSE
)
def building_rooms(
    request: Request, building_id: str, served: Served, gate: GateDep, principal: Caller
) -> BuildingOccupancy:
    """A building of your jurisdiction and its rooms, with residents and households."""
    who = gate.require_counts(principal)
    found = served.query(BUILDING_SQL, [building_id])
    if not found or not str(found[0]["division_code"] or "").startswith(who.scope):
        raise not_found("building")
    building = found[0]
    floor = floor_of(who)
    rows = served.query(ROOMS_SQL, [building["division_code"], building_id])
    counts = protect_rooms(room_counts(rows), floor).to_dict("records")
    returned(request, [])
    rooms = [
        {**row, **{m: plain(c[m]) for m in ROOM_MEASURES}}
        for row, c in zip(rows, counts, strict=True)
    ]
    return BuildingOccupancy.model_validate(
        {**building, **_totals(served, building, floor), "rooms": rooms}
    )
