"""Coordinate reference systems used by popbase.

Geometry is stored and served in EPSG:4490 (CGCS2000 geographic); area and distance work
happens in a projected CGCS2000 Gauss–Krüger zone. Layers may come in any CRS pyproj knows
(EPSG:4326, EPSG:4490, EPSG:4549 ...) or in the internet-map offsets ``GCJ-02`` and
``BD-09`` (see :mod:`popbase.space.offsets`), which are converted to WGS84 first.

WGS84 and CGCS2000 coordinates of one point differ by a few centimetres (the two frames
agree to that level, and no published transformation between them is better than it), so
geographic WGS84 coordinates are taken as CGCS2000 unchanged: PROJ itself only offers a
"ballpark" (identity) transformation between EPSG:4326 and EPSG:4490.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import numpy.typing as npt
import pyproj
import shapely
from shapely.geometry.base import BaseGeometry

from popbase.space.offsets import offset_crs_name, offset_geometries_to_wgs84

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


# Datums whose geographic coordinates are stored as CGCS2000 without change.
_SAME_AS_CGCS2000 = ("WGS 84", "CGCS2000")


@cache
def is_geographic(crs: str) -> bool:
    """Whether ``crs`` has longitude/latitude coordinates (offsets included)."""
    return offset_crs_name(crs) is not None or pyproj.CRS.from_user_input(crs).is_geographic


@cache
def _stored_unchanged(crs: str) -> bool:
    c = pyproj.CRS.from_user_input(crs)
    return bool(
        c.is_geographic and c.ellipsoid is not None and c.ellipsoid.name in _SAME_AS_CGCS2000
    )


def to_geographic(geoms: npt.NDArray[np.object_], crs: str) -> npt.NDArray[np.object_]:
    """Bring geometries in ``crs`` to EPSG:4490 (CGCS2000 lon/lat).

    Parameters
    ----------
    geoms
        Shapely geometries (missing ones stay missing).
    crs
        Anything pyproj reads (``EPSG:4549``, WKT, PROJJSON text) or ``GCJ-02``/``BD-09``.

    Returns
    -------
    numpy.ndarray
        The geometries in EPSG:4490. GCJ-02/BD-09 go through WGS84; WGS84 and CGCS2000
        lon/lat are kept as they are (they differ by centimetres); anything else goes
        through pyproj.
    """
    if offset_crs_name(crs) is not None:
        return offset_geometries_to_wgs84(geoms, crs)
    if _stored_unchanged(crs):
        return geoms
    return np.asarray(transform_geometries(geoms, crs, GEOGRAPHIC), dtype=object)
