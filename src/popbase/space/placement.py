"""Buildings placed in units, rooms checked against their buildings.

Each building is assigned to the unit (committee or micro-grid) it overlaps most; one that
overlaps two or more units by more than 1% of its footprint each *straddles* a boundary
and is listed with its shares (``building_straddles``), one in no unit is
``building_outside_units``. A building given as a point is placed by that point. Rooms must
name a known building (``room_without_building``), one whose use is residential or mixed
(``room_in_nonresidential_building``; a building of unknown use passes), on a floor from 1
to the building's floors (``room_floor_out_of_range``); room findings come one per
building, counting its rooms.
"""

from __future__ import annotations

from typing import Final

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from popbase.space.findings import Finding
from popbase.values.numbers import read_floors
from popbase.values.reading import text_array
from popbase.values.vocabulary import Vocabulary, load_vocabulary

__all__ = ["RESIDENTIAL_USES", "assign_buildings", "check_rooms", "floor_numbers"]

STRADDLE_SHARE: Final = 0.01
# Canonical building uses (see popbase.values.vocabulary) whose buildings hold homes.
RESIDENTIAL_USES: Final = frozenset({"residential", "mixed"})


def assign_buildings(
    buildings: gpd.GeoDataFrame, units: gpd.GeoDataFrame, level: str
) -> tuple[pd.DataFrame, list[Finding]]:
    """Assign each building to the unit it overlaps most; list those that straddle units.

    Parameters
    ----------
    buildings
        ``id`` and ``geometry`` (footprints or points), projected.
    units
        ``code`` and ``geometry`` of one level (committees or grids), projected.
    level
        Its name, for the findings' text.

    Returns
    -------
    tuple
        ``building_id, code, share`` (one row per building with a unit), and findings.
    """
    geoms = buildings.geometry.values
    ids = buildings["id"].astype(str).to_numpy()
    unit_geoms = units.geometry.values
    codes = units["code"].astype(str).to_numpy()
    tree = shapely.STRtree(unit_geoms)
    area = shapely.area(geoms)
    inside_b, inside_u = tree.query(geoms, predicate="within")
    rest = np.setdiff1d(np.arange(len(geoms)), inside_b)
    b, u = tree.query(geoms[rest], predicate="intersects")
    b = rest[b]
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(
            area[b] > 0, shapely.area(shapely.intersection(geoms[b], unit_geoms[u])) / area[b], 1.0
        )
    pairs = pd.DataFrame(
        {
            "b": np.concatenate([inside_b, b]),
            "code": codes[np.concatenate([inside_u, u])],
            "share": np.concatenate([np.ones(len(inside_b)), share]),
        }
    ).sort_values(["b", "share"], ascending=[True, False], kind="stable")
    best = pairs.drop_duplicates("b")
    findings: list[Finding] = []
    for i in np.setdiff1d(np.arange(len(geoms)), best["b"]):
        findings.append(
            Finding("building_outside_units", ids[i], detail=f"in no {level}", geometry=geoms[i])
        )
    # A point on a shared boundary touches both units: not a straddle.
    counted = pairs[(pairs["share"] > STRADDLE_SHARE) & (area[pairs["b"].to_numpy()] > 0)]
    total = pairs.groupby("b")["share"].sum()
    for i, mine in counted[counted["b"].duplicated(keep=False)].groupby("b", sort=True):
        shares = ", ".join(f"{c} {s:.1%}" for c, s in zip(mine["code"], mine["share"], strict=True))
        missing = 1.0 - float(total[i])
        if missing > STRADDLE_SHARE:
            shares += f", outside every {level} {missing:.1%}"
        findings.append(
            Finding(
                "building_straddles",
                ids[i],
                str(mine["code"].iloc[1]),
                float(area[i]),
                f"{level}: {shares}",
                geoms[i],
            )
        )
    assigned = pd.DataFrame(
        {
            "building_id": ids[best["b"]],
            "code": best["code"].to_numpy(),
            "share": best["share"].to_numpy(),
        }
    )
    return assigned, findings


def floor_numbers(values: pd.Series) -> pd.Series:
    """Room floors as numbers: ``3``, ``3层``, ``3F`` → 3; ``B1``, ``-1`` → -1; else missing.

    Examples
    --------
    >>> floor_numbers(pd.Series(["3", "12层", "B1", "地下", None])).tolist()
    [3, 12, -1, <NA>, <NA>]
    """
    text = values.astype("string").str.strip().str.replace(r"^[Bb]", "-", regex=True)
    return pd.to_numeric(text.str.extract(r"(-?\d+)")[0], errors="coerce").astype("Int64")


def _floors(values: pd.Series) -> pd.Series:
    """Floors as the build reads them (12, 12层, 12F); unreadable ones missing."""
    return pd.Series(read_floors(text_array(values)).values.to_pylist(), values.index, dtype=object)


def check_rooms(
    rooms: pd.DataFrame, buildings: gpd.GeoDataFrame, vocabulary: Vocabulary | None = None
) -> list[Finding]:
    """Rooms only in known residential or mixed buildings, on floors the building has.

    Parameters
    ----------
    rooms
        ``building``, ``room_no`` and optionally ``floor`` (``3``, ``3层``, ``B1``).
    buildings
        ``id``, optionally ``use`` (住宅, 商住, office … as the vocabulary reads them; a use
        it cannot read is unknown) and ``floors``, and ``geometry``.
    vocabulary
        The project's vocabulary; the shipped one by default.
    """
    words = vocabulary or load_vocabulary()
    info = buildings.drop_duplicates("id")
    info.index = pd.Index(info["id"].astype(str))
    building = rooms["building"].astype(str)
    known = building.isin(info.index)
    floor = (
        floor_numbers(rooms["floor"]).astype("float64")
        if "floor" in rooms
        else pd.Series(np.nan, rooms.index)
    )
    if "use" in info:
        read = words.read("building_use", text_array(info["use"]))
        uses = pd.Series(read.values.to_pylist(), info.index)
        use = building.map(uses)
    else:
        use = pd.Series(None, rooms.index, dtype=object)
    floors = (
        building.map(pd.to_numeric(_floors(info["floors"]), errors="coerce"))
        if "floors" in info
        else pd.Series(np.nan, rooms.index)
    )
    checks = {
        "room_without_building": ~known,
        "room_in_nonresidential_building": known & use.notna() & ~use.isin(RESIDENTIAL_USES),
        "room_floor_out_of_range": known
        & floor.notna()
        & floors.notna()
        & ((floor < 1) | (floor > floors)),
    }
    findings: list[Finding] = []
    for kind, bad in checks.items():
        for b, group in rooms[bad.to_numpy()].groupby(building[bad], sort=True):
            sample = ", ".join(group["room_no"].astype(str).head(3))
            n = len(group)
            if kind == "room_without_building":
                detail = f"{n} room(s) ({sample}) name a building not in the buildings layer"
                where = None
            elif kind == "room_in_nonresidential_building":
                detail = (
                    f"{n} room(s) ({sample}) in a building whose use is {use[group.index[0]]!r}"
                )
                where = info.loc[b].geometry
            else:
                wrong = sorted({int(f) for f in floor[group.index]})
                detail = (
                    f"{n} room(s) ({sample}) on floor(s) {wrong[:5]} of a "
                    f"{int(floors[group.index[0]])}-floor building"
                )
                where = info.loc[b].geometry
            findings.append(Finding(kind, str(b), "", None, detail, where))
    return findings
