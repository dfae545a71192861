from __future__ import annotations

import json
import os
import shutil
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import shape

with warnings.catch_warnings():
    # Starlette's TestClient asks for httpx2 and still works with httpx.
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

from popbase.api.app import create_app
from popbase.api.gate import Gate
from popbase.api.geojson import label_points
from popbase.config import AccessConfig, load_project
from popbase.ops.snapshot import (
    BASE_DB,
    MANIFEST,
    SNAPSHOTS,
    current_snapshot,
    finish_build,
    new_snapshot_id,
)

pytest_plugins = ["point_city_fixtures"]


@pytest.fixture(scope="module")
def client(
    served_project: Path,
    tmp_path_factory: pytest.TempPathFactory,
    signed_in_client: Callable[..., TestClient],
) -> Iterator[TestClient]:
    """Signed in as an admin of the whole city."""
    scope = _units(served_project)["code"].min()[:4]
    with signed_in_client(served_project, tmp_path_factory.mktemp("access"), "admin", scope) as c:
        yield c


def _units(served_project: Path) -> pd.DataFrame:
    db = current_snapshot(served_project).base_db
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("SELECT * EXCLUDE (geometry) FROM units").df()


@pytest.fixture(scope="module")
def units_table(served_project: Path) -> pd.DataFrame:
    """The ``units`` table read straight from the snapshot: the reference."""
    return _units(served_project)


@pytest.fixture(scope="module")
def buildings_table(served_project: Path) -> pd.DataFrame:
    db = current_snapshot(served_project).base_db
    with duckdb.connect(str(db), read_only=True) as con:
        table = con.execute("SELECT * FROM buildings").df()
    table["geometry"] = table["geometry"].map(bytes)  # DuckDB hands BLOBs out as bytearray
    return table


def _copy_current(src_output: Path, dst_output: Path) -> Path:
    """Copy the served snapshot into ``dst_output`` as a build in progress."""
    building = dst_output / SNAPSHOTS / f"{new_snapshot_id()}.building"
    shutil.copytree(current_snapshot(src_output).path, building)
    return building


# ---- summary ----


def test_summary_totals_match_the_units_table(
    client: TestClient, served_project: Path, units_table: pd.DataFrame
) -> None:
    body = client.get("/api/summary").json()
    snapshot = current_snapshot(served_project)
    assert body["snapshot"] == snapshot.id
    assert body["region"] == snapshot.manifest()["region"]
    assert body["created"] == snapshot.manifest()["created"]
    communities = units_table[units_table["level"] == "community"]
    assert body["totals"]["resident"] == int(communities["resident"].sum())
    assert body["totals"]["units"] == units_table["level"].value_counts().to_dict()
    # Levels from the largest units to the smallest; micro-grids are units too.
    assert list(body["totals"]["units"]) == ["district", "street", "community", "grid"]


# ---- units ----


@pytest.mark.parametrize("level", ["district", "street", "community"])
def test_units_of_a_level_as_geojson(
    client: TestClient, units_table: pd.DataFrame, level: str
) -> None:
    response = client.get("/api/units", params={"level": level})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/geo+json")
    body = response.json()
    assert body["type"] == "FeatureCollection"
    expected = units_table[units_table["level"] == level].set_index("code")
    assert sorted(f["properties"]["code"] for f in body["features"]) == sorted(expected.index)
    minx, miny, maxx, maxy = body["bbox"]
    for feature in body["features"]:
        props = feature["properties"]
        assert set(props) == {
            "code",
            "name",
            "level",
            "parent_code",
            "resident",
            "households",
            "area_km2",
            "density",
            "label_lon",
            "label_lat",
        }
        row = expected.loc[props["code"]]
        assert props["name"] == row["name"]
        assert props["resident"] == row["resident"]
        assert props["density"] == round(row["resident"] / row["area_km2"])
        geom = shape(feature["geometry"])
        assert geom.geom_type in {"Polygon", "MultiPolygon"}
        # The name is written well inside the unit, not at its edge.
        label = shapely.Point(props["label_lon"], props["label_lat"])
        assert geom.contains(label)
        assert label.distance(geom.boundary) > 0.1 * _inradius_bound(geom)
        gx0, gy0, gx1, gy1 = geom.bounds
        assert minx <= gx0 and gx1 <= maxx and miny <= gy0 and gy1 <= maxy
        # EPSG:4490 lon/lat around Shanghai, not projected metres
        assert 120 < gx0 < 123 and 30 < gy0 < 32


