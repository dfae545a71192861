"""Coordinate reference systems used by popbase.

Geometry is stored and served in EPSG:4490 (CGCS2000 geographic, within centimetres of
WGS84); area and distance work happens in a projected CGCS2000 Gauss–Krüger zone.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pyproj
import shapely
from shapely.geometry.base import BaseGeometry

GEOGRAPHIC = "EPSG:4490"
# CGCS2000 / 3-degree Gauss-Kruger CM 120E (covers Shanghai); other cities pick their zone
# with :func:`projected_crs_for`.
SHANGHAI_PROJECTED = "EPSG:4549"


@cache
def transformer(src: str, dst: str) -> pyproj.Transformer:
    """Return a cached always-x/y (lon/lat order) transformer from ``src`` to ``dst``."""
    return pyproj.Transformer.from_crs(src, dst, always_xy=True)


def projected_crs_for(lon: float) -> str:
    """Return the CGCS2000 3-degree Gauss–Krüger CRS (central meridian) covering ``lon``.

    EPSG:4534 is CM 75E; the codes run in 3-degree steps to EPSG:4554 (CM 135E).

    Examples
    --------
    >>> projected_crs_for(121.4)
    'EPSG:4549'
    """
    cm = round(lon / 3.0) * 3
    cm = min(max(cm, 75), 135)
    return f"EPSG:{4534 + (cm - 75) // 3}"


def transform_geometries(
    geoms: np.ndarray | BaseGeometry, src: str, dst: str
) -> np.ndarray | BaseGeometry:
    """Transform one shapely geometry or an array of them from ``src`` to ``dst``."""
    t = transformer(src, dst)

    def _xy(coords: np.ndarray) -> np.ndarray:
        x, y = t.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geoms, _xy)
