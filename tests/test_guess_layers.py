"""Map layers placed in the basemap by geometry, codes and fields, with their CRS."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import LineString, Point, box

from popbase.guess import guess_project
from popbase.guess.layer_roles import LayerGuess, place_layer
from popbase.guess.layers import layer_from_table, read_layer_heads
from popbase.guess.layout import read_heads


def _squares(n: int, x0: float = 121.30, size: float = 0.01) -> list[object]:
    return [box(x0 + i * size, 31.10, x0 + (i + 1) * size, 31.10 + size) for i in range(n)]


def _place(path: Path, hint: str | None = None) -> list[LayerGuess | None]:
    if path.suffix in (".csv", ".xlsx"):
        heads = [layer_from_table(h) for h in read_heads(path)]
        return [place_layer(h, hint or path.name) if h else None for h in heads]
    return [place_layer(h, hint or path.name) for h in read_layer_heads(path)]


def test_committees_by_their_codes(tmp_path: Path) -> None:
    path = tmp_path / "居委会.geojson"
    frame = gpd.GeoDataFrame(
        {"区划代码": ["310112001001", "310112001002", "310112002001"],
         "名称": ["北街居委会", "南街居委会", "东村村委会"]},
        geometry=_squares(3), crs="EPSG:4490",
    )  # fmt: skip
    frame.to_file(path)
    (layer,) = _place(path)
    assert layer is not None and layer.role == "divisions"
    assert {g.field: g.column for g in layer.fields} == {"code": "区划代码", "name": "名称"}
    assert layer.what == "3 polygons: 3 communities"
    assert layer.crs.value is None and layer.crs.sure and "EPSG:4490" in layer.crs.evidence


def test_grids_have_codes_longer_than_a_committees(tmp_path: Path) -> None:
    path = tmp_path / "basemap.gpkg"
    codes = {"grid_code": ["310112001001001", "310112001001002"]}
    codes["community_code"] = ["310112001001"] * 2
    grids = gpd.GeoDataFrame(codes, geometry=_squares(2), crs="EPSG:4490")
    streets = gpd.GeoDataFrame(
        {"code": ["310112001", "310112002"], "name": ["江川路街道", "莘庄镇"]},
        geometry=_squares(2), crs="EPSG:4490",
    )  # fmt: skip
    grids.to_file(path, layer="wg", driver="GPKG")
    streets.to_file(path, layer="jd", driver="GPKG")
    placed = {g.head.layer: g for g in _place(path) if g}
    assert placed["wg"].role == "grids"
    assert placed["wg"].column("community") == "community_code"
    assert placed["jd"].role == "divisions"


def test_buildings_as_gcj02_points_in_a_table(tmp_path: Path) -> None:
    path = tmp_path / "高德_楼栋点位.csv"
    pd.DataFrame(
        {"楼栋编号": ["B1", "B2", "B3"], "地址": ["七莘路100号", "七莘路102号", "七莘路104号"],
         "层数": ["6", "11", "18"], "用途": ["住宅", "商住", "办公"],
         "经度": ["121.3512", "121.3520", "121.3531"], "纬度": ["31.1102", "31.1110", "31.1121"]}
    ).to_csv(path, index=False)  # fmt: skip
    (layer,) = _place(path)
    assert layer is not None and layer.role == "buildings"
    fields = {g.field: g.column for g in layer.fields}
    assert fields == {"id": "楼栋编号", "address": "地址", "use": "用途", "floors": "层数",
                      "lon": "经度", "lat": "纬度"}  # fmt: skip
    assert (layer.crs.value, layer.crs.asked, layer.crs.sure) == ("GCJ-02", False, True)
    assert "高德" in layer.crs.evidence


def test_points_in_degrees_without_a_crs_are_wgs84_to_check(tmp_path: Path) -> None:
    """Nothing says whether lon/lat columns are GPS or copied from an internet map."""
    path = tmp_path / "facilities.csv"
    pd.DataFrame(
        {"设施名称": ["古美小学", "古美幼儿园"], "类型": ["小学", "幼儿园"],
         "lng": ["121.38", "121.39"], "lat": ["31.15", "31.16"]}
    ).to_csv(path, index=False)  # fmt: skip
    (layer,) = _place(path)
    assert layer is not None and layer.role == "facilities"
    assert (layer.crs.value, layer.crs.asked, layer.crs.sure) == ("EPSG:4326", False, False)
    assert "高德" in layer.crs.evidence  # the user is told what else it may be


def test_projected_coordinates_without_a_crs_are_asked_for(tmp_path: Path) -> None:
    folder = tmp_path / "buildings"
    folder.mkdir()
    path = folder / "jz.shp"
    frame = gpd.GeoDataFrame(
        {"JZBH": ["1", "2"], "DZ": ["七莘路100号", "七莘路102号"], "CS": [6, 11]},
        geometry=[box(618300, 3429800, 618320, 3429820), box(618400, 3429800, 618420, 3429830)],
        crs="EPSG:4549",
    )  # fmt: skip
    frame.to_file(path)
    path.with_suffix(".prj").unlink()  # delivered without its .prj
    assert not path.with_suffix(".prj").exists()
    (layer,) = _place(path)
    assert layer is not None and layer.role == "buildings"
    assert layer.crs.value is None and layer.crs.asked
    assert "projected" in layer.crs.evidence


def test_a_file_claiming_degrees_with_projected_coordinates_is_asked(tmp_path: Path) -> None:
    path = tmp_path / "buildings.geojson"
    frame = gpd.GeoDataFrame(
        {"building_id": ["1"], "address": ["七莘路100号"], "floors": [6]},
        geometry=[box(618300, 3429800, 618320, 3429820)], crs="EPSG:4326",
    )  # fmt: skip
    frame.to_file(path)
    (layer,) = _place(path)
    assert layer is not None and layer.crs.asked
    assert "not degrees" in layer.crs.evidence


@pytest.mark.parametrize(
    ("name", "crs"), [("百度坐标_楼栋.geojson", "BD-09"), ("gcj02.geojson", "GCJ-02")]
)
def test_a_name_saying_an_internet_map_wins_over_the_files_wgs84(
    tmp_path: Path, name: str, crs: str
) -> None:
    path = tmp_path / name
    gpd.GeoDataFrame(
        {"building_id": ["1", "2"], "address": ["七莘路100号", "七莘路102号"]},
        geometry=[Point(121.35, 31.11), Point(121.36, 31.12)], crs="EPSG:4326",
    ).to_file(path)  # fmt: skip
    (layer,) = _place(path)
    assert layer is not None and (layer.crs.value, layer.crs.sure) == (crs, True)


def test_lines_are_roads_and_unknown_polygons_have_no_role(tmp_path: Path) -> None:
    roads = tmp_path / "roads.geojson"
    gpd.GeoDataFrame(
        {"路名": ["七莘路"]}, geometry=[LineString([(121.3, 31.1), (121.4, 31.1)])], crs="EPSG:4490"
    ).to_file(roads)  # fmt: skip
    blocks = tmp_path / "blocks.geojson"
    gpd.GeoDataFrame({"block_id": ["K1", "K2"]}, geometry=_squares(2), crs="EPSG:4490").to_file(
        blocks
    )
    (road,) = _place(roads)
    assert road is not None and road.role == "roads" and road.column("name") == "路名"
    assert _place(blocks) == [None]


def test_boundaries_named_but_not_coded_say_what_is_missing(tmp_path: Path) -> None:
    gpd.GeoDataFrame(
        {"NAME": ["江川路街道", "古美街道", "莘庄镇"]}, geometry=_squares(3), crs="EPSG:4490"
    ).to_file(tmp_path / "街道边界.geojson")
    ids = pd.DataFrame({"公民身份号码": ["310112198001011239"] * 6})
    ids.to_csv(tmp_path / "a.csv", index=False)
    guess = guess_project([tmp_path])
    (unplaced,) = [u for u in guess.unplaced if u.path.name == "街道边界.geojson"]
    assert "no statistical division codes" in unplaced.why and "NAME" in unplaced.why