def _inradius_bound(geom: shapely.Geometry) -> float:
    """An upper bound of the largest circle inside ``geom``: half its narrower side."""
    x0, y0, x1, y1 = geom.bounds
    return min(x1 - x0, y1 - y0) / 2


def test_a_label_point_for_every_kind_of_unit_geometry() -> None:
    ring = shapely.Polygon([(0, 0), (10, 0), (10, 10), (0, 10)], [[(1, 1), (9, 1), (9, 9), (1, 9)]])
    islands = shapely.MultiPolygon([shapely.box(0, 0, 1, 1), shapely.box(5, 5, 9, 9)])
    bowtie = shapely.Polygon([(0, 0), (1, 1), (1, 0), (0, 1)])
    mixed = shapely.GeometryCollection(
        [shapely.box(0, 0, 1, 1), shapely.LineString([(0, 0), (3, 3)])]
    )
    geoms = np.array([ring, islands, bowtie, mixed, None, shapely.Polygon()], dtype=object)
    xy = label_points(geoms)
    points = shapely.points(xy[:4])
    # Inside the ring's band, not in its hole; in the larger island.
    assert ring.contains(points[0]) and islands.geoms[1].contains(points[1])
    assert bowtie.intersects(points[2]) and mixed.intersects(points[3])
    assert np.isnan(xy[4:]).all()  # no geometry, no label


def test_units_default_to_communities(client: TestClient) -> None:
    levels = {f["properties"]["level"] for f in client.get("/api/units").json()["features"]}
    assert levels == {"community"}


def test_units_of_an_unknown_level_is_422_naming_the_levels(client: TestClient) -> None:
    response = client.get("/api/units", params={"level": "village"})
    assert response.status_code == 422
    [problem] = response.json()["detail"]
    assert problem["loc"] == ["query", "level"]
    assert "'district', 'street', 'community' or 'grid'" in problem["msg"]


def test_grids_are_units_that_sum_to_their_committee(
    client: TestClient, units_table: pd.DataFrame
) -> None:
    grids = client.get("/api/units", params={"level": "grid"}).json()["features"]
    assert grids and {g["properties"]["level"] for g in grids} == {"grid"}
    by_parent: dict[str, int] = {}
    for g in grids:
        p = g["properties"]
        by_parent[p["parent_code"]] = by_parent.get(p["parent_code"], 0) + p["resident"]
    communities = units_table[units_table["level"] == "community"].set_index("code")["resident"]
    assert by_parent == {c: int(communities[c]) for c in by_parent}


def test_children_of_each_street_sum_to_the_street(
    client: TestClient, units_table: pd.DataFrame
) -> None:
    streets = units_table[units_table["level"] == "street"]
    assert len(streets) == 2
    for code in streets["code"]:
        body = client.get(f"/api/units/{code}").json()
        assert body["code"] == code
        assert body["level"] == "street"
        assert len(body["children"]) == 3
        assert {c["level"] for c in body["children"]} == {"community"}
        assert sum(c["resident"] for c in body["children"]) == body["resident"]


def test_the_grids_of_each_community_sum_to_it(
    client: TestClient, units_table: pd.DataFrame
) -> None:
    communities = units_table[units_table["level"] == "community"]
    assert len(communities) == 6
    for code in communities["code"]:
        body = client.get(f"/api/units/{code}").json()
        assert body["density"] == round(body["resident"] / body["area_km2"])
        grids = units_table[units_table["parent_code"] == code]
        assert sorted(c["code"] for c in body["children"]) == sorted(grids["code"])
        assert {c["level"] for c in body["children"]} == {"grid"}
        assert all(c["code"].startswith(code) for c in body["children"])
        assert sum(c["resident"] for c in body["children"]) == body["resident"]


