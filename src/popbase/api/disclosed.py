"""Counts of units and buildings as a caller may see them.

Roles with disclosure control (``suppress_below``) see the counts of units below that
level with small cells suppressed (:mod:`popbase.security.disclosure`). Suppression is
worked out once per snapshot over every group of siblings — not per request over what
one request happens to show — so every endpoint (the map layers, a unit's detail, its
residency statistics) hides the same cells, and no two answers together reveal one.
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


def below(floor: Level | None, level: str) -> bool:
    """Whether counts of ``level`` units are disclosure-controlled under ``floor``.

    Examples
    --------
    >>> below("street", "community"), below("street", "street"), below(None, "grid")
    (True, False, False)
    """
    if floor is None or level not in LEVELS:
        return False
    return LEVELS.index(level) > LEVELS.index(floor)


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


def protect_buildings(buildings: pd.DataFrame) -> pd.DataFrame:
    """Buildings' counts with small cells suppressed among the buildings of a committee.

    ``buildings`` has ``community_code`` and :data:`BUILDING_MEASURES`; the result is
    indexed like it.
    """
    table = buildings.copy()
    table["community_code"] = table["community_code"].fillna("")
    return suppress(table, "community_code", list(BUILDING_MEASURES))


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


def plain(value: Any) -> Any:
    """A JSON value of a count: None where suppressed or missing, else an int."""
    if value is None or pd.isna(value):
        return None
    return int(value)
