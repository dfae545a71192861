"""A built city whose buildings come as a department delivers them: points in GCJ-02.

Load with ``pytest_plugins = ["point_city_fixtures"]``. The tiny sample city is copied and
its ``buildings.gpkg`` (projected footprints) rewritten as ``basemap/楼栋.csv``: GB18030,
Chinese field names, Chinese use words, and coordinates in GCJ-02 as AMap gives them. The
buildings of the first street keep a surveyed footprint (WKT); all others are a geocoded
point in 经度/纬度 only — one layer mixing footprints and points.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from popbase.config import load_project
from popbase.pipeline import run
from popbase.space.offsets import wgs84_to_gcj02

BUILDINGS_CSV = "basemap/楼栋.csv"
# The words a housing bureau writes for the sample's canonical uses.
USE_WORDS = {
    "residential": "住宅",
    "mixed": "商住",
    "commercial": "商业",
    "office": "办公",
    "school": "学校",
    "kindergarten": "幼儿园",
    "health": "医疗卫生",
    "elderly_care": "养老服务",
}
# Words the sample never writes, given to a few commercial buildings.
EXTRA_WORDS = ("工业厂房", "公共服务")
SAMPLE_BUILDINGS = """\
  buildings:                     # footprints with door-plate addresses (projected CGCS2000)
    path: basemap/buildings.gpkg
    fields: {id: building_id, address: address, use: use, floors: floors, compound: compound}
"""
POINT_BUILDINGS = f"""\
  buildings:                     # 楼栋表 from the housing bureau: GCJ-02 (AMap) coordinates
    path: {BUILDINGS_CSV}
    crs: GCJ-02
    fields: {{id: 建筑编号, address: 楼栋地址, use: 用途, floors: 层数, compound: 所属小区,
             lon: 经度, lat: 纬度, wkt: 图形}}
"""


def _to_gcj02(geom: shapely.Geometry) -> shapely.Geometry:
    return shapely.transform(geom, lambda xy: np.column_stack(wgs84_to_gcj02(xy[:, 0], xy[:, 1])))


def deliver_buildings_as_points(folder: Path) -> pd.DataFrame:
    """Rewrite a sample project's buildings as the GCJ-02 table; return the delivered rows.

    The rows returned carry, besides the file's columns, ``building_id``, ``surveyed``
    (kept as a footprint) and ``truth``: the WGS84 point or footprint it stands for.
    """
    project = folder / "popbase.yaml"
    text = project.read_text(encoding="utf-8")
    assert SAMPLE_BUILDINGS in text
    buildings = gpd.read_file(folder / "basemap/buildings.gpkg").to_crs("EPSG:4490")
    divisions = gpd.read_file(folder / "basemap/divisions.geojson")
    streets = divisions[divisions["code"].str.len() == 9].sort_values("code")
    first_street = streets.geometry.iloc[0]
    # CGCS2000 and WGS84 lon/lat differ by centimetres: the offset applies to either.
    points = buildings.geometry.representative_point()
    surveyed = points.within(first_street).to_numpy()
    truth = np.where(surveyed, buildings.geometry.to_numpy(), points.to_numpy())
    use = buildings["use"].map(USE_WORDS).to_numpy(dtype=object)
    commercial = np.flatnonzero(buildings["use"].to_numpy() == "commercial")
    for k, word in enumerate(EXTRA_WORDS):
        use[commercial[k::5]] = word
    lon, lat = wgs84_to_gcj02(shapely.get_x(points), shapely.get_y(points))
    delivered = pd.DataFrame(
        {
            "建筑编号": buildings["building_id"],
            "楼栋地址": buildings["address"],
            "用途": use,
            "层数": buildings["floors"],
            "所属小区": buildings["compound"],
            "经度": np.where(surveyed, np.nan, np.round(lon, 7)),
            "纬度": np.where(surveyed, np.nan, np.round(lat, 7)),
            "图形": [
                shapely.to_wkt(_to_gcj02(g), rounding_precision=8) if s else ""
                for g, s in zip(buildings.geometry, surveyed, strict=True)
            ],
        }
    )
    delivered.to_csv(folder / BUILDINGS_CSV, index=False, encoding="gb18030")
    (folder / "basemap/buildings.gpkg").unlink()
    project.write_text(text.replace(SAMPLE_BUILDINGS, POINT_BUILDINGS), encoding="utf-8")
    return delivered.assign(building_id=buildings["building_id"], surveyed=surveyed, truth=truth)


@pytest.fixture(scope="session")
def point_city_delivery(
    copy_city: Callable[..., Path],
) -> tuple[Path, pd.DataFrame]:
    """The folder of the built point city, and the building rows delivered to it.

    Shared by the session: tests must not change the folder; copy it first.
    """
    folder = copy_city(snapshots=False)
    delivered = deliver_buildings_as_points(folder)
    run(load_project(folder))
    return folder, delivered


@pytest.fixture(scope="session")
def point_city(point_city_delivery: tuple[Path, pd.DataFrame]) -> Path:
    """The folder of the built point city (see :func:`point_city_delivery`)."""
    return point_city_delivery[0]
