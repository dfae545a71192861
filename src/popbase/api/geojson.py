"""GeoJSON of units and buildings from the WKB geometry of a snapshot's tables.

Geometry is stored as WKB in EPSG:4490 (lon/lat), which GeoJSON readers take as is.
Decoding uses shapely, so DuckDB's spatial extension is never needed to serve a base.
Feature collections are assembled as JSON text: with thousands of buildings per request,
building dictionaries only to serialise them again would dominate the response time.
"""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import pyarrow as pa
import shapely

# Seven decimals of a degree are about a centimetre: finer digits only add bytes.
COORDINATE_DECIMALS = 7

BUILDING_PROPERTIES = ("building_id", "address", "use", "floors", "resident")
# shapely's type ids of Polygon and MultiPolygon.
POLYGONAL = (3, 6)


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
    """The units of one level, decoded once: GeoJSON geometry texts, properties, bounds.

    A caller gets the features of its jurisdiction (:meth:`text`), with the counts it
    may see; the collection's ``bbox`` is that of those features.
    """

    geometries: list[str]
    properties: list[dict[str, Any]]
    bounds: np.ndarray

    @property
    def count(self) -> int:
        """How many units the level has."""
        return len(self.properties)

    def text(self, scope: str = "", counts: dict[str, dict[str, Any]] | None = None) -> str:
        """The FeatureCollection of the units whose code begins with ``scope``.

        Parameters
        ----------
        scope
            A division-code prefix; ``""`` keeps every unit.
        counts
            Per unit code, counts that replace the unit's own (suppressed ones are
            None); ``density`` follows ``resident``.

        Returns
        -------
        str
            The collection as compact JSON, with the standard ``bbox`` member.
        """
        chosen = [i for i, p in enumerate(self.properties) if str(p["code"]).startswith(scope)]
        properties = [self.properties[i] for i in chosen]
        if counts is not None:
            properties = [_with_counts(p, counts.get(p["code"], {})) for p in properties]
        members: dict[str, object] = {}
        if chosen:
            b = self.bounds[chosen]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN: no geometry
                box = [*np.nanmin(b[:, :2], axis=0), *np.nanmax(b[:, 2:], axis=0)]
            if not np.isnan(box).any():
                members["bbox"] = [round(float(v), COORDINATE_DECIMALS) for v in box]
        return feature_collection_text([self.geometries[i] for i in chosen], properties, **members)


def _with_counts(props: dict[str, Any], counts: dict[str, Any]) -> dict[str, Any]:
    out = {**props, **{k: v for k, v in counts.items() if k in props}}
    out["density"] = density(out["resident"], out["area_km2"])
    return out


def label_points(geoms: np.ndarray) -> np.ndarray:
    """A point well inside each unit, where the map writes its name: ``(n, 2)`` lon/lat.

    The centre of the largest circle inside the unit (its pole of inaccessibility), found
    to 1 % of the unit's extent: a centroid may fall outside a bent or hollow unit, and a
    label at a unit's edge reads as its neighbour's. A geometry that is not a valid
    polygon gets a point on its surface, so that one odd unit never fails a layer; NaN
    where a unit has no geometry.

    Examples
    --------
    >>> l_shape = shapely.Polygon([(0, 0), (10, 0), (10, 2), (2, 2), (2, 10), (0, 10)])
    >>> x, y = label_points(np.array([l_shape, None]))[0]
    >>> bool(l_shape.contains(shapely.Point(x, y))), bool(shapely.centroid(l_shape).within(l_shape))
    (True, False)
    """
    out = np.full((len(geoms), 2), np.nan)
    present = ~shapely.is_missing(geoms)
    present[present] = ~shapely.is_empty(geoms[present])
    # The inscribed circle needs a valid polygon; anything else gets a point on its surface.
    polygonal = present.copy()
    polygonal[present] = np.isin(shapely.get_type_id(geoms[present]), POLYGONAL)
    polygonal[polygonal] = shapely.is_valid(geoms[polygonal])
    other = present & ~polygonal
    if polygonal.any():
        shapes = geoms[polygonal]
        b = shapely.bounds(shapes)
        extent = np.maximum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1])
        radius = shapely.maximum_inscribed_circle(shapes, extent / 100)
        out[polygonal] = shapely.get_coordinates(shapely.get_point(radius, 0))
    if other.any():
        out[other] = shapely.get_coordinates(shapely.point_on_surface(geoms[other]))
    return out


