"""Layer import: every format and CRS, broken geometries, unreadable files, the space stage."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pydantic import ValidationError

from popbase.backends import DuckDBBackend
from popbase.config import LayerConfig, load_project
from popbase.errors import SourceFileError
from popbase.pipeline import STAGES, BuildContext, run_stages
from popbase.space.layers import Layer, layer_from_file
from popbase.space.offsets import wgs84_to_bd09, wgs84_to_gcj02
from space_fixtures import broken_city, write_project

# A committee-sized polygon with a hole, and a point, in WGS84 (= CGCS2000 here).
RING = [(121.40, 31.20), (121.41, 31.20), (121.41, 31.21), (121.40, 31.21), (121.40, 31.20)]
HOLE = [(121.403, 31.203), (121.403, 31.204), (121.404, 31.204), (121.404, 31.203)]
POLYGON = shapely.Polygon(RING, [HOLE])
POINT = shapely.Point(121.405, 31.215)


def read(path: Path, name: str = "divisions", **config: Any) -> Layer:
    return layer_from_file(path, name, LayerConfig(path=path, **config))


def frame(geometry: list[Any], crs: str = "EPSG:4326") -> gpd.GeoDataFrame:
    codes = [f"31011200100{i}" for i in range(1, len(geometry) + 1)]
    return gpd.GeoDataFrame(
        {"code": codes, "name": [f"第{i}居委会" for i in range(len(geometry))]},
        geometry=geometry,
        crs=crs,
    )


def offset(geom: Any, convert: Callable[..., tuple[np.ndarray, np.ndarray]]) -> Any:
    return shapely.transform(geom, lambda xy: np.column_stack(convert(xy[:, 0], xy[:, 1])))


def write_geojson(tmp: Path, gdf: gpd.GeoDataFrame) -> Path:
    gdf.to_file(tmp / "layer.geojson", driver="GeoJSON")
    return tmp / "layer.geojson"


def write_gpkg(tmp: Path, gdf: gpd.GeoDataFrame) -> Path:
    gdf.to_file(tmp / "layer.gpkg", layer="divisions", driver="GPKG")
    return tmp / "layer.gpkg"


def write_shapefile_folder(tmp: Path, gdf: gpd.GeoDataFrame) -> Path:
    (tmp / "shp").mkdir()
    gdf.to_file(tmp / "shp" / "divisions.shp", encoding="utf-8")
    return tmp / "shp"


def write_shapefile_zip(tmp: Path, gdf: gpd.GeoDataFrame) -> Path:
    folder = write_shapefile_folder(tmp, gdf)
    return Path(shutil.make_archive(str(tmp / "divisions"), "zip", folder))


def write_geoparquet(tmp: Path, gdf: gpd.GeoDataFrame) -> Path:
    gdf.to_parquet(tmp / "layer.parquet")
    return tmp / "layer.parquet"


def write_wkt_csv(tmp: Path, gdf: gpd.GeoDataFrame) -> Path:
    pd.DataFrame(gdf.drop(columns="geometry")).assign(wkt=gdf.geometry.to_wkt()).to_csv(
        tmp / "layer.csv", index=False, encoding="gb18030"
    )
    return tmp / "layer.csv"


def write_wkt_xlsx(tmp: Path, gdf: gpd.GeoDataFrame) -> Path:
    table = pd.DataFrame(gdf.drop(columns="geometry")).assign(图形=gdf.geometry.to_wkt())
    table.to_excel(tmp / "layer.xlsx", index=False)
    return tmp / "layer.xlsx"


CASES = [
    # writer, file CRS, `crs:` in popbase.yaml, WGS84 → file coordinates, extra fields
    (write_geojson, "EPSG:4326", None, None, {}),
    (write_gpkg, "EPSG:4490", None, None, {}),
    (write_shapefile_folder, "EPSG:4549", None, None, {}),
    (write_shapefile_zip, "EPSG:4549", None, None, {}),
    (write_geoparquet, "EPSG:4490", None, None, {}),
    (write_wkt_csv, "EPSG:4326", "EPSG:4326", None, {}),
    (write_wkt_xlsx, "EPSG:4549", "EPSG:4549", None, {"wkt": "图形"}),
    (write_geojson, "EPSG:4326", "GCJ-02", wgs84_to_gcj02, {}),
    (write_gpkg, "EPSG:4326", "bd09", wgs84_to_bd09, {}),
    (write_wkt_csv, "EPSG:4326", "gcj02", wgs84_to_gcj02, {}),
]


@pytest.mark.parametrize(
    ("writer", "file_crs", "crs", "shift", "fields"),
    CASES,
    ids=[f"{c[0].__name__}-{c[2] or c[1]}" for c in CASES],
)
def test_every_format_and_crs_lands_where_it_should(
    tmp_path: Path,
    writer: Callable[[Path, gpd.GeoDataFrame], Path],
    file_crs: str,
    crs: str | None,
    shift: Callable[..., tuple[np.ndarray, np.ndarray]] | None,
    fields: dict[str, str],
) -> None:
    truth = [POLYGON, POLYGON.buffer(0.001)]
    geoms = [offset(g, shift) for g in truth] if shift else truth
    source = frame(geoms).to_crs(file_crs) if shift is None else frame(geoms, file_crs)
    layer = read(writer(tmp_path, source), crs=crs, fields=fields)
    assert layer.read == 2 and len(layer.features) == 2
    assert layer.features.crs.to_epsg() == 4490
    assert layer.features["code"].tolist() == ["310112001001", "310112001002"]
    assert layer.features["name"].tolist() == ["第0居委会", "第1居委会"]
    for got, want in zip(layer.features.geometry, truth, strict=True):
        assert shapely.hausdorff_distance(got, want) < 1e-6
        assert got.exterior.is_ccw
    # Shapefiles wind clockwise by their own convention: reorienting them is no repair.
    assert layer.set_aside == 0


@pytest.mark.parametrize(("crs", "shift"), [("GCJ-02", wgs84_to_gcj02), ("BD-09", wgs84_to_bd09)])
def test_points_from_lon_lat_columns_in_offset_crs(tmp_path: Path, crs: str, shift: Any) -> None:
    lon, lat = shift(np.array([POINT.x, 121.5]), np.array([POINT.y, 31.1]))
    pd.DataFrame({"building_id": ["B1", "B2"], "经度": lon, "纬度": lat}).to_csv(
        tmp_path / "b.csv", index=False
    )
    layer = read(tmp_path / "b.csv", "buildings", crs=crs, fields={"lon": "经度", "lat": "纬度"})
    xy = shapely.get_coordinates(layer.features.geometry.values)
    assert np.abs(xy - [[POINT.x, POINT.y], [121.5, 31.1]]).max() < 1e-6


def test_a_table_mixes_footprints_and_points(tmp_path: Path) -> None:
    # Surveyed footprints as WKT, the other buildings geocoded in GCJ-02 (经纬度 only).
    footprint = offset(POLYGON, wgs84_to_gcj02)
    lon, lat = wgs84_to_gcj02(np.array([POINT.x, 0.0]), np.array([POINT.y, 0.0]))
    pd.DataFrame(
        {
            "建筑编号": ["B1", "B2", "B3", "B4"],
            "图形": [footprint.wkt, "", "", "POLYGON ((1 2, 3"],
            "经度": [None, lon[0], None, lon[0]],
            "纬度": [None, lat[0], None, lat[0]],
        }
    ).to_csv(tmp_path / "b.csv", index=False)
    fields = {"id": "建筑编号", "wkt": "图形", "lon": "经度", "lat": "纬度"}
    layer = read(tmp_path / "b.csv", "buildings", crs="GCJ-02", fields=fields)
    got = dict(zip(layer.features["id"], layer.features.geometry, strict=True))
    assert shapely.hausdorff_distance(got["B1"], POLYGON) < 1e-6
    assert got["B2"].geom_type == "Point" and got["B2"].distance(POINT) < 1e-6
    # Neither a footprint nor a point: missing; an unreadable footprint is not replaced.
    assert_outcomes(
        layer,
        {
            "B1": None,
            "B2": None,
            "B3": ("geometry_missing", ""),
            "B4": ("geometry_unparsable", "cannot read the WKT"),
        },
    )


def feature(code: str, geometry: dict[str, Any] | None) -> dict[str, Any]:
    return {"type": "Feature", "properties": {"code": code, "name": code}, "geometry": geometry}


def polygon(*rings: list[list[float]]) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": list(rings)}


SQUARE = [[121.40, 31.20], [121.41, 31.20], [121.41, 31.21], [121.40, 31.21], [121.40, 31.20]]
BROKEN = [
    feature("ok", polygon(SQUARE)),
    feature(
        "bowtie",
        polygon(
            [[121.40, 31.20], [121.41, 31.21], [121.41, 31.20], [121.40, 31.21], [121.40, 31.20]]
        ),
    ),
    feature("clockwise", polygon(SQUARE[::-1])),
    feature("unclosed", polygon(SQUARE[:-1])),
    feature("empty", {"type": "Polygon", "coordinates": []}),
    feature("null", None),
    # A ring that runs round twice: made valid it would keep ~58% of the area GEOS counts.
    feature(
        "loop",
        polygon(
            [
                [0, 0],
                [10, 0],
                [10, 10],
                [0, 10],
                [0, 0.001],
                [9, 0.001],
                [9, 9],
                [1, 9],
                [1, 0.002],
                [0, 0],
            ]
        ),
    ),
    feature("line", {"type": "LineString", "coordinates": SQUARE[:2]}),
    feature("far", polygon([[c[0] + 100, c[1]] for c in SQUARE])),
    feature(
        "nan", polygon([[121.40, 31.20], [float("nan"), 31.20], [121.41, 31.21], [121.40, 31.20]])
    ),
]
OUTCOME = {
    "ok": None,
    "bowtie": ("geometry_repaired", "made valid (Self-intersection"),
    "clockwise": ("geometry_repaired", "reoriented rings"),
    "unclosed": ("geometry_repaired", "closed an unclosed ring"),
    "empty": ("geometry_empty", ""),
    "null": ("geometry_missing", ""),
    "loop": ("geometry_unrepairable", "keeps only 58"),
    "line": ("geometry_wrong_type", "a LineString"),
    "far": ("geometry_out_of_range", "lon 221.4"),
    "nan": ("geometry_invalid_coordinates", "NaN"),
}


def assert_outcomes(layer: Layer, expected: dict[str, tuple[str, str] | None]) -> None:
    q = layer.quarantine.set_index("feature")
    for code, outcome in expected.items():
        if outcome is None:
            assert code not in q.index, code
            continue
        reason, detail = outcome
        assert q.loc[code, "reason"] == reason, code
        assert detail in q.loc[code, "detail"], (code, q.loc[code, "detail"])
    # Every feature read is loaded or set aside, never both, never neither.
    loaded = set(layer.features["feature"])
    aside = set(q.index[q["reason"] != "geometry_repaired"])
    assert loaded.isdisjoint(aside)
    assert layer.read == len(layer.features) + layer.set_aside == len(expected)


def test_broken_geometries_are_repaired_or_set_aside(tmp_path: Path) -> None:
    path = tmp_path / "broken.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": BROKEN}), encoding="utf-8")
    layer = read(path, crs="EPSG:4490")
    assert_outcomes(layer, OUTCOME)
    loaded = layer.features.set_index("feature").geometry
    assert loaded["bowtie"].is_valid and loaded["bowtie"].geom_type == "MultiPolygon"
    assert loaded["bowtie"].area == pytest.approx(0.01 * 0.01 / 2)  # both triangles kept
    assert loaded["clockwise"].exterior.is_ccw
    assert loaded["unclosed"].equals(shapely.Polygon(SQUARE))
    assert layer.repaired == 3 and layer.set_aside == 6


def test_broken_wkt_rows(tmp_path: Path) -> None:
    rows = [
        ("ok", "POLYGON ((121.40 31.20, 121.41 31.20, 121.41 31.21, 121.40 31.20))"),
        ("unclosed", "POLYGON ((121.40 31.20, 121.41 31.20, 121.41 31.21, 121.40 31.21))"),
        ("garbage", "POLYGON ((121.40 31.20, oops"),
        ("blank", ""),
        ("nan", "POLYGON ((121.40 31.20, NaN 31.20, 121.41 31.21, 121.40 31.20))"),
        ("collapsed", "POLYGON ((121.40 31.20, 121.41 31.20, 121.40 31.20))"),
    ]
    text = "code,name,wkt\n" + "".join(f'{c},{c},"{w}"\n' for c, w in rows)
    text += 'short,"only two fields"\n'  # a malformed row: still counted
    (tmp_path / "d.csv").write_text(text, encoding="utf-8")
    layer = read(tmp_path / "d.csv")
    assert_outcomes(
        layer,
        {
            "ok": None,
            "unclosed": ("geometry_repaired", "closed an unclosed ring"),
            "garbage": ("geometry_unparsable", "oops"),
            "blank": ("geometry_missing", ""),
            "nan": ("geometry_invalid_coordinates", "NaN"),
            "collapsed": ("geometry_unrepairable", "nothing is left"),
            "row 8": ("row_malformed", "only two fields"),
        },
    )


def test_a_file_that_cannot_be_read_names_itself_and_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "divisions.geojson"
    path.write_text("{this is not json", encoding="utf-8")
    with pytest.raises(SourceFileError, match=r"divisions\.geojson: cannot be read.*Fix: open it"):
        read(path)
    with pytest.raises(SourceFileError, match="does not exist"):
        read(tmp_path / "nowhere.gpkg")


def test_unmapped_fields_and_several_layers_are_explained(tmp_path: Path) -> None:
    gdf = frame([POLYGON])
    path = write_gpkg(tmp_path, gdf)
    with pytest.raises(
        SourceFileError, match=r"no field for name → '名称'.*space\.divisions\.fields"
    ):
        read(path, fields={"name": "名称"})
    gdf.to_file(path, layer="other", driver="GPKG")
    with pytest.raises(SourceFileError, match=r"holds 2 layers \(divisions, other\).*`layer:`"):
        read(path)
    assert len(read(path, layer="other").features) == 1
    with pytest.raises(SourceFileError, match="has no layer 'nope'"):
        read(path, layer="nope")


def test_a_layer_without_crs_needs_one(tmp_path: Path) -> None:
    folder = write_shapefile_folder(tmp_path, frame([POLYGON]))
    (folder / "divisions.prj").unlink()
    with pytest.raises(SourceFileError, match=r"does not say its CRS.*set `crs:`"):
        read(folder)
    assert len(read(folder, crs="EPSG:4490").features) == 1
    # An unknown CRS is refused with the project file, before any layer is read.
    with pytest.raises(ValidationError, match="expected a CRS such as 'EPSG:4326'"):
        read(folder, crs="EPSG:99999999")


def test_codes_read_as_numbers_stay_codes(tmp_path: Path) -> None:
    gdf = frame([POLYGON]).assign(code=[310112001001.0])
    assert read(write_geojson(tmp_path, gdf)).features["code"].tolist() == ["310112001001"]


def test_the_space_stage_loads_accounts_and_quarantines(tmp_path: Path) -> None:
    folder = broken_city(tmp_path / "city")
    b = gpd.read_file(folder / "buildings.geojson")
    extra = gpd.GeoDataFrame(
        {"building_id": ["B1", "B9", "B8"], "use": "residential", "floors": 3},
        geometry=[b.geometry.iloc[0], None, shapely.Point(10, 10)],  # duplicate, null, far away
        crs=b.crs,
    )
    pd.concat([b, extra]).to_file(folder / "buildings.geojson", driver="GeoJSON")
    project = load_project(folder)
    ctx = BuildContext(project, DuckDBBackend(tmp_path / "work.duckdb"), tmp_path)
    try:
        run_stages(ctx, STAGES[:1])
        report = ctx.report["space"]
        for name, counts in report["layers"].items():
            assert counts["read"] == counts["loaded"] + counts["set_aside"], name
        assert report["layers"]["buildings"] == {
            "read": 7,
            "loaded": 4,
            "set_aside": 3,
            "repaired": 0,
        }
        reasons = ctx.db.query_df(
            "SELECT feature, reason FROM space_quarantine WHERE layer = 'buildings'"
        )
        assert dict(zip(reasons["feature"], reasons["reason"], strict=True)) == {
            "B1": "duplicate_key",
            "B9": "geometry_missing",
            "B8": "building_outside_divisions",
        }
        assert ctx.db.scalar("SELECT count(*) FROM basemap_rooms") == 5
        rooms = ctx.db.query_df("SELECT * FROM basemap_rooms ORDER BY room_id")
        assert list(rooms.columns) == ["room_id", "building_id", "room_no", "floor", "area", "use"]
        assert rooms["room_id"].iloc[0] == "B1-101" and rooms["floor"].max() == 7
        aliases = ctx.db.query_df("SELECT * FROM division_aliases WHERE alias = '卢湾区'")
        assert aliases["code"].tolist() == ["310101"]
        divisions = ctx.db.query_df("SELECT * FROM divisions ORDER BY code")
        assert list(divisions.columns) == [
            "code",
            "name",
            "level",
            "parent_code",
            "area_km2",
            "geometry",
        ]
        assert divisions.set_index("code").loc["310112001", "area_km2"] == pytest.approx(1.001)
        buildings = ctx.db.query_df("SELECT * FROM buildings ORDER BY building_id")
        assert buildings["community_code"].tolist() == [
            "310112001001",
            "310112001001",
            "310112002001",
            "310112002002",
        ]
    finally:
        ctx.db.close()


def test_rooms_layer_is_optional_in_the_project_file(tmp_path: Path) -> None:
    folder = write_project(
        tmp_path, "  divisions:\n    path: d.gpkg\n  buildings:\n    path: d.gpkg\n"
    )
    write_gpkg(folder, frame([POLYGON])).rename(folder / "d.gpkg")
    assert load_project(folder).config.space.rooms is None