def test_a_grid_has_no_children(client: TestClient, units_table: pd.DataFrame) -> None:
    code = units_table.loc[units_table["level"] == "grid", "code"].iloc[0]
    body = client.get(f"/api/units/{code}").json()
    assert body["level"] == "grid"
    assert body["children"] == []


def test_an_unknown_unit_is_404(client: TestClient) -> None:
    response = client.get("/api/units/999999")
    assert response.status_code == 404
    assert response.json() == {"detail": "unit not found, or outside your jurisdiction"}


# ---- buildings ----


def test_buildings_in_a_box_around_everything(
    client: TestClient, buildings_table: pd.DataFrame
) -> None:
    response = client.get("/api/buildings", params={"bbox": "120,30,123,32"})
    assert response.status_code == 200
    body = response.json()
    assert body["matched"] == len(buildings_table)
    assert body["truncated"] is False
    assert len(body["features"]) == len(buildings_table)
    expected = buildings_table.set_index("building_id")
    for feature in body["features"]:
        props = feature["properties"]
        assert set(props) == {"building_id", "address", "use", "floors", "resident"}
        row = expected.loc[props["building_id"]]
        assert (props["address"], props["use"], props["resident"]) == (
            row["address"],
            row["use"],
            row["resident"],
        )
        assert shape(feature["geometry"]).equals_exact(shapely.from_wkb(row["geometry"]), 1e-6)


def test_buildings_only_in_the_box_and_at_most_limit(
    client: TestClient, buildings_table: pd.DataFrame
) -> None:
    geoms = shapely.from_wkb(buildings_table["geometry"].to_numpy())
    x0, y0, x1, y1 = shapely.bounds(geoms[0])
    box = shapely.box(x0, y0, x1, y1)
    expected = int(shapely.intersects(shapely.envelope(geoms), box).sum())
    body = client.get("/api/buildings", params={"bbox": f"{x0},{y0},{x1},{y1}"}).json()
    assert body["matched"] == expected >= 1
    assert all(shape(f["geometry"]).intersects(box) for f in body["features"])
    body = client.get("/api/buildings", params={"bbox": "120,30,123,32", "limit": 3}).json()
    assert len(body["features"]) == 3
    assert body["truncated"] is True
    assert body["matched"] == len(buildings_table)


def test_no_buildings_far_away(client: TestClient) -> None:
    body = client.get("/api/buildings", params={"bbox": "0,0,1,1"}).json()
    assert body == {"type": "FeatureCollection", "matched": 0, "truncated": False, "features": []}


@pytest.mark.parametrize(
    ("bbox", "says"),
    [
        ("121,31,122", "expected minlon,minlat,maxlon,maxlat"),
        ("a,b,c,d", "expected minlon,minlat,maxlon,maxlat"),
        ("121,31,nan,32", "expected minlon,minlat,maxlon,maxlat"),
        ("122,31,121,32", "the minimum must not exceed the maximum"),
        ("121,91,122,92", "latitudes in -90..90"),
    ],
)
def test_a_bad_bbox_is_422_saying_why(client: TestClient, bbox: str, says: str) -> None:
    response = client.get("/api/buildings", params={"bbox": bbox})
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail.startswith(f"bbox was {bbox!r}")
    assert says in detail


def test_buildings_need_a_bbox_and_a_positive_limit(client: TestClient) -> None:
    assert client.get("/api/buildings").status_code == 422
    assert client.get("/api/buildings", params={"bbox": "0,0,1,1", "limit": 0}).status_code == 422


# ---- buildings delivered as points (GCJ-02, mixed with footprints) ----


@pytest.fixture(scope="module")
def point_client_of(
    point_city: Path,
    tmp_path_factory: pytest.TempPathFactory,
    signed_in_client: Callable[..., TestClient],
    clients_by_role: Callable[..., Any],
) -> Iterator[Callable[..., TestClient]]:
    """``point_client_of(role, scope)``: a client of the point city, one per role and scope."""
    output_dir = load_project(point_city).output_dir
    access_dir = tmp_path_factory.mktemp("point_access")

    def make(role: str, scope: str) -> TestClient:
        return signed_in_client(output_dir, access_dir, role, scope)

    with clients_by_role(make) as client_of:
        yield client_of


