"""The sample city's divisions, micro-grids, road network and blocks.

Generated in a projected CRS (metres) inside the real district boundary: streets tile the
district, committees tile their street, micro-grids tile their committee. Roads form a
jittered lattice of lines named from real road names (:mod:`popbase.sample.roads`); a
committee named after a road (中春路居委会) has that road running through or beside it, and
lanes and old streets (仪风弄, 陈家巷, 三林老街) take the shortest lines. The cells between
roads are blocks.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from popbase.sample.frame import DistrictFrame
from popbase.sample.roads import SHORT_KINDS, committee_roads, draw_road_names, road_kind
from popbase.sample.tiling import voronoi_tiles


@dataclass
class Geography:
    """Divisions, grids, roads and blocks of one district, in projected coordinates.

    Attributes
    ----------
    divisions
        ``code, name, level, parent_code, geometry`` for the district, its streets and
        committees (levels ``district``, ``street``, ``community``).
    grids
        ``grid_code, name, community_code, geometry``.
    roads
        ``road_id, name, kind, axis, offset, geometry``: ``axis`` is ``"x"`` for roads
        running east–west at northing ``offset``, ``"y"`` for north–south ones.
    blocks
        ``block_id, geometry``: the cells between roads.
    """

    divisions: pd.DataFrame
    grids: pd.DataFrame
    roads: pd.DataFrame
    blocks: pd.DataFrame


def divisions_from_frame(
    frame: DistrictFrame,
    boundary: BaseGeometry,
    rng: np.random.Generator,
    streets: int | None = None,
    communities_per_street: int | None = None,
) -> pd.DataFrame:
    """Tile the district with its real streets and committees.

    Parameters
    ----------
    frame
        The real district.
    boundary
        The district boundary in projected coordinates.
    rng
        Random generator.
    streets, communities_per_street
        Keep only the first streets / committees (for small test cities); the kept ones
        still tile the whole district.

    Returns
    -------
    pandas.DataFrame
        One row per division.
    """
    chosen = frame.streets[:streets] if streets else frame.streets
    rows: list[dict[str, object]] = [
        {
            "code": frame.code,
            "name": frame.name,
            "level": "district",
            "parent_code": frame.code[:4],
            "geometry": boundary,
        }
    ]
    for street, street_geom in zip(chosen, voronoi_tiles(boundary, len(chosen), rng), strict=True):
        rows.append(
            {
                "code": street.code,
                "name": street.name,
                "level": "street",
                "parent_code": frame.code,
                "geometry": street_geom,
            }
        )
        committees = (
            street.communities[:communities_per_street]
            if communities_per_street
            else (street.communities)
        )
        tiles = voronoi_tiles(street_geom, len(committees), rng)
        for (code, name), geom in zip(committees, tiles, strict=True):
            rows.append(
                {
                    "code": code,
                    "name": name,
                    "level": "community",
                    "parent_code": street.code,
                    "geometry": geom,
                }
            )
    return pd.DataFrame(rows)


def grids_from_communities(communities: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Split each committee into 2–6 micro-grids (微网格) coded community code + 3 digits."""
    rows: list[dict[str, object]] = []
    for code, name, geom in communities[["code", "name", "geometry"]].itertuples(index=False):
        k = int(rng.integers(2, 7))
        for i, tile in enumerate(voronoi_tiles(geom, k, rng, lloyd=1), start=1):
            rows.append(
                {
                    "grid_code": f"{code}{i:03d}",
                    "name": f"{name}第{i}网格",
                    "community_code": code,
                    "geometry": tile,
                }
            )
    return pd.DataFrame(rows)


def _lattice(lo: float, hi: float, spacing: float, rng: np.random.Generator) -> np.ndarray:
    n = max(int((hi - lo) / spacing), 1)
    base = lo + spacing * (np.arange(n) + 0.5)
    return np.sort(base + rng.uniform(-0.2, 0.2, n) * spacing)


def roads_in(
    boundary: BaseGeometry,
    rng: np.random.Generator,
    spacing: float = 700.0,
    *,
    communities: pd.DataFrame | None = None,
    taken: set[str] | None = None,
) -> pd.DataFrame:
    """Lay a jittered lattice of roads over the district and name them from real names.

    Parameters
    ----------
    boundary
        District boundary in projected coordinates.
    rng
        Random generator.
    spacing
        Mean distance between parallel roads in metres.
    communities
        ``name, geometry`` of the district's committees: a committee named after a road
        gets that name on the lattice line nearest to it.
    taken
        Road names of other districts of the same city; the names given here are added.

    Returns
    -------
    pandas.DataFrame
        One row per road, clipped to the district.
    """
    minx, miny, maxx, maxy = boundary.bounds
    ys = _lattice(miny, maxy, spacing, rng)
    xs = _lattice(minx, maxx, spacing, rng)
    lines = [shapely.LineString([(minx, y), (maxx, y)]) for y in ys]
    lines += [shapely.LineString([(x, miny), (x, maxy)]) for x in xs]
    clipped = shapely.intersection(np.array(lines), boundary)
    inside = ~shapely.is_empty(clipped)
    offsets = np.concatenate([ys, xs])
    axis = np.array(["x"] * len(ys) + ["y"] * len(xs))
    placed = _committee_road_lines(communities, clipped, inside, axis, offsets, taken or set())
    names = draw_road_names(int(inside.sum()), rng, first=list(placed.values()), taken=taken or ())
    # The committees' roads take their lines. Lanes and old streets are short: they take
    # the shortest of the other lines, the roads the rest.
    rest = names[len(placed) :]
    free = sorted(
        (i for i in range(len(lines)) if inside[i] and i not in placed),
        key=lambda i: float(shapely.length(clipped[i])),
    )
    short = [n for n in rest if road_kind(n) in SHORT_KINDS]
    order = short + [n for n in rest if road_kind(n) not in SHORT_KINDS]
    named = [""] * len(lines)
    for i, name in [*zip(free, order, strict=True), *placed.items()]:
        named[i] = name
    if taken is not None:
        taken.update(names)
    df = pd.DataFrame(
        {
            "road_id": [f"R{i:04d}" for i in range(len(lines))],
            "name": named,
            "kind": [road_kind(n) for n in named],
            "axis": axis,
            "offset": offsets,
            "geometry": clipped,
        }
    )
    kept: pd.DataFrame = df[inside]
    return kept.reset_index(drop=True)


