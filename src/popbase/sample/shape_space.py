"""Basemap layers written again as other bureaus deliver them.

Buildings as points (a surveying bureau's door-plate points, or an internet map's POIs in
GCJ-02 or BD-09) instead of footprints, with Chinese field names; divisions in two files
(the planning bureau's streets as a Shapefile in EPSG:4549, the civil-affairs bureau's
committees as GeoJSON in GCJ-02) or committees alone, with no district feature. Used by
:mod:`popbase.sample.shapes`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from popbase.sample.writer import csv_bytes
from popbase.space.crs import GEOGRAPHIC
from popbase.space.offsets import offset_crs_name, wgs84_to_bd09, wgs84_to_gcj02

DivisionStyle = Literal["one_layer", "layers", "committees"]
WordStyle = Literal["as_delivered", "chinese", "codes"]

# Building uses as a housing or planning bureau writes them.
USE_WORDS: Final = {
    "residential": "住宅",
    "mixed": "商住两用",
    "office": "办公楼",
    "commercial": "商业",
    "industrial": "厂房",
    "warehouse": "仓库",
    "public": "公共建筑",
    "school": "学校",
    "kindergarten": "幼儿园",
    "health": "社区卫生服务中心",
    "elderly_care": "养老院",
}

# Canonical building fields -> the Chinese field names of a door-plate table.
POINT_FIELDS: Final = {
    "id": "建筑编号",
    "address": "门牌地址",
    "use": "房屋用途",
    "floors": "地上层数",
    "compound": "所属小区",
}


def building_words(layer: pd.DataFrame, fields: dict[str, str]) -> pd.DataFrame:
    """The layer with its use in Chinese words and its floors as 12层, as bureaus write them."""
    out = layer.copy()
    use, floors = fields.get("use"), fields.get("floors")
    if use in out:
        out[use] = out[use].map(lambda u: USE_WORDS.get(u, u) if isinstance(u, str) else u)
    if floors in out:
        out[floors] = [f"{int(f)}层" if pd.notna(f) else None for f in out[floors]]
    return out


def _coordinates(points: gpd.GeoSeries, crs: str) -> tuple[np.ndarray, np.ndarray]:
    """Point coordinates in ``crs``: an EPSG code, or GCJ-02 / BD-09 from WGS84."""
    geographic = points.to_crs(GEOGRAPHIC)
    lon, lat = shapely.get_x(geographic.values), shapely.get_y(geographic.values)
    offset = offset_crs_name(crs)
    if offset == "GCJ-02":
        return wgs84_to_gcj02(lon, lat)
    if offset == "BD-09":
        return wgs84_to_bd09(lon, lat)
    moved = points.to_crs(pyproj.CRS.from_user_input(crs))
    return shapely.get_x(moved.values), shapely.get_y(moved.values)


def buildings_as_points(
    footprints: Path, out: Path, crs: str, fields: dict[str, str], words: WordStyle
) -> dict[str, str]:
    """Write each building of ``footprints`` as a point row of a CSV table.

    Parameters
    ----------
    footprints
        The buildings layer as delivered (any format GDAL reads).
    out
        The CSV file to write (UTF-8 with BOM, as Excel exports it).
    crs
        The CRS of the coordinates written.
    fields
        The layer's ``fields:`` mapping (canonical -> the footprint file's names).
    words
        ``as_delivered``, or use and floors in Chinese words (:func:`building_words`).

    Returns
    -------
    dict
        The ``fields:`` mapping of the written table, ``lon``/``lat`` included.
    """
    layer = gpd.read_file(footprints)
    if words != "as_delivered":
        layer = building_words(layer, fields)
    points = layer.geometry.representative_point()
    x, y = _coordinates(points, crs)
    geographic = offset_crs_name(crs) is not None or pyproj.CRS.from_user_input(crs).is_geographic
    table = pd.DataFrame(
        {
            POINT_FIELDS[canon]: layer[column].astype(object).where(layer[column].notna(), None)
            for canon, column in fields.items()
            if canon in POINT_FIELDS and column in layer
        }
    )
    # Degrees to 1e-7 (1 cm), metres to the centimetre.
    table["经度" if geographic else "X坐标"] = np.round(x, 7 if geographic else 2)
    table["纬度" if geographic else "Y坐标"] = np.round(y, 7 if geographic else 2)
    out.write_bytes(csv_bytes(table, header=True, encoding="utf-8-sig"))
    mapping = {canon: POINT_FIELDS[canon] for canon, column in fields.items() if column in layer}
    mapping["lon"], mapping["lat"] = table.columns[-2], table.columns[-1]
    return {k: v for k, v in mapping.items() if k in POINT_FIELDS or k in ("lon", "lat")}


def _to_gcj02(geometry: np.ndarray) -> np.ndarray:
    return np.asarray(
        shapely.transform(geometry, lambda xy: np.column_stack(wgs84_to_gcj02(*xy.T))),
        dtype=object,
    )


def divisions_in_layers(
    divisions: Path, folder: Path, style: DivisionStyle, fields: dict[str, str]
) -> list[dict[str, Any]]:
    """Write the divisions of one layer as other bureaus deliver them; return the layers.

    ``layers``: streets (街道代码, 街道名称) as a GBK Shapefile in EPSG:4549 and committees
    (居委代码 in full, 居委名称, 所属街道 by name) as GeoJSON in GCJ-02; ``committees``:
    the committees alone, each code only its last three digits under its street's name.
    Neither has the district's own feature: popbase makes the missing units.

    Returns
    -------
    list of dict
        The ``space.divisions`` layers, paths relative to the project folder's parent
        ``folder.parent``.
    """
    whole = gpd.read_file(divisions)
    code = whole[fields.get("code", "code")].astype(str)
    name = whole[fields.get("name", "name")].astype(str)
    street = code.str.len() == 9
    committee = code.str.len() == 12
    street_names = dict(zip(code[street], name[street], strict=True))
    folder.mkdir(parents=True, exist_ok=True)
    rel = folder.name
    layers: list[dict[str, Any]] = []
    if style == "layers":
        streets = gpd.GeoDataFrame(
            {"街道代码": code[street], "街道名称": name[street]},
            geometry=whole.geometry[street].values,
            crs=whole.crs,
        ).to_crs("EPSG:4549")
        (folder / "规划局").mkdir(exist_ok=True)
        streets.to_file(folder / "规划局" / "街镇.shp", encoding="GBK")
        layers.append(
            {
                "path": f"{rel}/规划局/街镇.shp",
                "crs": "EPSG:4549",
                "level": "街镇",
                "fields": {"code": "街道代码", "name": "街道名称"},
            }
        )
    committee_codes = code[committee]
    if style == "committees":
        committee_codes = committee_codes.str[9:]
    out = gpd.GeoDataFrame(
        {
            "居委代码": committee_codes,
            "居委名称": name[committee],
            "所属街道": code[committee].str[:9].map(street_names),
        },
        geometry=_to_gcj02(whole.to_crs(GEOGRAPHIC).geometry[committee].values),
        crs="EPSG:4326",  # what a GeoJSON file says, whatever its coordinates are
    )
    out.to_file(folder / "民政局居委.geojson", driver="GeoJSON")
    layers.append(
        {
            "path": f"{rel}/民政局居委.geojson",
            "crs": "GCJ-02",
            "level": "居委",
            "fields": {"code": "居委代码", "name": "居委名称", "parent": "所属街道"},
        }
    )
    return layers