@pytest.fixture(scope="module")
def point_buildings(point_city: Path) -> pd.DataFrame:
    """The point city's ``buildings`` table, read straight from its snapshot."""
    db = current_snapshot(load_project(point_city).output_dir).base_db
    with duckdb.connect(str(db), read_only=True) as con:
        table = con.execute("SELECT * EXCLUDE (geometry) FROM buildings").df()
    return table.set_index("building_id")


EVERYWHERE = {"bbox": "-180,-90,180,90", "limit": "50000"}


def test_points_are_served_where_the_gcj02_table_puts_them(
    point_client_of: Callable[..., TestClient],
    point_city_delivery: tuple[Path, pd.DataFrame],
    point_buildings: pd.DataFrame,
) -> None:
    delivered = point_city_delivery[1].set_index("building_id")
    body = point_client_of("city_officer", "3101").get("/api/buildings", params=EVERYWHERE).json()
    assert body["matched"] == len(point_buildings) == len(delivered)
    kinds = set()
    for feature in body["features"]:
        props = feature["properties"]
        row = delivered.loc[props["building_id"]]
        geom = shape(feature["geometry"])
        kinds.add(geom.geom_type)
        # A surveyed building keeps its footprint; a geocoded one is its point, back in
        # WGS84 from GCJ-02 within a few centimetres (the file and the answer round to
        # 1e-7°; the offset itself is some 500 m here).
        assert geom.geom_type == ("Polygon" if row["surveyed"] else "Point")
        assert shapely.hausdorff_distance(geom, row["truth"]) < 3e-7
        assert props["resident"] == point_buildings.loc[props["building_id"], "resident"]
        assert props["address"] == row["楼栋地址"]
    assert kinds == {"Point", "Polygon"}
    # Residents live in point buildings as in footprints: addresses found them.
    points = delivered.index[~delivered["surveyed"].to_numpy()]
    assert point_buildings.loc[points, "resident"].sum() > 0


def test_a_bbox_finds_a_point_building_and_nothing_beside_it(
    point_client_of: Callable[..., TestClient], point_city_delivery: tuple[Path, pd.DataFrame]
) -> None:
    delivered = point_city_delivery[1]
    point = delivered[~delivered["surveyed"]].iloc[0]
    x, y = point["truth"].x, point["truth"].y
    client = point_client_of("city_officer", "3101")
    around = f"{x - 1e-6},{y - 1e-6},{x + 1e-6},{y + 1e-6}"  # 10 cm either side
    exact = client.get("/api/buildings", params={"bbox": around}).json()
    assert [f["properties"]["building_id"] for f in exact["features"]] == [point["building_id"]]
    beside = f"{x + 1e-5},{y - 1e-5},{x + 2e-4},{y + 1e-5}"  # 1 m to 20 m east
    assert client.get("/api/buildings", params={"bbox": beside}).json()["matched"] == 0


def test_a_street_officer_sees_only_the_point_buildings_of_its_street(
    point_client_of: Callable[..., TestClient],
    point_city_delivery: tuple[Path, pd.DataFrame],
    point_buildings: pd.DataFrame,
) -> None:
    delivered = point_city_delivery[1].set_index("building_id")
    streets = sorted({str(c)[:9] for c in point_buildings["division_code"]})
    for street in streets:
        shown = point_client_of("street_officer", street).get("/api/buildings", params=EVERYWHERE)
        ids = [f["properties"]["building_id"] for f in shown.json()["features"]]
        mine = point_buildings.index[point_buildings["division_code"].str.startswith(street)]
        assert sorted(ids) == sorted(mine) and len(ids) > 0
        # Each street of this city is delivered one way: footprints, or points.
        assert delivered.loc[ids, "surveyed"].nunique() == 1


