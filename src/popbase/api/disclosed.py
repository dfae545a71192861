"""Counts of units, buildings and rooms as a caller may see them.

Roles with disclosure control (``suppress_below``) see the counts of units below that
level with small cells suppressed. Which cells are hidden was decided when the snapshot
was published, over every table such a role can read at once
(:mod:`popbase.ops.suppression`), and is only read here: every endpoint (the map layers,
a unit's detail, its residency statistics, tag counts, buildings) hides the same cells,
and no request waits while suppression is worked out. A snapshot without a decision for
a floor (published before it, or the roles file changed since) shows no count below it.
Rooms' counts are not shown at all under a floor (:func:`protect_rooms`); lists of
persons stop at the floor (:func:`refuse_list_below_floor`).
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd
from fastapi import HTTPException

from popbase.analysis.measures import MEASURES
from popbase.api.gate import Principal, not_found
from popbase.api.served import ServedSnapshot
from popbase.ops.suppression import TAG_PREFIX
from popbase.security.access import LEVELS, Level
from popbase.security.disclosure import FLOOR_DIGITS, finer_than

log = logging.getLogger(__name__)

# Counts of a unit; resident = usual_resident + floating.
UNIT_MEASURES: tuple[str, ...] = (*MEASURES, "households")
ROOM_MEASURES: tuple[str, ...] = ("resident", "households")
# Below every unit level: a building's counts, and a room's.
SITE_LEVELS: tuple[str, ...] = ("building", "room")
# A cell: kind ('unit' or 'building'), code, measure.
Cell = tuple[str, str, str]


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


def hidden_cells(served: ServedSnapshot, floor: Level) -> frozenset[Cell] | None:
    """The cells the snapshot hides under ``floor``; None if it decided nothing for it.

    Read once per snapshot and floor from ``disclosure_cells``.
    """

    def read() -> frozenset[Cell] | None:
        published = served.query(
            "SELECT 1 FROM information_schema.tables WHERE table_name = 'disclosure_cells'"
        )
        decided = published and served.query(
            "SELECT 1 FROM disclosure_cells WHERE floor = ? LIMIT 1", [floor]
        )
        if not decided:
            log.warning(
                "snapshot %s has no suppression decided for floor %s: every count below "
                "it is hidden; build again to publish one",
                served.id,
                floor,
            )
            return None
        rows = served.query(
            "SELECT kind, code, measure FROM disclosure_cells WHERE floor = ? AND hidden",
            [floor],
        )
        return frozenset((r["kind"], r["code"], r["measure"]) for r in rows)

    return served.derived(("hidden_cells", floor), read)


def is_hidden(hidden: frozenset[Cell] | None, cell: Cell) -> bool:
    """Whether a controlled cell is hidden (every one is, without a decision).

    >>> is_hidden(frozenset({("unit", "c1", "resident")}), ("unit", "c1", "resident"))
    True
    >>> is_hidden(None, ("unit", "c2", "floating")), is_hidden(frozenset(), ("unit", "c2", "x"))
    (True, False)
    """
    return hidden is None or cell in hidden


def protect(
    served: ServedSnapshot, rows: pd.DataFrame, floor: Level | None, measures: list[str]
) -> pd.DataFrame:
    """Rows of units with the counts the snapshot hides under ``floor`` set to None.

    Parameters
    ----------
    served
        The snapshot, whose published decision is read.
    rows
        Units with ``code``, ``level`` and ``measures``; the index must be unique.
    floor
        Counts of units below this level are controlled; None controls nothing.
    measures
        Count columns, named as the decision names them (``resident``, ``tag:elderly``…).

    Returns
    -------
    pandas.DataFrame
        ``rows`` with the counts as nullable integers.
    """
    out = rows.copy()
    for m in measures:
        out[m] = out[m].astype("Int64")
    if out.empty or floor is None:
        return out
    controlled = out["level"].map(lambda lv: below(floor, str(lv))).to_numpy(dtype=bool)
    if not controlled.any():
        return out
    hidden = hidden_cells(served, floor)
    codes = out["code"].astype(str).to_numpy()
    for m in measures:
        mask = [
            c and is_hidden(hidden, ("unit", code, m))
            for c, code in zip(controlled, codes, strict=True)
        ]
        out[m] = out[m].mask(pd.Series(mask, index=out.index, dtype=bool))
    return out


def refuse_list_below_floor(principal: Principal, unit: str | None, what: str) -> None:
    """403 if a role with a floor asks for ``what`` (a list) of a place below its floor.

    Its counts there are suppressed; a list of the same persons would count them.
    """
    floor = floor_of(principal)
    if floor is None or not unit or not finer_than(unit, floor):
        return
    raise HTTPException(
        403,
        f"role {principal.role.id!r} sees counts below {floor} level suppressed, so it "
        f"gets no {what} of a smaller place than a {floor} ({unit!r} has "
        f"{len(unit)} digits, a {floor} code {FLOOR_DIGITS[floor]}); "
        f"ask for a {floor} or a larger unit",
    )


def tag_measure(tags: list[str]) -> str | None:
    """The measure a crossing of ``tags`` is decided under; None for several tags.

    Only single tags' counts are published below the floor: crossings of several tags
    are too many to protect together, so below the floor they are all hidden.

    >>> tag_measure(["elderly"]), tag_measure(["elderly", "disabled"])
    ('tag:elderly', None)
    """
    return TAG_PREFIX + tags[0] if len(tags) == 1 else None


def protect_tag_counts(
    served: ServedSnapshot, rows: pd.DataFrame, floor: Level | None, tags: list[str]
) -> pd.DataFrame:
    """Tag crossing rows (``code, level, persons``) as a caller under ``floor`` sees them."""
    measure = tag_measure(tags)
    if measure is not None:
        return protect(served, rows.rename(columns={"persons": measure}), floor, [measure]).rename(
            columns={measure: "persons"}
        )
    out = rows.copy()
    out["persons"] = out["persons"].astype("Int64")
    if floor is not None and not out.empty:
        controlled = out["level"].map(lambda lv: below(floor, str(lv))).to_numpy(dtype=bool)
        out["persons"] = out["persons"].mask(pd.Series(controlled, index=out.index))
    return out


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
        table = protect(served, units.set_index("code", drop=False), floor, list(UNIT_MEASURES))
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


def building_counts(served: ServedSnapshot, floor: Level, measure: str) -> list[int | None]:
    """One count of each building of the index as a caller under ``floor`` sees it.

    In the order of the snapshot's building index; None where suppressed.
    """
    index = served.buildings()

    def build() -> list[int | None]:
        counts = {
            r["building_id"]: r[measure]
            for r in served.query(f"SELECT building_id, {measure} FROM buildings")
        }
        if not below(floor, "building"):
            return [plain(counts.get(b) or 0) for b in index.properties["building_id"]]
        hidden = hidden_cells(served, floor)
        return [
            None if is_hidden(hidden, ("building", b, measure)) else plain(counts.get(b) or 0)
            for b in index.properties["building_id"]
        ]

    return served.derived(("building_counts", floor, measure), build)


def plain(value: Any) -> Any:
    """A JSON value of a count: None where suppressed or missing, else an int."""
    if value is None or pd.isna(value):
        return None
    return int(value)
