"""Unit counts as files GIS tools open as they are (``popbase export``).

One row per unit of a level (district, street, community or grid): its division code,
name, parent, every count of :mod:`popbase.analysis.rollup` and its area, with the unit's
boundary. Formats:

``gpkg``
    GeoPackage, one layer named after the level, CRS EPSG:4490 (CGCS2000).
``geoparquet``
    GeoParquet 1.x with the CRS in its metadata.
``csv``
    UTF-8 with a byte-order mark (spreadsheet programs need it to read Chinese), the
    boundary as WKT in a ``wkt`` column (which GDAL and QGIS recognise), EPSG:4490.

Field names are English (``code``, ``resident`` …) or, with ``labels="zh"``, Chinese
(区划代码, 实有人口 …); names and values keep their Chinese text either way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import duckdb
import geopandas as gpd
import pandas as pd
import shapely

from popbase.analysis.measures import MEASURES
from popbase.ops.snapshot import current_snapshot

LEVELS = ("district", "street", "community", "grid")
FORMATS = ("gpkg", "geoparquet", "csv")
CRS = "EPSG:4490"
COLUMNS = ("code", "name", "level", "parent_code", *MEASURES, "households", "area_km2")
ZH_LABELS = {
    "code": "区划代码",
    "name": "名称",
    "level": "层级",
    "parent_code": "上级代码",
    "resident": "实有人口",
    "usual_resident": "常住人口",
    "floating": "流动人口",
    "registered": "户籍人口",
    "absent": "人不在户在",
    "unknown": "待核实",
    "households": "户数",
    "area_km2": "面积_平方公里",
    "wkt": "wkt",
}


class ExportError(ValueError):
    """An export that cannot be written as asked; the message says what to change."""


def units_per_level_sql() -> str:
    """How many units each level has, in the order of :data:`LEVELS`."""
    order = " ".join(f"WHEN '{lv}' THEN {i}" for i, lv in enumerate(LEVELS))
    return (
        "SELECT level, count(*) AS units FROM units GROUP BY level "
        f"ORDER BY CASE level {order} ELSE {len(LEVELS)} END, level"
    )


def unit_frame(base_db: Path, level: str) -> gpd.GeoDataFrame:
    """The units of ``level`` with their counts and boundaries, in EPSG:4490.

    Raises
    ------
    ExportError
        An unknown level, or a level without units in the snapshot (the message names the
        levels that have some).
    """
    if level not in LEVELS:
        raise ExportError(f"--level {level!r}: use one of {', '.join(LEVELS)}")
    with duckdb.connect(str(base_db), read_only=True) as con:
        table = con.execute(
            f"SELECT {', '.join(COLUMNS)}, geometry FROM units WHERE level = ? ORDER BY code",
            [level],
        ).to_arrow_table()
        levels = con.execute(units_per_level_sql()).fetchall() if table.num_rows == 0 else []
    if table.num_rows == 0:
        # An empty file would pass for a district without people; say what there is instead.
        have = ", ".join(f"{lv} ({n:,})" for lv, n in levels) or "none"
        raise ExportError(
            f"--level {level}: the snapshot has no {level} units; levels with units: {have}. "
            "Fix: export one of those levels, or give the divisions of that level under "
            "space.divisions in popbase.yaml and build again"
        )
    geometry = shapely.from_wkb(table.column("geometry").to_numpy(zero_copy_only=False))
    rows = table.drop_columns(["geometry"]).to_pandas()
    return gpd.GeoDataFrame(rows, geometry=geometry, crs=CRS)


def export_units(
    output_dir: Path,
    level: str,
    fmt: str,
    out: Path,
    labels: Literal["en", "zh"] = "en",
) -> int:
    """Write the units of ``level`` of the current snapshot to ``out``; return the row count.

    Raises
    ------
    ExportError
        An unknown level or format, or a level without units in the snapshot.
    SnapshotError
        No snapshot has been built yet.
    """
    if fmt not in FORMATS:
        raise ExportError(f"--format {fmt!r}: use one of {', '.join(FORMATS)}")
    frame = unit_frame(current_snapshot(output_dir).base_db, level)
    names = ZH_LABELS if labels == "zh" else {c: c for c in ZH_LABELS}
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        table = pd.DataFrame(frame.drop(columns="geometry"))
        table["wkt"] = shapely.to_wkt(frame.geometry.to_numpy(), rounding_precision=7)
        table.rename(columns=names).to_csv(out, index=False, encoding="utf-8-sig")
    else:
        frame = frame.rename(columns=names)
        if fmt == "gpkg":
            frame.to_file(out, driver="GPKG", layer=level, engine="pyogrio")
        else:
            frame.to_parquet(out, index=False)
    return len(frame)