def test_a_department_sees_point_buildings_suppressed_like_footprints(
    point_client_of: Callable[..., TestClient], point_buildings: pd.DataFrame
) -> None:
    officer = point_client_of("city_officer", "3101").get("/api/buildings", params=EVERYWHERE)
    department = point_client_of("health", "3101").get("/api/buildings", params=EVERYWHERE)
    seen = {f["properties"]["building_id"]: f for f in officer.json()["features"]}
    for feature in department.json()["features"]:
        props = feature["properties"]
        value = props["resident"]
        assert value is None or value == 0 or value > 10, props
        if value is not None:
            assert value == point_buildings.loc[props["building_id"], "resident"]
        assert feature["geometry"] == seen[props["building_id"]]["geometry"]
    assert len(seen) == len(department.json()["features"])


# ---- report, docs, page ----


def test_report_is_the_snapshots_report(client: TestClient, served_project: Path) -> None:
    assert client.get("/api/report").json() == current_snapshot(served_project).report()


def test_openapi_docs_list_the_endpoints(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    expected = {"/api/summary", "/api/units", "/api/units/{code}", "/api/buildings", "/api/report"}
    assert expected <= set(paths)


def test_the_map_page_and_its_static_files(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert 'src="static/app.js"' in page.text
    script = client.get("/static/app.js")
    assert script.headers["content-type"].startswith("text/javascript")
    assert client.get("/static/style.css").status_code == 200


# ---- no snapshot yet, and a new one without a restart ----


def test_no_snapshot_is_503_with_the_fix(
    tmp_path: Path, signed_in_client: Callable[..., TestClient]
) -> None:
    with signed_in_client(tmp_path, tmp_path / "access") as c:
        for path in ("/api/summary", "/api/units", "/api/units/31", "/api/report"):
            response = c.get(path)
            assert response.status_code == 503, path
            assert "run `popbase build`" in response.json()["detail"]
        assert c.get("/api/buildings", params={"bbox": "0,0,1,1"}).status_code == 503
        assert c.get("/").status_code == 200  # the page loads and shows the problem


def _double_residents(building: Path) -> None:
    with duckdb.connect(str(building / BASE_DB)) as con:
        con.execute("UPDATE units SET resident = resident * 2")
    manifest: dict[str, Any] = json.loads((building / MANIFEST).read_text(encoding="utf-8"))
    manifest["region"] = {**manifest["region"], "name": "新快照"}
    (building / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")


def test_a_new_snapshot_is_served_without_a_new_app(
    tmp_path: Path, served_project: Path, signed_in_client: Callable[..., TestClient]
) -> None:
    scope = _units(served_project)["code"].min()[:4]
    with signed_in_client(tmp_path, tmp_path / "access", "admin", scope) as c:
        assert c.get("/api/summary").status_code == 503
        first = finish_build(_copy_current(served_project, tmp_path))
        before = c.get("/api/summary").json()
        assert before["snapshot"] == first.id
        units_before = c.get("/api/units").json()

        building = _copy_current(served_project, tmp_path)
        _double_residents(building)
        second = finish_build(building)
        after = c.get("/api/summary").json()
        assert after["snapshot"] == second.id != first.id
        assert after["region"]["name"] == "新快照"
        assert after["totals"]["resident"] == 2 * before["totals"]["resident"]
        units_after = c.get("/api/units").json()
        residents = {
            f["properties"]["code"]: f["properties"]["resident"] for f in units_after["features"]
        }
        for feature in units_before["features"]:
            props = feature["properties"]
            assert residents[props["code"]] == 2 * props["resident"]


def test_healthz_answers_without_a_sign_in_and_names_its_worker_process(
    served_project: Path, tmp_path: Path
) -> None:
    access = AccessConfig(users=tmp_path / "users.json", audit_log=tmp_path / "audit.log")
    with TestClient(create_app(served_project, Gate(served_project, access, tmp_path))) as c:
        r = c.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "worker": os.getpid()}
    assert not (tmp_path / "audit.log").exists()  # not an API request: nothing to audit