def _committee_road_lines(
    communities: pd.DataFrame | None,
    lines: np.ndarray,
    inside: np.ndarray,
    axis: np.ndarray,
    offsets: np.ndarray,
    taken: set[str],
) -> dict[int, str]:
    """Line index → name of the road a committee is named after, on the line nearest it."""
    if communities is None or communities.empty:
        return {}
    named_after = committee_roads(communities["name"])
    out: dict[int, str] = {}
    for name, geom in zip(communities["name"], communities["geometry"], strict=True):
        road = named_after.get(name)
        if road is None or road in out.values() or road in taken:
            continue
        at = geom.representative_point()
        free = np.flatnonzero(inside & ~np.isin(np.arange(len(lines)), list(out)))
        if not len(free):
            break
        # The line nearest the committee's centre, where its buildings cluster.
        d = np.abs(np.where(axis[free] == "x", at.y, at.x) - offsets[free])
        out[int(free[np.argmin(d)])] = road
    return out


def blocks_between(roads: pd.DataFrame, boundary: BaseGeometry) -> pd.DataFrame:
    """Cells of the road lattice, clipped to the district."""
    minx, miny, maxx, maxy = boundary.bounds
    ys = np.concatenate(
        [[miny], np.sort(roads.loc[roads.axis == "x", "offset"].to_numpy()), [maxy]]
    )
    xs = np.concatenate(
        [[minx], np.sort(roads.loc[roads.axis == "y", "offset"].to_numpy()), [maxx]]
    )
    boxes = [
        shapely.box(x0, y0, x1, y1)
        for x0, x1 in itertools.pairwise(xs)
        for y0, y1 in itertools.pairwise(ys)
    ]
    cells = shapely.intersection(np.array(boxes), boundary)
    keep = ~shapely.is_empty(cells)
    cells = cells[keep]
    return pd.DataFrame({"block_id": [f"K{i:05d}" for i in range(len(cells))], "geometry": cells})


def nearest_road(
    roads: pd.DataFrame, x: np.ndarray, y: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each point, the index of the nearest road, the position along it and the side.

    Returns
    -------
    tuple of numpy.ndarray
        Road row index, distance along the road from its west/south end, and the side
        (``True`` on the north/east side).
    """
    idx = np.arange(len(roads))
    best = np.full(len(x), -1)
    dist = np.full(len(x), np.inf)
    along = np.zeros(len(x))
    side = np.zeros(len(x), dtype=bool)
    for axis, coord, other in (("x", y, x), ("y", x, y)):
        sel = (roads["axis"] == axis).to_numpy()
        if not sel.any():
            continue
        offsets = roads["offset"].to_numpy()[sel]
        order = np.argsort(offsets)
        offsets, ids = offsets[order], idx[sel][order]
        pos = (
            np.clip(np.searchsorted(offsets, coord), 1, len(offsets) - 1)
            if len(offsets) > 1
            else (np.zeros(len(coord), dtype=int))
        )
        cand = np.stack([pos - 1, pos]) if len(offsets) > 1 else np.stack([pos, pos])
        d = np.abs(coord[None, :] - offsets[cand])
        pick = cand[np.argmin(d, axis=0), np.arange(len(coord))]
        dd = np.abs(coord - offsets[pick])
        better = dd < dist
        best[better] = ids[pick][better]
        dist[better] = dd[better]
        along[better] = other[better]
        side[better] = (coord > offsets[pick])[better]
    return best, along, side


def prefer_named_roads(
    roads: pd.DataFrame,
    x: np.ndarray,
    y: np.ndarray,
    located: tuple[np.ndarray, np.ndarray, np.ndarray],
    wanted: np.ndarray,
    reach: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Put points on the road their committee is named after, where it is within ``reach``.

    A committee is named after the road its compounds front (中春路居委会), so a point of
    such a committee takes that road, rather than the nearest, when it is not far.

    Parameters
    ----------
    roads
        The road network (``name, axis, offset``).
    x, y
        Points.
    located
        What :func:`nearest_road` gave for the points.
    wanted
        The name of each point's committee's road, ``""`` for none.
    reach
        Greatest distance in metres from a point to its committee's road.

    Returns
    -------
    tuple of numpy.ndarray
        Road row index, distance along the road and side, as :func:`nearest_road`.
    """
    best, along, side = (a.copy() for a in located)
    at = pd.Series(np.arange(len(roads)), index=roads["name"].to_numpy())
    at = at[~at.index.duplicated()]
    pos = at.reindex(np.asarray(wanted, dtype=object)).to_numpy()
    has = ~pd.isna(pos)
    if not has.any():
        return best, along, side
    i = np.flatnonzero(has)
    road = pos[i].astype(int)
    horizontal = roads["axis"].to_numpy()[road] == "x"
    offset = roads["offset"].to_numpy()[road]
    coord = np.where(horizontal, y[i], x[i])
    near = np.abs(coord - offset) <= reach
    k = i[near]
    best[k] = road[near]
    along[k] = np.where(horizontal, x[i], y[i])[near]
    side[k] = (coord > offset)[near]
    return best, along, side
