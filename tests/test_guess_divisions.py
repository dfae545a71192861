"""Division layers guessed as delivered in pieces, and CRSs read off the delivery itself."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import box

from popbase.config import load_project
from popbase.guess import guess_project, init_project, project_text
from popbase.guess.crs import WGS84
from popbase.space.offsets import wgs84_to_bd09, wgs84_to_gcj02

# Two streets of 徐汇区 side by side, each of two committees (CGCS2000 lon/lat).
STREETS = {"310104003": ("天平路街道", box(121.43, 31.19, 121.45, 31.21)),
           "310104004": ("湖南路街道", box(121.45, 31.19, 121.47, 31.21))}  # fmt: skip
COMMITTEES = {
    "310104003001": ("天平一居委会", box(121.43, 31.19, 121.44, 31.21)),
    "310104003002": ("天平二居委会", box(121.44, 31.19, 121.45, 31.21)),
    "310104004001": ("湖南一居委会", box(121.45, 31.19, 121.46, 31.21)),
    "310104004002": ("湖南二居委会", box(121.46, 31.19, 121.47, 31.21)),
}


def _streets(path: Path) -> None:
    """The planning bureau's streets: a Shapefile in CGCS2000 Gauss–Krüger (EPSG:4549)."""
    gpd.GeoDataFrame(
        {"街道代码": list(STREETS), "街道名称": [n for n, _ in STREETS.values()]},
        geometry=[g for _, g in STREETS.values()], crs="EPSG:4490",
    ).to_crs("EPSG:4549").to_file(path, encoding="GBK")  # fmt: skip


def _offset(geometry: object, crs: str) -> object:
    move = wgs84_to_gcj02 if crs == "GCJ-02" else wgs84_to_bd09
    return shapely.transform(geometry, lambda xy: np.column_stack(move(xy[:, 0], xy[:, 1])))


def _committees(path: Path, *, short: bool = False, crs: str = WGS84) -> None:
    """The civil-affairs bureau's committees as GeoJSON (saying WGS84 whatever they are)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    codes = [c[9:] if short else c for c in COMMITTEES]
    geometry = [g for _, g in COMMITTEES.values()]
    if crs != WGS84:
        geometry = [_offset(g, crs) for g in geometry]
    gpd.GeoDataFrame(
        {"居委代码": codes, "居委名称": [n for n, _ in COMMITTEES.values()],
         "所属街道": [STREETS[c[:9]][0] for c in COMMITTEES]},
        geometry=geometry, crs="EPSG:4326",
    ).to_file(path)  # fmt: skip


def test_streets_and_committees_in_two_files_are_both_used_coarsest_first(
    tmp_path: Path,
) -> None:
    _committees(tmp_path / "民政" / "居委会.geojson")
    pd.DataFrame(
        {"楼栋编号": ["B1", "B2"], "门牌地址": ["天平路1号", "湖南路2号"],
         "经度": [121.435, 121.455], "纬度": [31.195, 31.205]}
    ).to_csv(tmp_path / "楼栋.csv", index=False)  # fmt: skip
    (tmp_path / "规划").mkdir()
    _streets(tmp_path / "规划" / "街道.shp")
    init_project(tmp_path, [])
    config = load_project(tmp_path).config
    streets, committees = config.space.divisions
    assert (streets.path, streets.level, streets.crs) == (Path("规划/街道.shp"), "street", None)
    assert streets.fields == {"code": "街道代码", "name": "街道名称"}
    assert committees.path == Path("民政/居委会.geojson") and committees.level == "community"
    assert committees.fields == {"code": "居委代码", "name": "居委名称", "parent": "所属街道"}
    assert (config.project.region_code, config.project.name) == ("310104", "徐汇区")


def test_committees_coded_by_their_last_part_under_their_streets_name(tmp_path: Path) -> None:
    """001 under 所属街道 天平路街道: the level from 居委代码, the area from the NBS tables."""
    _committees(tmp_path / "居委.geojson", short=True)
    guess = guess_project([tmp_path])
    (layer,) = guess.divisions
    assert layer.short_codes and layer.level == "community"
    assert layer.column("parent") == "所属街道"
    assert "4 communities coded by their last parts (001、002" in layer.what
    assert guess.region_code[0] == "310104" and "天平路街道 310104003" in guess.region_code[1]
    assert guess.name[0] == "徐汇区"


def test_a_committee_layer_carrying_its_streets_code_and_name(tmp_path: Path) -> None:
    """The finest level the headers name is the features' own; a coarser one the parent."""
    streets = [c[:9] for c in COMMITTEES]
    gpd.GeoDataFrame(
        {"街道代码": streets, "街道名称": [STREETS[c][0] for c in streets],
         "社区代码": list(COMMITTEES), "社区名称": [n for n, _ in COMMITTEES.values()]},
        geometry=[g for _, g in COMMITTEES.values()], crs="EPSG:4490",
    ).to_file(tmp_path / "divisions.gpkg")  # fmt: skip
    (layer,) = guess_project([tmp_path]).divisions
    fields = {g.field: g.column for g in layer.fields}
    assert fields == {"code": "社区代码", "name": "社区名称", "parent": "街道代码"}
    assert layer.level == "community"


