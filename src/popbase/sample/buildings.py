"""Buildings with footprints, floors, use and door-plate addresses, and the rooms in them.

Urban committees get residential compounds (小区) addressed 路 + 弄 + 号 (some buildings
have a 号 on the road directly, as do all on a named lane such as 仪风弄 or 陈家巷);
offices, shops, mixed buildings and facilities have a 号 on the road; village committees
in towns get houses addressed 村 + 组 + 号.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from popbase.sample.geography import nearest_road, prefer_named_roads
from popbase.sample.names import compound_name

# (kind, probability, floors low, floors high, rooms per floor low, high)
RESIDENTIAL_TYPES: tuple[tuple[str, float, int, int, int, int], ...] = (
    ("walkup", 0.50, 5, 7, 2, 4),
    ("midrise", 0.25, 8, 14, 2, 4),
    ("highrise", 0.25, 15, 33, 2, 6),
)
NON_RESIDENTIAL_FLOORS = {
    "office": (6, 30),
    "commercial": (1, 5),
    "school": (3, 5),
    "kindergarten": (2, 3),
    "health": (3, 6),
    "elderly_care": (3, 6),
    "mixed": (4, 10),
}
SPACING = {"urban": 70.0, "village": 32.0}
# Roads that are themselves lanes: their buildings take house numbers, not lanes.
LANE_KINDS = ("弄", "巷")
# How far a committee's buildings look for the road it is named after (metres).
NAMED_ROAD_REACH = 400.0


def _residential_sizes(target: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Floors and rooms per floor of urban residential buildings holding ``target`` rooms."""
    probs = np.array([t[1] for t in RESIDENTIAL_TYPES])
    if target < 40:
        probs = np.array([0.9, 0.1, 0.0])
    kinds = rng.choice(len(RESIDENTIAL_TYPES), size=max(8, target // 6 + 8), p=probs / probs.sum())
    lo_f = np.array([t[2] for t in RESIDENTIAL_TYPES])[kinds]
    hi_f = np.array([t[3] for t in RESIDENTIAL_TYPES])[kinds]
    lo_r = np.array([t[4] for t in RESIDENTIAL_TYPES])[kinds]
    hi_r = np.array([t[5] for t in RESIDENTIAL_TYPES])[kinds]
    floors = rng.integers(lo_f, hi_f + 1)
    per_floor = rng.integers(lo_r, hi_r + 1)
    cap = np.cumsum(floors * per_floor)
    k = int(np.searchsorted(cap, target)) + 1
    floors, per_floor = floors[:k].copy(), per_floor[:k].copy()
    # Trim the last building so that it is not mostly empty.
    before = int(cap[k - 2]) if k > 1 else 0
    floors[-1] = max(2, min(floors[-1], -(-(target - before) // per_floor[-1])))
    return floors, per_floor


def _sites(polygon: BaseGeometry, n: int, spacing: float, rng: np.random.Generator) -> np.ndarray:
    """``n`` building sites on a lattice inside ``polygon``, clustered around a centre."""
    shapely.prepare(polygon)
    for _ in range(12):
        minx, miny, maxx, maxy = polygon.bounds
        xs = np.arange(minx + spacing / 2, maxx, spacing)
        ys = np.arange(miny + spacing / 2, maxy, spacing)
        gx, gy = (a.ravel() for a in np.meshgrid(xs, ys))
        fp = shapely.box(
            gx - spacing * 0.3, gy - spacing * 0.15, gx + spacing * 0.3, gy + spacing * 0.15
        )
        ok = shapely.contains(polygon, fp)
        gx, gy = gx[ok], gy[ok]
        if len(gx) >= n:
            centre = polygon.representative_point()
            cx, cy = centre.x + rng.normal(0, spacing), centre.y + rng.normal(0, spacing)
            order = np.argsort(
                (gx - cx) ** 2 + (gy - cy) ** 2 + rng.uniform(0, spacing**2 / 4, len(gx))
            )
            return np.column_stack([gx[order[:n]], gy[order[:n]], np.full(n, spacing)])
        spacing *= 0.75
    raise ValueError(f"cannot place {n} buildings in a committee of {polygon.area:.0f} m²")


def community_buildings(
    code: str,
    polygon: BaseGeometry,
    households: int,
    village: bool,
    other_uses: list[str],
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Plan the buildings of one committee.

    Parameters
    ----------
    code
        The committee's 12-digit code.
    polygon
        Its polygon (projected).
    households
        Households expected to live here; residential capacity is planned with vacancy.
    village
        Village committee (rural houses) or residential committee (compounds).
    other_uses
        Non-residential buildings to place here (``office``, ``school`` …).
    rng
        Random generator.

    Returns
    -------
    pandas.DataFrame
        ``community_code, use, floors, rooms_per_floor, x, y, size`` per building.
    """
    target = int(np.ceil(households * 1.15)) + 1
    if village:
        floors = rng.integers(2, 4, target)
        per_floor = np.zeros(target, dtype=int)  # a house is one dwelling
        uses = ["residential"] * target
    else:
        floors, per_floor = _residential_sizes(target, rng)
        uses = ["residential"] * len(floors)
    extra_f = np.array([rng.integers(*NON_RESIDENTIAL_FLOORS[u]) for u in other_uses], dtype=int)
    extra_r = np.array([rng.integers(2, 5) if u == "mixed" else 0 for u in other_uses], dtype=int)
    floors = np.concatenate([floors, extra_f]).astype(int)
    per_floor = np.concatenate([per_floor, extra_r]).astype(int)
    uses = uses + list(other_uses)
    sites = _sites(polygon, len(uses), SPACING["village" if village else "urban"], rng)
    return pd.DataFrame(
        {
            "community_code": code,
            "use": uses,
            "floors": floors,
            "rooms_per_floor": per_floor,
            "x": sites[:, 0],
            "y": sites[:, 1],
            "size": sites[:, 2],
        }
    )


def footprints(b: pd.DataFrame) -> np.ndarray:
    """Rectangular footprints: slabs for urban buildings, small squares for houses."""
    s = b["size"].to_numpy()
    house = (b["rooms_per_floor"].to_numpy() == 0) & (b["use"].to_numpy() == "residential")
    w = np.where(house, s * 0.35, s * 0.55)
    d = np.where(house, s * 0.3, s * 0.22)
    x, y = b["x"].to_numpy(), b["y"].to_numpy()
    return np.asarray(shapely.box(x - w / 2, y - d / 2, x + w / 2, y + d / 2))


def _unique_plate_numbers(road: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Door-plate numbers unique per road, keeping each number's parity (side)."""
    n = wanted.copy()
    while True:
        key = pd.Series(road.astype(str)) + "#" + pd.Series(n.astype(str))
        dup = key.duplicated().to_numpy()
        if not dup.any():
            return n
        n[dup] += 2


def address_buildings(
    b: pd.DataFrame,
    roads: pd.DataFrame,
    villages: dict[str, str],
    rng: np.random.Generator,
    named_roads: dict[str, str] | None = None,
) -> pd.DataFrame:
    """Give every building its door-plate address.

    Parameters
    ----------
    b
        Buildings of the whole district (from :func:`community_buildings`).
    roads
        The road network.
    villages
        Village name (e.g. ``同心村``) of each village committee code.
    rng
        Random generator.
    named_roads
        The road each committee code is named after (中春路居委会 → 中春路): its buildings
        within :data:`NAMED_ROAD_REACH` of that road are numbered on it.

    Returns
    -------
    pandas.DataFrame
        ``b`` with ``road, lane_no, house_no, village, group_no, compound, address``.
    """
    b = b.reset_index(drop=True)
    n = len(b)
    is_village = (
        b["community_code"].isin(list(villages)).to_numpy() & (b["use"] == "residential").to_numpy()
    )
    urban_res = (b["use"].isin(["residential"]).to_numpy()) & ~is_village
    # Compounds: urban residential buildings of a committee in the same 4x4 lattice cell.
    cell = (
        np.floor(b["x"] / (b["size"] * 4)).astype(int).astype(str)
        + ":"
        + np.floor(b["y"] / (b["size"] * 4)).astype(int).astype(str)
    )
    compound_key = np.where(urban_res, b["community_code"] + "/" + cell, "")
    codes, compound_idx = np.unique(compound_key, return_inverse=True)
    cx = pd.Series(b["x"]).groupby(compound_idx).transform("mean").to_numpy()
    cy = pd.Series(b["y"]).groupby(compound_idx).transform("mean").to_numpy()
    # Compounds of a single building, and some old ones, have numbers on the road itself.
    sizes = np.bincount(compound_idx)
    direct_compound = (sizes == 1) | (rng.random(len(codes)) < 0.1)
    on_road = ~urban_res | direct_compound[compound_idx]
    on_road &= ~is_village
    named = named_roads or {}
    wanted = np.array([named.get(c, "") for c in b["community_code"]], dtype=object)

    def locate(on_road: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        px = np.where(on_road, b["x"], cx).astype(float)
        py = np.where(on_road, b["y"], cy).astype(float)
        found = nearest_road(roads, px, py)
        return prefer_named_roads(roads, px, py, found, wanted, NAMED_ROAD_REACH)

    road_i, along, side = locate(on_road)
    # A named lane or alley (仪风弄, 陈家巷) numbers its houses itself: no 弄 off a 弄.
    alley = roads["kind"].isin(LANE_KINDS).to_numpy()[np.maximum(road_i, 0)] & urban_res
    if alley.any():
        on_road |= alley
        road_i, along, side = locate(on_road)
    # Numbers grow from the road's west/south end: odd on one side, even on the other.
    bounds = shapely.bounds(roads["geometry"].to_numpy())
    start = np.where(roads["axis"].to_numpy() == "x", bounds[:, 0], bounds[:, 1])[
        np.maximum(road_i, 0)
    ]
    wanted = (2 * (np.maximum(along - start, 0) // 25) + np.where(side, 1, 2)).astype(int)
    # One plate number per compound (its 弄) or per building on the road.
    plate_owner = np.where(on_road, np.arange(n) + len(codes), compound_idx)
    owners, first = np.unique(plate_owner, return_index=True)
    plate = _unique_plate_numbers(road_i[first], wanted[first])
    number = pd.Series(plate, index=owners).reindex(plate_owner).to_numpy()
    road_name = np.where(is_village, "", roads["name"].to_numpy()[np.maximum(road_i, 0)])
    lane = np.where(urban_res & ~on_road, number, 0)
    within = pd.Series(np.arange(n)).groupby(compound_idx).cumcount().to_numpy() + 1
    house = np.where(lane > 0, within, number)
    compound = np.array(
        [
            compound_name(r, rng) if k else ""
            for r, k in zip(
                roads["name"].to_numpy()[np.maximum(road_i[first], 0)], ~on_road[first], strict=True
            )
        ],
        dtype=object,
    )
    compound_of = pd.Series(compound, index=owners).reindex(plate_owner).to_numpy()
    # Village houses: 组 by spatial cluster within the village, numbered within the group.
    village = np.where(
        is_village, b["community_code"].map(villages).astype(object).fillna("").to_numpy(), ""
    )
    gcell = (
        np.floor(b["x"] / 200).astype(int).astype(str)
        + ":"
        + np.floor(b["y"] / 200).astype(int).astype(str)
    )
    gkey = pd.Series(np.where(is_village, b["community_code"] + "/" + gcell, ""))
    group_rank = gkey.groupby(b["community_code"]).transform(lambda s: pd.factorize(s)[0] + 1)
    group_no = np.where(is_village, group_rank.to_numpy(), 0)
    house = np.where(is_village, gkey.groupby(gkey).cumcount().to_numpy() + 1, house)
    address = np.where(
        is_village,
        pd.Series(village)
        + pd.Series(group_no.astype(str))
        + "组"
        + pd.Series(house.astype(str))
        + "号",
        np.where(
            lane > 0,
            pd.Series(road_name)
            + pd.Series(lane.astype(str))
            + "弄"
            + pd.Series(house.astype(str))
            + "号",
            pd.Series(road_name) + pd.Series(house.astype(str)) + "号",
        ),
    )
    return b.assign(
        road=road_name,
        lane_no=lane,
        house_no=house,
        village=village,
        group_no=group_no,
        compound=np.where(lane > 0, compound_of, ""),
        address=address,
    )


def rooms_of(buildings: pd.DataFrame) -> pd.DataFrame:
    """Every dwelling: ``floor × 100 + n`` (e.g. 301, 1202) in flats, one per village house.

    Mixed buildings keep their ground floor for shops.
    """
    b = buildings[buildings["use"].isin(["residential", "mixed"])]
    per_floor = b["rooms_per_floor"].to_numpy()
    floors = b["floors"].to_numpy()
    first_floor = np.where(b["use"].to_numpy() == "mixed", 2, 1)
    house = per_floor == 0
    counts = np.where(house, 1, (floors - first_floor + 1) * per_floor)
    bid = np.repeat(b["building_id"].to_numpy(), counts)
    k = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    pf = np.repeat(np.maximum(per_floor, 1), counts)
    floor = np.repeat(first_floor, counts) + k // pf
    unit = k % pf + 1
    is_house = np.repeat(house, counts)
    room_no = np.where(is_house, "", (floor * 100 + unit).astype(str))
    floor = np.where(is_house, 1, floor)
    rid = (
        pd.Series(bid, dtype=object)
        + "-"
        + pd.Series(np.where(is_house, "0", room_no), dtype=object)
    )
    return pd.DataFrame(
        {
            "room_id": rid.to_numpy(),
            "building_id": bid,
            "floor": floor,
            "room_no": room_no,
            "community_code": np.repeat(b["community_code"].to_numpy(), counts),
        }
    )
