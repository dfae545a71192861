"""Read any basemap layer a city has into canonical fields, in EPSG:4490.

A layer is a file named under ``space:`` in ``popbase.yaml``:

- GeoJSON, GeoPackage, Shapefile (``.shp``, a ``.zip`` holding one, or a folder of them)
  and anything else GDAL reads; name the layer with ``layer:`` when the file holds several;
- GeoParquet (WKB geometry; a Parquet file without geometry is read as a table);
- CSV/TSV and XLSX tables, any encoding, with the geometry as WKT in a ``wkt`` column or as
  points in ``lon``/``lat`` columns (names mapped under ``fields:`` like any other).

``fields:`` maps canonical names (left) to the file's field names (right); the canonical
names each layer takes are in :data:`~popbase.config.LAYER_FIELDS`. ``crs:`` gives the CRS of the
coordinates and wins over what the file says (a GeoJSON file always claims WGS84): any
CRS pyproj reads, or ``GCJ-02``/``BD-09`` for coordinates taken from AMap/Tencent or Baidu
maps. Tables without ``crs:`` are taken as EPSG:4490.

Every feature read ends either loaded (perhaps repaired) or set aside with a reason; see
:mod:`popbase.space.repair`. A file that cannot be read at all raises
:class:`~popbase.errors.SourceFileError` naming the file and the fix.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pyogrio
import pyproj
import shapely

from popbase.config import GEOMETRY_FIELDS, LAYER_FIELDS, LayerConfig, Project
from popbase.errors import PopbaseError, SourceFileError
from popbase.io.tables import read_table
from popbase.space.crs import GEOGRAPHIC, is_geographic, to_geographic
from popbase.space.offsets import offset_crs_name
from popbase.space.repair import (
    FeatureLedger,
    GeometryKind,
    check_coordinates,
    parse_wkb,
    parse_wkt,
    repair_geometries,
)

__all__ = ["LAYER_FIELDS", "Layer", "layer_from_file", "read_layer"]

REQUIRED_FIELDS: Final = {
    "divisions": ("code", "name"),
    "grids": ("code",),
    "buildings": ("id",),
    "facilities": ("id",),
    "rooms": ("building", "room_no"),
    "roads": ("name",),
}
KEY_FIELD: Final = {"divisions": "code", "grids": "code", "buildings": "id", "facilities": "id"}
GEOMETRY: Final[dict[str, GeometryKind | None]] = {
    "divisions": "polygon",
    "grids": "polygon",
    "buildings": "polygon_or_point",
    "facilities": "any",
    "rooms": None,
    "roads": None,
}
TABLE_SUFFIXES: Final = (".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".xls")
QUARANTINE_COLUMNS: Final = ["layer", "feature", "reason", "detail"]
# Reasons that note something about a feature that is still loaded; every other reason
# sets the feature aside.
LOADED_REASONS: Final = frozenset({"geometry_repaired", "division_parent_conflict"})


@dataclass(frozen=True)
class Layer:
    """One basemap layer as read.

    Attributes
    ----------
    name
        ``divisions``, ``grids``, ``buildings``, ``facilities`` or ``rooms``.
    path
        The file read.
    features
        The loaded features: canonical fields, ``feature`` (the key or position used in
        reports) and ``geometry`` in EPSG:4490 (None for a layer without geometry).
    quarantine
        ``layer, feature, reason, detail`` for every repaired (``geometry_repaired``, still
        loaded) or set-aside feature.
    read
        Features (or table rows) in the file: loaded + set aside.
    """

    name: str
    path: Path
    features: gpd.GeoDataFrame
    quarantine: pd.DataFrame
    read: int

    @property
    def set_aside(self) -> int:
        """Features not loaded."""
        return int((~self.quarantine["reason"].isin(LOADED_REASONS)).sum())

    @property
    def repaired(self) -> int:
        """Features loaded after a repair, or with a note (:data:`LOADED_REASONS`)."""
        return int(self.quarantine["reason"].isin(LOADED_REASONS).sum())


@dataclass
class _Source:
    """What a file holds, before fields are mapped and geometry checked."""

    table: pd.DataFrame
    labels: list[str]  # how a report names each feature when it has no key
    ledger: FeatureLedger | None  # None: the file has no geometry
    crs: str | None
    clockwise_convention: bool = False
    malformed: pd.DataFrame | None = None


def read_layer(project: Project, name: str, layer: LayerConfig) -> Layer:
    """Read the layer ``name`` of ``project`` (see :func:`layer_from_file`)."""
    return layer_from_file(project.path(layer.path), name, layer)


def layer_from_file(path: Path, name: str, layer: LayerConfig) -> Layer:
    """Read one basemap layer: canonical fields, geometry repaired and in EPSG:4490.

    Parameters
    ----------
    path
        The file (or Shapefile folder).
    name
        Layer name, a key of :data:`~popbase.config.LAYER_FIELDS`, or such a key and the
        layer's place in a list of layers (``divisions.1``: the second divisions layer).
    layer
        Its configuration (``fields``, ``crs``, ``layer``).

    Returns
    -------
    Layer
        Loaded features and the quarantine of repaired and set-aside ones.

    Raises
    ------
    SourceFileError
        The file is missing or unreadable, lacks a mapped field, or has no CRS.
    """
    kind_of_layer = _kind(name)
    fields = {k: v for k, v in LAYER_FIELDS[kind_of_layer].items() if v} | {
        k: v for k, v in layer.fields.items() if k not in ("wkt", "lon", "lat")
    }
    source = _read_source(path, name, layer)
    columns = list(source.table.columns)
    missing = [
        f"{canon} → {col!r}"
        for canon, col in fields.items()
        if col not in columns and (canon in layer.fields or canon in REQUIRED_FIELDS[kind_of_layer])
    ]
    if missing:
        raise SourceFileError(
            path,
            f"the {name} layer has no field for {', '.join(missing)}; its fields are {columns}",
            f"map the right field names under space.{name}.fields in popbase.yaml",
        )
    table = pd.DataFrame(
        {canon: _text(source.table[col]) for canon, col in fields.items() if col in columns}
    )
    key = KEY_FIELD.get(kind_of_layer)
    labels = np.asarray(source.labels, dtype=object)
    if key is not None:
        keys = table[key].to_numpy(dtype=object)
        labels = np.where(pd.isna(keys), labels, keys)
    table.insert(0, "feature", labels)
    kind = GEOMETRY[kind_of_layer]
    ledger = source.ledger
    if kind is not None and ledger is None:
        raise SourceFileError(
            path,
            f"the {name} layer has no geometry",
            f"give the file a geometry, or map `wkt` or `lon`/`lat` under space.{name}.fields",
        )
    if ledger is None or kind is None:
        geometry = np.full(len(table), None, dtype=object)
        outcomes = pd.DataFrame(columns=["position", "reason", "detail"])
        kept = np.ones(len(table), dtype=bool)
    else:
        crs = _effective_crs(path, name, layer, source.crs)
        check_coordinates(ledger, geographic=is_geographic(crs))
        kept = ledger.kept
        ledger.geometry[kept] = to_geographic(ledger.geometry[kept], crs)
        # A transform may still fail (a point far outside a projected zone's domain).
        check_coordinates(ledger, geographic=True)
        repair_geometries(ledger, kind, report_winding=not source.clockwise_convention)
        kept = ledger.kept
        geometry = ledger.geometry
        outcomes = ledger.outcomes()
    quarantine = pd.DataFrame(
        {
            "layer": name,
            "feature": labels[outcomes["position"].to_numpy(dtype=int)],
            "reason": outcomes["reason"].to_numpy(),
            "detail": outcomes["detail"].to_numpy(),
        },
        columns=QUARANTINE_COLUMNS,
    )
    if source.malformed is not None:
        quarantine = pd.concat([source.malformed, quarantine], ignore_index=True)
    features = gpd.GeoDataFrame(
        table[kept].reset_index(drop=True), geometry=list(geometry[kept]), crs=GEOGRAPHIC
    )
    read = len(table) + (0 if source.malformed is None else len(source.malformed))
    return Layer(name, path, features, quarantine, read)


def _kind(name: str) -> str:
    """The kind of layer ``name`` is (``divisions`` for ``divisions.1``)."""
    return name.split(".", 1)[0]


def _effective_crs(path: Path, name: str, layer: LayerConfig, declared: str | None) -> str:
    crs = layer.crs or declared
    if crs is None:
        raise SourceFileError(
            path,
            f"the {name} layer does not say its CRS",
            f"set `crs:` (e.g. EPSG:4490, EPSG:4549, GCJ-02) under space.{name} in popbase.yaml",
        )
    if offset_crs_name(crs) is None:
        try:
            pyproj.CRS.from_user_input(crs)
        except pyproj.exceptions.CRSError as exc:
            raise SourceFileError(
                path,
                f"the CRS {crs!r} of the {name} layer is unknown ({exc})",
                f"set `crs:` under space.{name} to an EPSG code (EPSG:4490), GCJ-02 or BD-09",
            ) from exc
    return crs


def _text(column: pd.Series) -> pd.Series:
    """Field values as stripped text, missing as None.

    Whole floats (codes GDAL read as numbers) lose their trailing ``.0``.
    """
    if pd.api.types.is_float_dtype(column):
        values = column.to_numpy(dtype=float)
        finite = np.isfinite(values)
        whole = finite & (np.mod(values, 1, where=finite, out=np.zeros_like(values)) == 0)
        digits = np.round(np.where(whole, values, 0)).astype(np.int64).astype(str)
        shown = np.where(whole, digits, values.astype(str)).astype(object)
        shown[~finite] = None
        return pd.Series(shown, index=column.index, dtype=object)
    stripped = column.astype("string").str.strip()
    blank = (stripped == "").fillna(True).to_numpy(dtype=bool)
    values = np.array(stripped.astype(object), dtype=object)
    values[blank] = None
    return pd.Series(values, index=column.index, dtype=object)


def _read_source(path: Path, name: str, layer: LayerConfig) -> _Source:
    if not path.exists():
        raise SourceFileError(
            path, f"the {name} layer file does not exist", f"check space.{name}.path"
        )
    suffix = path.suffix.lower()
    try:
        if suffix in TABLE_SUFFIXES:
            return _table_source(path, name, layer, _read_table(path, name))
        if suffix == ".parquet":
            return _parquet_source(path, name, layer)
        return _gdal_source(path, name, layer)
    except (PopbaseError, MemoryError):
        raise
    except Exception as exc:  # GDAL, Arrow and pandas each raise their own kinds
        raise SourceFileError(
            path,
            f"cannot be read as the {name} layer ({type(exc).__name__}: {exc})",
            "open it in QGIS to check it, re-export it (GeoPackage or GeoJSON), "
            f"or correct space.{name}.path in popbase.yaml",
        ) from exc


def _read_table(path: Path, name: str) -> tuple[pd.DataFrame, list[str], pd.DataFrame | None]:
    raw = read_table(path)
    labels = [f"row {n}" for n in raw.row_numbers]
    malformed = pd.DataFrame(
        {
            "layer": name,
            "feature": [f"row {n}" for n, _ in raw.bad_rows],
            "reason": "row_malformed",
            "detail": [
                f"the row does not split into the header's fields: {t[:60]!r}"
                for _, t in raw.bad_rows
            ],
        },
        columns=QUARANTINE_COLUMNS,
    )
    return raw.frame, labels, malformed if len(malformed) else None


def _table_source(
    path: Path,
    name: str,
    layer: LayerConfig,
    read: tuple[pd.DataFrame, list[str], pd.DataFrame | None],
) -> _Source:
    """A table with WKT or lon/lat columns, or both (or none: rooms).

    With both, a row's WKT wins and a row without one is placed by its lon/lat: building
    tables often hold surveyed footprints for some buildings and only a geocoded point
    (经纬度) for the rest.
    """
    table, labels, malformed = read
    wkt = layer.fields.get("wkt", "wkt")
    lon, lat = layer.fields.get("lon", "lon"), layer.fields.get("lat", "lat")
    ledger: FeatureLedger | None = None
    points = None
    if lon in table.columns and lat in table.columns:
        x = pd.to_numeric(table[lon], errors="coerce").to_numpy(dtype=float)
        y = pd.to_numeric(table[lat], errors="coerce").to_numpy(dtype=float)
        blank = table[lon].isna().to_numpy() | table[lat].isna().to_numpy()
        points = np.asarray(shapely.points(x, y), dtype=object)
        points[blank] = None
    if wkt in table.columns:
        ledger = parse_wkt(table[wkt].to_numpy(dtype=object))
        if points is not None:
            no_wkt = np.asarray(table[wkt].astype("string").str.strip().fillna("") == "")
            ledger.geometry[no_wkt] = points[no_wkt]
    elif points is not None:
        ledger = FeatureLedger(points)
    elif GEOMETRY[_kind(name)] is not None and any(k in layer.fields for k in GEOMETRY_FIELDS):
        raise SourceFileError(
            path,
            f"the {name} layer has no column {wkt!r}, nor both {lon!r} and {lat!r}; "
            f"its columns are {list(table.columns)}",
            f"map `wkt` or `lon`/`lat` under space.{name}.fields to the geometry columns",
        )
    crs = GEOGRAPHIC if ledger is not None else None
    return _Source(table, labels, ledger, crs, malformed=malformed)


def _parquet_source(path: Path, name: str, layer: LayerConfig) -> _Source:
    meta = pq.read_schema(path).metadata or {}
    if b"geo" not in meta:  # plain Parquet: a table like CSV
        frame = pd.read_parquet(path)
        labels = [f"#{i + 1}" for i in range(len(frame))]
        return _table_source(path, name, layer, (frame, labels, None))
    geo = json.loads(meta[b"geo"])
    column = geo["primary_column"]
    info = geo["columns"][column]
    if info.get("encoding", "WKB").upper() != "WKB":
        raise SourceFileError(
            path,
            f"its geometry is encoded as {info['encoding']!r}",
            "write the GeoParquet file with WKB geometry (geopandas' default)",
        )
    table = pq.read_table(path)
    wkb = np.asarray(table.column(column).to_pylist(), dtype=object)
    frame = table.drop_columns([column]).to_pandas()
    crs = info.get("crs", "OGC:CRS84")  # the GeoParquet default when the key is absent
    crs_text = None if crs is None else pyproj.CRS.from_user_input(crs).to_wkt()
    labels = [f"#{i + 1}" for i in range(len(frame))]
    return _Source(frame, labels, parse_wkb(wkb), crs_text)


def _gdal_source(path: Path, name: str, layer: LayerConfig) -> _Source:
    layers = [str(n) for n, _ in pyogrio.list_layers(path)]
    chosen = layer.layer
    if chosen is None and len(layers) > 1:
        raise SourceFileError(
            path,
            f"holds {len(layers)} layers ({', '.join(layers)}) and the {name} layer is not named",
            f"set `layer:` under space.{name} in popbase.yaml to one of them",
        )
    if chosen is not None and chosen not in layers:
        raise SourceFileError(
            path,
            f"has no layer {chosen!r}; it has {', '.join(layers)}",
            f"correct `layer:` under space.{name} in popbase.yaml",
        )
    with warnings.catch_warnings():
        # GDAL reads unclosed rings with a warning; parse_wkb closes and reports them.
        warnings.filterwarnings("ignore", "Non closed ring", RuntimeWarning)
        meta, _, wkb, data = pyogrio.raw.read(path, layer=chosen)
    frame = pd.DataFrame({str(f): d for f, d in zip(meta["fields"], data, strict=True)})
    labels = [f"#{i + 1}" for i in range(len(frame))]
    ledger = None if wkb is None else parse_wkb(np.asarray(wkb, dtype=object))
    shapefile = path.suffix.lower() in (".shp", ".zip") or path.is_dir()
    return _Source(frame, labels, ledger, meta["crs"], clockwise_convention=shapefile)
