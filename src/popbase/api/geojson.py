"""GeoJSON of units and buildings from the WKB geometry of a snapshot's tables.

Geometry is stored as WKB in EPSG:4490 (lon/lat), which GeoJSON readers take as is.
Decoding uses shapely, so DuckDB's spatial extension is never needed to serve a base.
Feature collections are assembled as JSON text: with thousands of buildings per request,
building dictionaries only to serialise them again would dominate the response time.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import pyarrow as pa
import shapely

# Seven decimals of a degree are about a centimetre: finer digits only add bytes.
COORDINATE_DECIMALS = 7

BUILDING_PROPERTIES = ("building_id", "address", "use", "floors", "resident")


def _plain(value: object) -> object:
    """Turn DuckDB's decimals into JSON numbers."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"cannot write a {type(value).__name__} as JSON")


def _dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_plain)


def _geometry_texts(wkb: np.ndarray) -> list[str]:
    """GeoJSON geometry texts of WKB values, with rounded coordinates (``null`` if absent)."""
    geoms = shapely.from_wkb(wkb)
    geoms = shapely.transform(geoms, lambda xy: np.round(xy, COORDINATE_DECIMALS))
    texts = shapely.to_geojson(geoms)
    return [t if t is not None else "null" for t in np.atleast_1d(texts).tolist()]


def feature_collection_text(
    geometries: list[str], properties: list[dict[str, Any]], **members: object
) -> str:
    """Assemble a FeatureCollection as JSON text.

    Parameters
    ----------
    geometries
        GeoJSON geometry texts, one per feature.
    properties
        The features' properties, in the same order.
    **members
        Extra top-level members (such as ``bbox``), written before ``features``.

    Returns
    -------
    str
        The collection as compact JSON.
    """
    features = ",".join(
        f'{{"type":"Feature","geometry":{g},"properties":{_dumps(p)}}}'
        for g, p in zip(geometries, properties, strict=True)
    )
    head = "".join(f'"{k}":{_dumps(v)},' for k, v in members.items())
    return f'{{"type":"FeatureCollection",{head}"features":[{features}]}}'


def density(resident: float | int | Decimal | None, area_km2: float | Decimal | None) -> int | None:
    """Residents per square kilometre, rounded; ``None`` without a positive area."""
    if resident is None or area_km2 is None or float(area_km2) <= 0:
        return None
    return round(float(resident) / float(area_km2))


def unit_properties(row: dict[str, Any]) -> dict[str, Any]:
    """Return the served properties of a ``units`` row (its columns plus ``density``)."""
    return {
        "code": row["code"],
        "name": row["name"],
        "level": row["level"],
        "parent_code": row["parent_code"],
        "resident": _plain_number(row["resident"]),
        "households": _plain_number(row["households"]),
        "area_km2": _plain_number(row["area_km2"]),
        "density": density(row["resident"], row["area_km2"]),
    }


def _plain_number(value: object) -> object:
    return _plain(value) if isinstance(value, Decimal) else value


@dataclass(frozen=True)
class UnitLayer:
    """The units of one level as a ready-to-send FeatureCollection."""

    text: str
    count: int


def unit_layer(rows: list[dict[str, Any]]) -> UnitLayer:
    """Build the FeatureCollection of ``units`` rows (with their ``geometry`` WKB).

    The collection carries the standard GeoJSON ``bbox`` member so that a map can fit
    its view without walking every coordinate.
    """
    wkb = np.array([r["geometry"] for r in rows], dtype=object)
    geometries = _geometry_texts(wkb) if len(rows) else []
    members: dict[str, object] = {}
    if len(rows):
        bounds = shapely.total_bounds(shapely.from_wkb(wkb))
        if not np.isnan(bounds).any():
            members["bbox"] = [round(float(b), COORDINATE_DECIMALS) for b in bounds]
    text = feature_collection_text(geometries, [unit_properties(r) for r in rows], **members)
    return UnitLayer(text=text, count=len(rows))


@dataclass(frozen=True)
class BuildingSelection:
    """Buildings found in a bounding box: the GeoJSON text and how many matched."""

    text: str
    matched: int
    returned: int


class BuildingIndex:
    """Buildings' bounds and properties in memory, for fast bounding-box queries.

    Bounds are decoded once per snapshot into a NumPy array; a query is one vectorised
    comparison, and only the selected buildings' WKB is decoded again.

    Parameters
    ----------
    wkb
        The buildings' WKB geometry (object array; ``None`` where missing).
    properties
        Columns named as in :data:`BUILDING_PROPERTIES`, as Python lists.
    """

    def __init__(self, wkb: np.ndarray, properties: dict[str, list[Any]]) -> None:
        self.wkb = wkb
        self.properties = properties
        self.bounds = shapely.bounds(shapely.from_wkb(wkb)).reshape(-1, 4)

    def __len__(self) -> int:
        return len(self.wkb)

    def select(self, bbox: tuple[float, float, float, float], limit: int) -> BuildingSelection:
        """Find buildings whose bounds intersect ``bbox`` (minlon, minlat, maxlon, maxlat).

        At most ``limit`` are returned, in table order; the collection says whether it
        was cut short (``truncated``) and how many matched.
        """
        minx, miny, maxx, maxy = bbox
        b = self.bounds
        with np.errstate(invalid="ignore"):  # missing geometry has NaN bounds: no match
            hit = (b[:, 0] <= maxx) & (b[:, 2] >= minx) & (b[:, 1] <= maxy) & (b[:, 3] >= miny)
        found = np.flatnonzero(hit)
        chosen = found[:limit]
        geometries = _geometry_texts(self.wkb[chosen]) if len(chosen) else []
        rows = [{k: self.properties[k][i] for k in BUILDING_PROPERTIES} for i in chosen.tolist()]
        text = feature_collection_text(
            geometries, rows, matched=len(found), truncated=bool(len(found) > limit)
        )
        return BuildingSelection(text=text, matched=len(found), returned=len(chosen))


def building_index_from_rows(table: pa.Table) -> BuildingIndex:
    """Build a :class:`BuildingIndex` from an Arrow table of ``buildings``."""
    wkb = np.array(table.column("geometry").to_pylist(), dtype=object)
    properties = {
        k: [_plain_number(v) for v in table.column(k).to_pylist()] for k in BUILDING_PROPERTIES
    }
    return BuildingIndex(wkb, properties)


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    """Read a ``minlon,minlat,maxlon,maxlat`` bounding box in degrees.

    Raises
    ------
    ValueError
        With a message naming the value seen and the form expected.
    """
    expected = "expected minlon,minlat,maxlon,maxlat in degrees, e.g. 121.3,31.0,121.5,31.2"
    parts = text.split(",")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise ValueError(f"bbox was {text!r}, {expected}") from None
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise ValueError(f"bbox was {text!r}, {expected}")
    minx, miny, maxx, maxy = values
    if not (
        -180 <= minx <= 180 and -180 <= maxx <= 180 and -90 <= miny <= 90 and -90 <= maxy <= 90
    ):
        raise ValueError(
            f"bbox was {text!r}: longitudes must lie in -180..180 and latitudes in -90..90"
        )
    if minx > maxx or miny > maxy:
        raise ValueError(f"bbox was {text!r}: the minimum must not exceed the maximum; {expected}")
    return minx, miny, maxx, maxy