def test_a_copy_of_a_division_layer_is_listed_not_loaded_twice(tmp_path: Path) -> None:
    _committees(tmp_path / "居委会.geojson")
    _committees(tmp_path / "居委会_旧版.geojson")
    guess = guess_project([tmp_path])
    assert [x.head.path.name for x in guess.divisions] == ["居委会.geojson"]
    ((spare, why),) = guess.spare_layers
    assert spare.head.path.name == "居委会_旧版.geojson" and "same divisions" in why
    text = project_text(guess, tmp_path)
    assert "also a divisions layer, not used (the same divisions as 居委会.geojson)" in text


@pytest.mark.parametrize("crs", ["GCJ-02", "BD-09"])
def test_committees_copied_from_an_internet_map_fit_the_streets_once_offset(
    tmp_path: Path, crs: str
) -> None:
    """GeoJSON says WGS84 whatever it holds; the streets' own CRS tells the offset."""
    _committees(tmp_path / "居委会.geojson", crs=crs)
    _streets(tmp_path / "街道.shp")
    guess = guess_project([tmp_path])
    committees = next(x for x in guess.divisions if x.head.path.name == "居委会.geojson")
    assert (committees.crs.value, committees.crs.sure) == (crs, True)
    assert "inside 街道.shp" in committees.crs.evidence


def test_committees_in_wgs84_that_fit_are_confirmed_as_the_files_own(tmp_path: Path) -> None:
    _committees(tmp_path / "居委会.geojson")
    _streets(tmp_path / "街道.shp")
    guess = guess_project([tmp_path])
    committees = next(x for x in guess.divisions if x.head.path.name == "居委会.geojson")
    assert (committees.crs.value, committees.crs.sure) == (None, True)
    assert "read as WGS84" in committees.crs.evidence


def test_degrees_nothing_can_place_stay_wgs84_marked_to_check(tmp_path: Path) -> None:
    """Alone in the delivery, GCJ-02 committees cannot be told from WGS84 ones."""
    _committees(tmp_path / "居委会.geojson", crs="GCJ-02")
    init_project(tmp_path, [])
    text = (tmp_path / "popbase.yaml").read_text(encoding="utf-8")
    line = next(x for x in text.splitlines() if "crs: the file's own" in x)
    assert "GCJ-02: 高德/腾讯" in line and line.endswith("— CHECK")


def test_surveyed_points_without_a_crs_are_placed_by_the_divisions(tmp_path: Path) -> None:
    """X north, Y east (the surveyors' order) in metres: the zone follows from the streets."""
    _streets(tmp_path / "街道.shp")
    corners = gpd.GeoSeries(
        [shapely.Point(121.432 + i / 120, 31.192 + j / 120) for i in range(5) for j in range(3)],
        crs="EPSG:4490",
    ).to_crs("EPSG:4549")
    pd.DataFrame(
        {"楼栋编号": [f"B{i}" for i in range(15)], "门牌地址": [f"七莘路{i}号" for i in range(15)],
         "X坐标": corners.y.round(2), "Y坐标": corners.x.round(2)}
    ).to_csv(tmp_path / "楼栋.csv", index=False)  # fmt: skip
    buildings = guess_project([tmp_path]).layers["buildings"]
    assert buildings.head.geometry_fields == {"lon": "Y坐标", "lat": "X坐标"}
    assert (buildings.crs.value, buildings.crs.asked) == ("EPSG:4549", False)


def test_eastings_prefixed_with_their_zone_are_placed_in_that_zone(tmp_path: Path) -> None:
    """A .shp without its .prj, eastings written 40xxxxxx (3-degree zone 40, CM 120E)."""
    _streets(tmp_path / "街道.shp")
    points = gpd.GeoSeries(
        [shapely.Point(121.432 + i / 120, 31.192 + j / 120) for i in range(5) for j in range(3)],
        crs="EPSG:4490",
    ).to_crs("EPSG:4528")
    frame = gpd.GeoDataFrame(
        {"JZBH": [f"B{i}" for i in range(15)], "DZ": [f"七莘路{i}号" for i in range(15)]},
        geometry=points.values,
        crs="EPSG:4528",
    )
    frame.to_file(tmp_path / "jz.shp")
    (tmp_path / "jz.prj").unlink()
    buildings = guess_project([tmp_path]).layers["buildings"]
    assert (buildings.crs.value, buildings.crs.asked, buildings.crs.sure) == (
        "EPSG:4528", False, True
    )  # fmt: skip