def unit_layer(rows: list[dict[str, Any]]) -> UnitLayer:
    """Decode ``units`` rows (with their ``geometry`` WKB) into a :class:`UnitLayer`.

    Each unit's properties also carry ``label_lon``/``label_lat`` (:func:`label_points`).
    """
    wkb = np.array([r["geometry"] for r in rows], dtype=object)
    geometries = _geometry_texts(wkb) if len(rows) else []
    geoms = shapely.from_wkb(wkb)
    bounds = shapely.bounds(geoms).reshape(-1, 4)
    labels = np.round(label_points(np.atleast_1d(geoms)), COORDINATE_DECIMALS).tolist()
    properties = [
        unit_properties(r) | _label(lon, lat) for r, (lon, lat) in zip(rows, labels, strict=True)
    ]
    return UnitLayer(geometries, properties, bounds)


def _label(lon: float, lat: float) -> dict[str, float | None]:
    if math.isnan(lon) or math.isnan(lat):
        return {"label_lon": None, "label_lat": None}
    return {"label_lon": lon, "label_lat": lat}


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
    division_codes
        Each building's unit (grid or committee code), for jurisdictions.
    community_codes
        Each building's committee: the siblings of disclosure control.
    """

    def __init__(
        self,
        wkb: np.ndarray,
        properties: dict[str, list[Any]],
        division_codes: list[str],
        community_codes: list[str],
    ) -> None:
        self.wkb = wkb
        self.properties = properties
        self.community_codes = community_codes
        self.bounds = shapely.bounds(shapely.from_wkb(wkb)).reshape(-1, 4)
        self.division_codes = np.array(division_codes, dtype=str)
        self._in_scope: dict[str, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.wkb)

    def in_scope(self, scope: str) -> np.ndarray:
        """Which buildings lie in units whose code begins with ``scope`` (cached)."""
        mask = self._in_scope.get(scope)
        if mask is None:
            mask = (
                np.char.startswith(self.division_codes, scope)
                if scope
                else (np.ones(len(self.wkb), dtype=bool))
            )
            self._in_scope[scope] = mask
        return mask

    def select(
        self,
        bbox: tuple[float, float, float, float],
        limit: int,
        scope: str = "",
        residents: list[int | None] | None = None,
    ) -> BuildingSelection:
        """Find buildings of ``scope`` whose bounds intersect ``bbox``.

        Parameters
        ----------
        bbox
            minlon, minlat, maxlon, maxlat in degrees.
        limit
            At most this many are returned, in table order; the collection says whether
            it was cut short (``truncated``) and how many matched.
        scope
            A division-code prefix: only buildings in units beginning with it.
        residents
            Resident counts to show instead of the buildings' own (None: suppressed).
        """
        minx, miny, maxx, maxy = bbox
        b = self.bounds
        with np.errstate(invalid="ignore"):  # missing geometry has NaN bounds: no match
            hit = (b[:, 0] <= maxx) & (b[:, 2] >= minx) & (b[:, 1] <= maxy) & (b[:, 3] >= miny)
        found = np.flatnonzero(hit & self.in_scope(scope))
        chosen = found[:limit]
        geometries = _geometry_texts(self.wkb[chosen]) if len(chosen) else []
        shown = dict(self.properties)
        if residents is not None:
            shown["resident"] = residents
        rows = [{k: shown[k][i] for k in BUILDING_PROPERTIES} for i in chosen.tolist()]
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
    codes = [c or "" for c in table.column("division_code").to_pylist()]
    communities = [c or "" for c in table.column("community_code").to_pylist()]
    return BuildingIndex(wkb, properties, codes, communities)


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
