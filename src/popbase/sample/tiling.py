"""Nested tilings: children that cover their parent exactly, without gaps or overlaps.

Streets tile the real district boundary, committees tile their street and micro-grids
tile their committee. Each level is a Voronoi diagram of seeds inside the parent, relaxed
by Lloyd iterations for compact shapes, and clipped to the parent: Voronoi cells
partition the plane, so the clipped cells partition the parent.
"""

from __future__ import annotations

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry


def random_points_in(polygon: BaseGeometry, n: int, rng: np.random.Generator) -> np.ndarray:
    """Draw ``n`` points uniformly inside ``polygon``.

    Parameters
    ----------
    polygon
        A polygonal geometry with positive area.
    n
        How many points.
    rng
        Random generator.

    Returns
    -------
    numpy.ndarray
        Array of shape ``(n, 2)``.
    """
    if n == 0:
        return np.empty((0, 2))
    minx, miny, maxx, maxy = polygon.bounds
    shapely.prepare(polygon)
    fill = max(polygon.area / ((maxx - minx) * (maxy - miny)), 0.01)
    out: list[np.ndarray] = []
    have = 0
    while have < n:
        m = int((n - have) / fill * 1.2) + 16
        x = rng.uniform(minx, maxx, m)
        y = rng.uniform(miny, maxy, m)
        inside = shapely.contains_xy(polygon, x, y)
        pts = np.column_stack([x[inside], y[inside]])
        out.append(pts)
        have += len(pts)
    return np.concatenate(out)[:n]


def _cells(seeds: np.ndarray, parent: BaseGeometry) -> np.ndarray:
    minx, miny, maxx, maxy = parent.bounds
    pad = max(maxx - minx, maxy - miny)
    frame = shapely.box(minx - pad, miny - pad, maxx + pad, maxy + pad)
    diagram = shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=frame, ordered=True)
    cells = shapely.get_parts(diagram)
    return np.asarray(shapely.intersection(cells, parent))


def voronoi_tiles(
    parent: BaseGeometry,
    n: int,
    rng: np.random.Generator,
    *,
    lloyd: int = 2,
) -> list[BaseGeometry]:
    """Split ``parent`` into ``n`` tiles that cover it exactly.

    Parameters
    ----------
    parent
        The polygon to split (projected coordinates, so that shapes are not distorted).
    n
        Number of tiles.
    rng
        Random generator (the tiling is deterministic for a given generator state).
    lloyd
        Lloyd relaxation steps: more gives rounder, more even tiles.

    Returns
    -------
    list of shapely geometries
        Tiles ordered from north-west to south-east, so that consecutive codes are
        neighbours on the map.

    Examples
    --------
    >>> import numpy as np, shapely
    >>> tiles = voronoi_tiles(shapely.box(0, 0, 10, 10), 4, np.random.default_rng(1))
    >>> round(sum(t.area for t in tiles), 6)
    100.0
    """
    if n <= 1:
        return [parent]
    seeds = random_points_in(parent, n, rng)
    for _ in range(lloyd):
        cells = _cells(seeds, parent)
        centroids = shapely.get_coordinates(shapely.point_on_surface(cells))
        # Centroids of concave cells can fall outside; keep those seeds where they are.
        inside = shapely.contains_xy(parent, centroids[:, 0], centroids[:, 1])
        moved = np.where(inside[:, None], centroids, seeds)
        # Voronoi needs distinct seeds.
        if len(np.unique(np.round(moved, 6), axis=0)) < n:
            break
        seeds = moved
    tiles = list(_cells(seeds, parent))
    centers = shapely.get_coordinates(shapely.point_on_surface(np.array(tiles)))
    # Rows of ~n**0.5 bands from north to south, west to east inside a band.
    bands = max(int(np.sqrt(n)), 1)
    miny, maxy = parent.bounds[1], parent.bounds[3]
    band = np.minimum(
        ((maxy - centers[:, 1]) / (maxy - miny + 1e-9) * bands).astype(int), bands - 1
    )
    order = np.lexsort((centers[:, 0], band))
    return [tiles[i] for i in order]
