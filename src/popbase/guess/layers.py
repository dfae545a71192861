"""Basemap layers among the delivered files: what each is, its fields and its CRS.

A map file (GeoJSON, GeoPackage, Shapefile, GeoParquet) or a table of points or WKT is
placed by its geometry and fields: polygons coded with statistical division codes are
divisions (12 digits committees, 9 streets, 6 districts), polygons with longer codes that
extend a committee's are micro-grids, polygons or points with a door-plate address,
floors or a use are buildings, points with a name and a type are facilities, lines with
names are roads. Each layer's fields are mapped like a source's columns
(:func:`popbase.guess.columns.map_columns`).

The CRS is the file's own, unless the file or folder name says the coordinates come from
an internet map (高德/腾讯/GCJ → GCJ-02, 百度/BD-09 → BD-09), which no file format records.
Without one, coordinates in degrees are taken as EPSG:4326; projected ones are left for
the user to name.
"""

from __future__ import annotations

import json
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import numpy as np
import pyarrow.parquet as pq
import pyogrio
import pyproj
import shapely

from popbase.guess.columns import match_header
from popbase.guess.layout import SAMPLE_ROWS, TableHead
from popbase.guess.values import profile
from popbase.guess.vocabulary import SOURCE_VOCAB
from popbase.io.sheets import float_text

__all__ = ["LayerHead", "layer_from_table", "points_of", "read_layer_heads"]

_WKT: Final = re.compile(r"\s*(MULTI)?(POINT|LINESTRING|POLYGON)\b", re.IGNORECASE)
_WKT_NAMES: Final = ("wkt", "geometry", "geom", "shape", "图形", "几何", "空间信息", "坐标串")
NUMERIC_SHARE: Final = 0.9


@dataclass(frozen=True)
class LayerHead:
    """What a map file (one layer of it) holds, before it is placed.

    Attributes
    ----------
    path
        The file.
    layer
        The layer's name, when the file holds several.
    geometry
        ``polygon``, ``point``, ``line``, ``mixed`` or ``none``.
    crs
        The CRS the file states (``None`` when it states none).
    bounds
        ``(xmin, ymin, xmax, ymax)`` of the coordinates as stored.
    count
        Features in the layer.
    samples
        The first values of each attribute field, as text.
    geometry_fields
        For a table: the ``wkt``, or ``lon`` and ``lat`` columns holding the geometry.
    shapes
        The sampled features' geometries as stored (shapely; empty ones left out), to
        compare layers whose CRS is in doubt with those whose CRS is known.
    """

    path: Path
    layer: str | None
    geometry: str
    crs: str | None
    bounds: tuple[float, float, float, float] | None
    count: int
    samples: dict[str, list[str]]
    geometry_fields: dict[str, str] = field(default_factory=dict)
    shapes: tuple[object, ...] = field(default=(), repr=False)


def _kind(name: str) -> str:
    name = name.lower().removeprefix("multi").removesuffix(" z").removesuffix("z")
    if name.startswith(("polygon", "surface")):
        return "polygon"
    if name.startswith("point"):
        return "point"
    if name.startswith(("linestring", "line", "curve")):
        return "line"
    return "mixed" if name else "none"


def _texts(values: object) -> list[str]:
    out = []
    for v in np.asarray(values, dtype=object).tolist():
        if v is None or (isinstance(v, float) and v != v):
            out.append("")
        elif isinstance(v, float):
            out.append(float_text(v))
        elif isinstance(v, bytes):
            out.append("")
        else:
            out.append(str(v).strip())
    return out


def _sampled(wkb: object) -> tuple[str, tuple[object, ...]]:
    """The geometry kind of sampled features, and their geometries.

    GeoJSON declares no geometry type: polygons mixed with multipolygons read "Unknown".
    """
    if wkb is None:
        return "none", ()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an invalid ring: the build repairs it
        shapes = [s for s in shapely.from_wkb(np.asarray(wkb, dtype=object), on_invalid="ignore")
                  if s is not None and not s.is_empty]  # fmt: skip
    kinds = {_kind(str(s.geom_type)) for s in shapes}
    kind = kinds.pop() if len(kinds) == 1 else "mixed" if kinds else "none"
    return kind, tuple(shapes)


def _gdal_heads(path: Path) -> list[LayerHead]:
    heads = []
    listed = pyogrio.list_layers(path)
    for name, _ in listed:
        layer = str(name) if len(listed) > 1 else None
        with warnings.catch_warnings():
            # GDAL warns of unclosed rings and the like; the build repairs and reports them.
            warnings.simplefilter("ignore", RuntimeWarning)
            info = pyogrio.read_info(path, layer=layer, force_total_bounds=True)
            meta, _, wkb, data = pyogrio.raw.read(path, layer=layer, max_features=SAMPLE_ROWS)
        fields = [str(f) for f in meta["fields"]]
        bounds = info.get("total_bounds")
        kind, shapes = _sampled(wkb)
        heads.append(
            LayerHead(
                path,
                layer,
                kind,
                info.get("crs"),
                tuple(float(b) for b in bounds) if bounds is not None else None,  # type: ignore[arg-type]
                int(info.get("features") or 0),
                {f: _texts(d) for f, d in zip(fields, data, strict=True)},
                shapes=shapes,
            )
        )
    return heads


