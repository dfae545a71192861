"""The CRS of a delivered layer or coordinate columns: stated, named, measured or asked.

What a file states is believed when it is a choice someone made: a projected CRS (a
Shapefile's .prj in EPSG:4549) or CGCS2000 (EPSG:4490). WGS84 is not: GeoJSON always says
WGS84, and coordinates copied from an internet map — GCJ-02 (高德/AMap, 腾讯/Tencent) or
BD-09 (百度/Baidu), offset from WGS84 by some hundred metres in a way no file format
records — are saved as "WGS84" as often as not. So are lon/lat columns of a table, which
state nothing. For such coordinates, in order:

1. a file or folder name that says the map (高德, 腾讯, 火星, GCJ, 百度, BD-09) decides;
2. else, when the delivery has polygons whose CRS is believed (streets in EPSG:4549,
   divisions in EPSG:4490), the coordinates are read as WGS84, as GCJ-02 and as BD-09, and
   the reading that lies inside those polygons clearly best is taken
   (:func:`aligned_crs`): committees from the civil-affairs bureau in GCJ-02 fit the
   planning bureau's streets only once the offset is undone;
3. else degrees are written as WGS84 (the same as CGCS2000 to popbase) and marked for
   the user to check; projected coordinates whose file names no CRS are asked for.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Final

import numpy as np
import pyproj
import shapely

from popbase.guess.layers import LayerHead
from popbase.space.offsets import offset_geometries_to_wgs84

__all__ = [
    "CrsGuess",
    "Reference",
    "aligned_crs",
    "in_degrees",
    "layer_crs",
    "offset_hint",
    "projected_readings",
    "reference",
]

_OFFSET_HINTS: Final = (
    ("GCJ-02", re.compile(r"高德|腾讯|火星|gcj|amap|autonavi|tencent", re.IGNORECASE)),
    # "BD" alone only as a word of its own (BD坐标, points_bd), not inside one (bdry).
    ("BD-09", re.compile(r"百度|baidu|bd[-_]?09|(?<![a-z])bd(?![a-z])", re.IGNORECASE)),
)
WGS84: Final = "EPSG:4326"
_READINGS: Final = (WGS84, "GCJ-02", "BD-09")
# The reading taken lies inside the believed polygons for at least this share of the
# sample, and for this much more than any other reading (GCJ-02 moves a point ~500 m in
# eastern China: inside a district, only features near its edge change sides).
MIN_FIT: Final = 0.9
MIN_LEAD: Final = 0.01
_MAX_COMPARED: Final = 500
_UNSTATED: Final = (
    "WGS84 or CGCS2000, unless copied from an internet map (GCJ-02: 高德/腾讯, BD-09: 百度) "
    "— no name says so"
)


@dataclass(frozen=True)
class CrsGuess:
    """The ``crs:`` of a layer or of a source's lon/lat columns, and why.

    Attributes
    ----------
    value
        What to write (``None``: the file's own is right, or must be asked).
    evidence
        Why, in words.
    asked
        The user must give it (projected coordinates no file places): written ``"?"``.
    sure
        Whether the evidence is good; otherwise the line is marked to check.
    """

    value: str | None
    evidence: str
    asked: bool = False
    sure: bool = True


def offset_hint(text: str) -> tuple[str, str] | None:
    """``("GCJ-02", "高德")`` when a name says its coordinates come from an internet map.

    Examples
    --------
    >>> offset_hint("basemap/高德_楼栋.geojson"), offset_hint("bd09_points.csv")
    (('GCJ-02', '高德'), ('BD-09', 'bd09'))
    >>> offset_hint("BD坐标/楼栋.csv"), offset_hint("city_bdry.gpkg") is None
    (('BD-09', 'BD'), True)
    """
    for crs, pattern in _OFFSET_HINTS:
        found = pattern.search(text)
        if found:
            return crs, found.group(0)
    return None


def in_degrees(bounds: tuple[float, float, float, float] | None) -> bool:
    """Whether coordinates' bounds are lon/lat degrees."""
    if bounds is None:
        return False
    xmin, ymin, xmax, ymax = bounds
    return -180 <= xmin <= xmax <= 180 and -90 <= ymin <= ymax <= 90


def _is_wgs84(crs: pyproj.CRS) -> bool:
    """Whether a CRS is WGS84 lon/lat (EPSG:4326, OGC:CRS84, a .prj's GCS_WGS_1984).

    >>> _is_wgs84(pyproj.CRS("OGC:CRS84")), _is_wgs84(pyproj.CRS("EPSG:4490"))
    (True, False)
    """
    datum = (crs.datum.name if crs.datum else "").upper()
    return crs.is_geographic and ("WGS" in datum or "WORLD GEODETIC SYSTEM" in datum)


def layer_crs(head: LayerHead, hint: str) -> CrsGuess:
    """The CRS of a layer as the file and its name give it; see the module's description.

    Parameters
    ----------
    head
        What the file holds (its stated CRS and the bounds of its coordinates).
    hint
        Names that may say the coordinates' origin: the file's path in the delivery,
        and for a table its coordinate columns.

    Returns
    -------
    CrsGuess
        Not ``sure`` where only :func:`aligned_crs` or the user can tell.
    """
    offset = offset_hint(hint)
    degrees = in_degrees(head.bounds)
    if offset is not None and (degrees or head.bounds is None):
        return CrsGuess(offset[0], f"the name says {offset[1]}")
    if head.crs:
        try:
            crs = pyproj.CRS.from_user_input(head.crs)
        except pyproj.exceptions.CRSError:
            return CrsGuess(None, f"the file's CRS {head.crs!r} is unknown to PROJ", asked=True)
        if crs.is_geographic and not degrees and head.bounds is not None:
            evidence = f"the file says {head.crs}, but its coordinates are not degrees"
            return CrsGuess(None, evidence, asked=True)
        if _is_wgs84(crs):
            return CrsGuess(None, f"the file says WGS84 ({head.crs}): {_UNSTATED}", sure=False)
        return CrsGuess(None, f"the file's own: {head.crs} ({crs.name})")
    if degrees:
        return CrsGuess(WGS84, f"coordinates in degrees, no CRS named: {_UNSTATED}", sure=False)
    return CrsGuess(None, "projected coordinates; the file names no CRS", asked=True)


def _to_wgs84(shapes: Sequence[object], crs: str) -> np.ndarray:
    geoms = np.asarray(shapes, dtype=object)
    if crs in ("GCJ-02", "BD-09"):
        return offset_geometries_to_wgs84(geoms, crs)
    if pyproj.CRS.from_user_input(crs).is_geographic:
        return geoms  # WGS84 and CGCS2000 lon/lat differ by centimetres
    moved = pyproj.Transformer.from_crs(crs, WGS84, always_xy=True)
    return np.asarray(
        shapely.transform(geoms, lambda xy: np.column_stack(moved.transform(xy[:, 0], xy[:, 1]))),
        dtype=object,
    )


def _inside(shapes: np.ndarray, area: object) -> float:
    """The share of ``shapes`` inside ``area``: of points by count, of others by area."""
    if all(shapely.get_type_id(shapes) == 0):
        return float(np.mean(shapely.covers(area, shapes)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # invalid input rings
        valid = shapely.make_valid(shapes)
        total = float(np.sum(shapely.area(valid)))
        if total == 0:
            return float(np.mean(shapely.intersects(area, valid)))
        return float(np.sum(shapely.area(shapely.intersection(valid, area)))) / total


@dataclass(frozen=True)
class Reference:
    """Polygons of the delivery whose CRS is believed, in WGS84 degrees, and their file."""

    area: object
    name: str


def reference(polygons: Sequence[tuple[LayerHead, str]]) -> Reference | None:
    """The union of believed polygon layers (each given with the CRS to read it in)."""
    parts, names = [], []
    for head, crs in polygons:
        if head.shapes:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                parts.append(shapely.union_all(shapely.make_valid(_to_wgs84(head.shapes, crs))))
            names.append(head.path.name)
    if not parts:
        return None
    area = shapely.union_all(np.asarray(parts, dtype=object))
    shapely.prepare(area)
    shown = ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else names[0]
    return Reference(area, shown)


def projected_readings(lon: float, prefixed: bool) -> tuple[str, ...]:
    """The projected CRSs metres without a stated CRS may be in, near longitude ``lon``.

    CGCS2000 Gauss–Krüger 3-degree zones (the nearest three central meridians) and the
    6-degree zone, with the zone number before the easting or without it, and WGS84 UTM.

    >>> projected_readings(121.4, prefixed=False)
    ('EPSG:4549', 'EPSG:4548', 'EPSG:4550', 'EPSG:4510', 'EPSG:32651')
    """
    cm3 = min(max(round(lon / 3) * 3, 75), 135)
    zone6 = min(max(int(lon // 6) + 1, 13), 23)
    three = [cm for cm in (cm3, cm3 - 3, cm3 + 3) if 75 <= cm <= 135]
    if prefixed:
        codes = [4513 + (cm - 75) // 3 for cm in three] + [4491 + zone6 - 13]
    else:
        codes = [4534 + (cm - 75) // 3 for cm in three] + [4502 + zone6 - 13]
    utm = 32600 + int((lon + 180) // 6) + 1
    return (*(f"EPSG:{c}" for c in codes), *(() if prefixed else (f"EPSG:{utm}",)))


def _readings(shapes: Sequence[object], against: Reference) -> tuple[str, ...]:
    """Degrees: the internet-map offsets; metres: the zones near the believed polygons."""
    xmin, _, xmax, _ = shapely.total_bounds(np.asarray(shapes, dtype=object))
    if in_degrees((float(xmin), 0.0, float(xmax), 0.0)):
        return _READINGS
    # Eastings of 8 digits carry the zone's number before them (40512345.6).
    prefixed = xmin >= 1e7
    west, _, east, _ = shapely.bounds(against.area)
    return projected_readings((west + east) / 2, prefixed=prefixed)


def _label(crs: str) -> str:
    if crs == WGS84:
        return "WGS84"
    if crs.startswith("EPSG:"):
        return f"{crs} ({pyproj.CRS.from_user_input(crs).name})"
    return crs


def aligned_crs(
    shapes: Sequence[object], stated: CrsGuess, against: Reference | None
) -> CrsGuess | None:
    """The reading of coordinates that fits the believed polygons, if one clearly does.

    Degrees are read as WGS84, GCJ-02 and BD-09; metres whose file names no CRS in the
    projected CRSs of :func:`projected_readings`.

    Parameters
    ----------
    shapes
        The sampled geometries, as stored.
    stated
        What :func:`layer_crs` made of the file (its ``value`` is kept for WGS84).
    against
        The believed polygons, or None.

    Returns
    -------
    CrsGuess or None
        ``None`` when there is nothing to compare with; not ``sure`` when no reading
        fits clearly best (the fits are in its evidence).
    """
    if against is None or not shapes:
        return None
    sample = list(shapes)[:: max(1, len(shapes) // _MAX_COMPARED)]
    readings = _readings(sample, against)
    fits = {crs: _inside(_to_wgs84(sample, crs), against.area) for crs in readings}
    ranked = sorted(fits.items(), key=lambda kv: kv[1], reverse=True)
    (best, fit), (_, second) = ranked[0], ranked[1]
    if fit < MIN_FIT or fit - second < MIN_LEAD:
        shown = ", ".join(f"{fits[c]:.0%} as {_label(c)}" for c in readings)
        why = f"{against.name} cannot tell (inside them read {shown})"
        return replace(stated, evidence=f"{stated.evidence}; {why}")
    others = ", ".join(f"{fits[c]:.0%} as {c}" for c, _ in ranked[1:]).replace(WGS84, "WGS84")
    evidence = f"{fit:.0%} inside {against.name} read as {_label(best)} ({others})"
    if best == WGS84:
        return CrsGuess(stated.value, evidence)
    return CrsGuess(best, evidence)
