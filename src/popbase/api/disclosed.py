"""Counts of units, buildings and rooms as a caller may see them.

Roles with disclosure control (``suppress_below``) see the counts of units below that
level with small cells suppressed (:mod:`popbase.security.disclosure`). Suppression is
worked out once per snapshot over every group of siblings — not per request over what
one request happens to show — so every endpoint (the map layers, a unit's detail, its
residency statistics) hides the same cells, and no two answers together reveal one.
Buildings' counts are suppressed likewise among the buildings of a committee; rooms'
counts are not shown at all under a floor (:func:`protect_rooms`).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from popbase.analysis.rollup import MEASURES
from popbase.api.gate import Principal, not_found
from popbase.api.served import ServedSnapshot
from popbase.security.access import LEVELS, Level
from popbase.security.disclosure import suppress

# Counts of a unit; resident = usual_resident + floating, a row relation to protect.
UNIT_MEASURES: tuple[str, ...] = (*MEASURES, "households")
RELATIONS = [("resident", ["usual_resident", "floating"])]
BUILDING_MEASURES: tuple[str, ...] = ("resident",)
ROOM_MEASURES: tuple[str, ...] = ("resident", "households")
# Below every unit level: a building's counts, and a room's.
SITE_LEVELS: tuple[str, ...] = ("building", "room")


def below(floor: Level | None, level: str) -> bool:
    """Whether counts of ``level`` units are disclosure-controlled under ``floor``.

    Buildings and rooms lie below every unit level.

    Examples
    --------
    >>> below("street", "community"), below("street", "street"), below(None, "grid")
    (True, False, False)
    >>> below("street", "room"), below("grid", "building"), below(None, "room")
    (True, True, False)
    """
    order = (*LEVELS, *SITE_LEVELS)
    if floor is None or level not in order:
        return False
    return order.index(level) > order.index(floor)


def floor_of(principal: Principal) -> Level | None:
    """The level below which the caller's counts are suppressed (None: not at all)."""
    return principal.role.suppress_below


def protect(rows: pd.DataFrame, floor: Level | None, measures: list[str]) -> pd.DataFrame:
    """Rows of units with the counts of units below ``floor`` suppressed (None).

    Parameters
    ----------
    rows
        Units with ``level``, ``parent_code`` (siblings share it) and ``measures``; the
        index must be unique.
    floor
        Counts of units below this level are controlled; None controls nothing.
    measures
        The count columns; the row relations of :data:`RELATIONS` among them are kept
        underivable too.

    Returns
    -------
    pandas.DataFrame
        ``rows`` with the counts as nullable integers.
    """
    out = rows.copy()
    for m in measures:
        out[m] = out[m].astype("Int64")
    if out.empty:
        return out
    controlled = out["level"].map(lambda lv: below(floor, str(lv))).to_numpy(dtype=bool)
    if not controlled.any():
        return out
    relations = [(t, p) for t, p in RELATIONS if t in measures and set(p) <= set(measures)]
    done = suppress(out[controlled], "parent_code", measures, relations)
    for m in measures:
        out.loc[controlled, m] = done[m].to_numpy()
    return out


def protect_buildings(
    buildings: pd.DataFrame, measures: tuple[str, ...] = BUILDING_MEASURES
) -> pd.DataFrame:
    """Buildings' counts with small cells suppressed among the buildings of a committee.

    ``buildings`` has ``community_code`` and ``measures``; the result is indexed like it.
    """
    table = buildings.copy()
    table["community_code"] = table["community_code"].fillna("")
    return suppress(table, "community_code", list(measures))