def _geoparquet_head(path: Path, geo: dict[str, object]) -> LayerHead:
    column = str(geo["primary_column"])
    info = geo["columns"][column]  # type: ignore[index]
    file = pq.ParquetFile(path)
    batch = next(file.iter_batches(batch_size=SAMPLE_ROWS), None)
    samples: dict[str, list[str]] = {}
    geometry = "none"
    bounds: tuple[float, float, float, float] | None = None
    shapes: tuple[object, ...] = ()
    if batch is not None:
        for name, values in zip(batch.schema.names, batch.columns, strict=True):
            if name != column:
                samples[name] = _texts(values.to_pylist())
        geometry, shapes = _sampled(batch.column(column).to_pylist())
        if shapes:
            xmin, ymin, xmax, ymax = (float(b) for b in shapely.total_bounds(np.array(shapes)))
            bounds = (xmin, ymin, xmax, ymax)
    crs = info.get("crs", "OGC:CRS84")  # GeoParquet's default when the key is absent
    crs_text = None if crs is None else pyproj.CRS.from_user_input(crs).to_string()
    return LayerHead(
        path, None, geometry, crs_text, bounds, file.metadata.num_rows, samples, shapes=shapes
    )


def read_layer_heads(path: Path) -> list[LayerHead]:
    """Read what a map file holds: each layer's geometry, CRS, bounds and first values.

    Parameters
    ----------
    path
        A file GDAL reads (GeoJSON, GeoPackage, Shapefile or a .zip of one) or GeoParquet.

    Returns
    -------
    list of LayerHead
        One per layer.
    """
    if path.suffix.lower() == ".parquet":
        meta = pq.read_schema(path).metadata or {}
        return [_geoparquet_head(path, json.loads(meta[b"geo"]))] if b"geo" in meta else []
    return _gdal_heads(path)


def layer_from_table(head: TableHead) -> LayerHead | None:
    """A table whose rows carry geometry (WKT, or lon/lat columns) as a layer, else None."""
    for column, values in head.samples.items():
        texts = [v for v in values if v]
        if column.lower() in _WKT_NAMES or (texts and _WKT.match(texts[0])):
            kinds = {_kind(m.group(2)) for v in texts if (m := _WKT.match(v))}
            if kinds:
                geometry = kinds.pop() if len(kinds) == 1 else "mixed"
                shapes = _wkt_shapes(texts)
                bounds = None
                if shapes:
                    xmin, ymin, xmax, ymax = shapely.total_bounds(np.array(shapes))
                    bounds = (float(xmin), float(ymin), float(xmax), float(ymax))
                return LayerHead(
                    head.path, None, geometry, None, bounds, head.rows_seen,
                    {c: v for c, v in head.samples.items() if c != column},
                    {"wkt": column}, shapes,
                )  # fmt: skip
    found: dict[str, str] = {}
    for axis in ("lon", "lat"):
        vocab = SOURCE_VOCAB["person"][axis]
        for column, values in head.samples.items():
            # Named as a coordinate and numeric: degrees, or projected metres (then the
            # CRS is asked for).
            named = column not in found.values() and match_header(column, vocab)[0] > 0
            if named and profile(values).share("number") >= NUMERIC_SHARE:
                found[axis] = column
                break
    if len(found) < 2:
        return None
    if _northing_first(head.samples[found["lon"]], head.samples[found["lat"]]):
        found = {"lon": found["lat"], "lat": found["lon"]}
    shapes = points_of(head.samples[found["lon"]], head.samples[found["lat"]])
    bounds = None
    if shapes:
        xmin, ymin, xmax, ymax = shapely.total_bounds(np.array(shapes))
        bounds = (float(xmin), float(ymin), float(xmax), float(ymax))
    rest = {c: v for c, v in head.samples.items() if c not in found.values()}
    return LayerHead(head.path, None, "point", None, bounds, head.rows_seen, rest, found, shapes)


def _northing_first(xs: list[str], ys: list[str]) -> bool:
    """Whether projected X/Y columns follow the surveyors' order, X north and Y east.

    Chinese survey tables write X for the northing and Y for the easting, GIS the
    reverse; the values tell: a northing in China is 2,000–6,000 km, an easting within
    a Gauss–Krüger zone 500 km ± 300 (or prefixed with the zone's number, ≥ 13,000 km).

    >>> _northing_first(["3456789.1"], ["512345.6"]), _northing_first(["512345.6"], ["3456789.1"])
    (True, False)
    """
    x = [v for v in map(_number, xs) if v is not None]
    y = [v for v in map(_number, ys) if v is not None]
    if not x or not y:
        return False
    mx, my = float(np.median(x)), float(np.median(y))

    def northing(v: float) -> bool:
        return 1.5e6 <= v <= 6.5e6

    def easting(v: float) -> bool:
        return 1.5e5 <= v <= 8.5e5 or 1.3e7 <= v <= 4.6e7

    return northing(mx) and easting(my)


def points_of(xs: list[str], ys: list[str]) -> tuple[object, ...]:
    """The points of a table's coordinate columns, where both read as numbers."""
    pairs = [(_number(x), _number(y)) for x, y in zip(xs, ys, strict=True)]
    kept = [(x, y) for x, y in pairs if x is not None and y is not None]
    if not kept:
        return ()
    return tuple(shapely.points(np.array(kept, dtype=float)))


def _wkt_shapes(texts: list[str]) -> tuple[object, ...]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        shapes = shapely.from_wkt(np.array(texts, dtype=object), on_invalid="ignore")
    return tuple(s for s in shapes if s is not None and not s.is_empty)


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if np.isfinite(value) else None