def protect_rooms(rooms: pd.DataFrame, floor: Level | None) -> pd.DataFrame:
    """A building's rooms with the counts (:data:`ROOM_MEASURES`) a caller under ``floor`` sees.

    Under any disclosure floor no room count is shown, zeros included: a room holds one
    household, so its count is one household's size; and which rooms are empty adds up
    to the building's households, a count that is suppressed among the committee's
    buildings. Sibling suppression (:func:`protect`) leaves zeros shown and would not hide
    that, so rooms are not given to it.

    Examples
    --------
    >>> rooms = pd.DataFrame({"resident": [3, 0, 14], "households": [1, 0, 1]})
    >>> protect_rooms(rooms, None)["resident"].tolist()
    [3, 0, 14]
    >>> protect_rooms(rooms, "street")["resident"].tolist()
    [<NA>, <NA>, <NA>]
    """
    out = rooms.copy()
    hidden = below(floor, "room")
    for m in ROOM_MEASURES:
        out[m] = out[m].astype("Int64")
        if hidden:
            out[m] = pd.array([pd.NA] * len(out), dtype="Int64")
    return out


def unit_table(served: ServedSnapshot, floor: Level | None) -> pd.DataFrame:
    """Every unit of the snapshot with the counts a caller under ``floor`` sees.

    Indexed by code; worked out once per snapshot and floor.
    """

    def build() -> pd.DataFrame:
        cols = ", ".join(UNIT_MEASURES)
        units = pd.DataFrame(
            served.query(
                f"SELECT code, name, level, parent_code, {cols}, area_km2 FROM units ORDER BY code"
            )
        )
        table = protect(units.set_index("code", drop=False), floor, list(UNIT_MEASURES))
        table.index.name = None  # the code stays a column too; an unnamed index is unambiguous
        return table

    return served.derived(("units", floor), build)


def scoped_units(served: ServedSnapshot, principal: Principal) -> pd.DataFrame:
    """The units of the caller's jurisdiction with the counts it sees (indexed by code)."""
    floor = floor_of(principal)

    def build() -> pd.DataFrame:
        table = unit_table(served, floor)
        return table[table["code"].astype(str).str.startswith(principal.scope)]

    return served.derived(("scoped_units", principal.scope, floor), build)


def unit_of(served: ServedSnapshot, principal: Principal, code: str) -> pd.Series:
    """One unit of the caller's jurisdiction; 404 if it is not there (or does not exist)."""
    table = scoped_units(served, principal)
    if code not in table.index:
        raise not_found("unit")
    row = table.loc[code]
    assert isinstance(row, pd.Series)  # codes are unique
    return row


def unit_counts(served: ServedSnapshot, floor: Level) -> dict[str, dict[str, Any]]:
    """Per unit code, the counts a caller under ``floor`` sees (None: suppressed)."""

    def build() -> dict[str, dict[str, Any]]:
        table = unit_table(served, floor)
        return {
            str(code): {m: plain(row[m]) for m in UNIT_MEASURES} for code, row in table.iterrows()
        }

    return served.derived(("unit_counts", floor), build)


def building_residents(served: ServedSnapshot) -> list[int | None]:
    """Residents of each building of the index, small cells suppressed (index order)."""
    index = served.buildings()

    def build() -> list[int | None]:
        table = pd.DataFrame(
            {"community_code": index.community_codes, "resident": index.properties["resident"]}
        )
        table["resident"] = table["resident"].fillna(0)
        return [plain(v) for v in protect_buildings(table)["resident"].tolist()]

    return served.derived("building_residents", build)


def building_households(served: ServedSnapshot) -> list[int | None]:
    """Households of each building of the index, small cells suppressed (index order).

    Suppressed among the buildings of a committee as :func:`building_residents` does it.
    """
    index = served.buildings()

    def build() -> list[int | None]:
        counts = {
            r["building_id"]: r["households"]
            for r in served.query("SELECT building_id, households FROM buildings")
        }
        table = pd.DataFrame(
            {
                "community_code": index.community_codes,
                "households": [counts.get(b) or 0 for b in index.properties["building_id"]],
            }
        )
        done = protect_buildings(table, ("households",))
        return [plain(v) for v in done["households"].tolist()]

    return served.derived("building_households", build)


def plain(value: Any) -> Any:
    """A JSON value of a count: None where suppressed or missing, else an int."""
    if value is None or pd.isna(value):
        return None
    return int(value)
