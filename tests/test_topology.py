"""Topology checks on hand-made broken layers: each defect found, located and measured."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from rich.console import Console
from shapely.geometry.base import BaseGeometry
from typer.testing import CliRunner

from popbase.cli import app
from popbase.config import load_project
from popbase.sample.city import SampleOptions, generate_sample
from popbase.space.check import FINDINGS_SHOWN, check_space
from popbase.space.divisions import division_tree
from popbase.space.topology import TopologyReport, assign_buildings, check_topology
from space_fixtures import (
    NOTCH,
    OVERLAP,
    PROJECTED,
    STRADDLER,
    STRAY,
    box,
    broken_city,
    buildings,
    divisions,
    rooms,
)

runner = CliRunner()


def tree() -> gpd.GeoDataFrame:
    d = divisions()
    return gpd.GeoDataFrame(division_tree(d), geometry=d.geometry.values, crs=d.crs)


@pytest.fixture(scope="module")
def report() -> TopologyReport:
    b = buildings().rename(columns={"building_id": "id"})
    r = rooms().rename(columns={"楼栋": "building", "室号": "room_no", "楼层": "floor"})
    return check_topology(tree(), None, b, r, tolerance_m2=1.0)


def findings(report: TopologyReport, kind: str) -> pd.DataFrame:
    frame = report.findings_frame()
    return frame[frame["kind"] == kind].reset_index(drop=True)


def located_in(row: pd.Series, polygon: BaseGeometry) -> bool:
    """Whether the finding's lon/lat (EPSG:4490) falls inside ``polygon`` (EPSG:4549)."""
    at = gpd.GeoSeries(gpd.points_from_xy([row["lon"]], [row["lat"]]), crs="EPSG:4490")
    return bool(polygon.contains(at.to_crs(PROJECTED).iloc[0]))


def test_the_gap_is_found_located_and_measured(report: TopologyReport) -> None:
    gaps = findings(report, "gap")
    assert gaps["code"].tolist() == ["310112"]
    assert gaps["area_m2"].iloc[0] == pytest.approx(NOTCH.area, rel=0.01)
    assert located_in(gaps.iloc[0], NOTCH)


def test_the_overlap_is_found_located_and_measured(report: TopologyReport) -> None:
    overlaps = findings(report, "overlap")
    assert len(overlaps) == 1
    assert {overlaps["code"].iloc[0], overlaps["other"].iloc[0]} == {"310112001", "310112002"}
    assert overlaps["area_m2"].iloc[0] == pytest.approx(OVERLAP.area, rel=0.01)
    assert located_in(overlaps.iloc[0], OVERLAP)


def test_the_stray_child_is_found_located_and_measured(report: TopologyReport) -> None:
    stray = findings(report, "child_outside_parent")
    assert stray[["code", "other"]].values.tolist() == [["310112003", "310112"]]
    assert stray["area_m2"].iloc[0] == pytest.approx(STRAY.area, rel=0.01)
    assert located_in(stray.iloc[0], STRAY)


def test_the_straddling_building_is_listed_with_its_shares(report: TopologyReport) -> None:
    straddles = findings(report, "building_straddles")
    assert straddles["code"].tolist() == ["B2"]
    assert straddles["other"].iloc[0] == "310112001002"
    assert "310112001001 60.0%" in straddles["detail"].iloc[0]
    assert "310112001002 40.0%" in straddles["detail"].iloc[0]
    assert straddles["area_m2"].iloc[0] == pytest.approx(STRADDLER.area, rel=0.01)
    assert located_in(straddles.iloc[0], STRADDLER)


def test_every_building_is_assigned_to_its_largest_overlap() -> None:
    d = tree().to_crs(PROJECTED)
    communities = d[d["level"] == "community"]
    b = buildings().rename(columns={"building_id": "id"})
    assigned, _ = assign_buildings(b, communities, "community")
    assert dict(zip(assigned["building_id"], assigned["code"], strict=True)) == {
        "B1": "310112001001",
        "B2": "310112001001",
        "B3": "310112002001",
        "B4": "310112002002",  # a point building, placed by the point
    }
    assert assigned.set_index("building_id").loc["B2", "share"] == pytest.approx(0.6)


def test_slivers_below_the_tolerance_are_snapped_not_reported(report: TopologyReport) -> None:
    assert report.snapped["count"] >= 1
    assert report.snapped["area_m2"] == pytest.approx(0.25, abs=0.01)  # the sliver, float dust
    street = next(p for p in report.parents if p["code"] == "310112002")
    assert street["gap_m2"] == pytest.approx(0.25, abs=0.01)
    assert not any(f.code == "310112002" for f in report.findings)


def test_rooms_are_checked_against_their_buildings(report: TopologyReport) -> None:
    assert findings(report, "room_floor_out_of_range")["code"].tolist() == ["B1"]
    assert "[7]" in findings(report, "room_floor_out_of_range")["detail"].iloc[0]
    assert findings(report, "room_in_nonresidential_building")["code"].tolist() == ["B3"]
    assert findings(report, "room_without_building")["code"].tolist() == ["ZZ"]


def test_a_bigger_tolerance_snaps_the_gap(report: TopologyReport) -> None:
    b = buildings().rename(columns={"building_id": "id"})
    loose = check_topology(tree(), None, b, None, tolerance_m2=700.0)
    assert "gap" not in loose.summary()
    assert "overlap" in loose.summary()


def test_duplicates_and_orphans() -> None:
    d = divisions()
    extra = gpd.GeoDataFrame(
        {"code": ["310112001001", "310112009001"], "name": ["重复", "孤儿居委会"]},
        geometry=[box(0, 0, 10, 10), box(10, 10, 20, 20)],
        crs=PROJECTED,
    )
    both = pd.concat([d, extra], ignore_index=True)
    t = gpd.GeoDataFrame(division_tree(both), geometry=both.geometry.values, crs=PROJECTED)
    summary = check_topology(t, None, buildings().rename(columns={"building_id": "id"}), None)
    assert summary.summary()["duplicate_code"] == 1
    assert summary.summary()["division_without_parent"] == 1


def test_grids_are_children_of_their_committee() -> None:
    grids = gpd.GeoDataFrame(
        {
            "grid_code": ["310112001001001", "310112001001002"],
            "community_code": ["310112001001", "310112001001"],
        },
        geometry=[box(0, 0, 250, 1000), box(250, 0, 490, 1000)],  # 10 m short: a gap
        crs=PROJECTED,
    )
    b = buildings().rename(columns={"building_id": "id"})
    result = check_topology(tree(), grids, b, None)
    gap = [f for f in result.findings if f.kind == "gap" and f.code == "310112001001"]
    assert len(gap) == 1 and gap[0].area_m2 == pytest.approx(10 * 1000, rel=0.01)


def test_check_space_reads_the_project_and_writes_json_and_geojson(tmp_path: Path) -> None:
    folder = broken_city(tmp_path / "city")
    out_json, out_geojson = tmp_path / "check.json", tmp_path / "check.geojson"
    result = runner.invoke(
        app,
        ["check", "space", str(folder), "--json", str(out_json), "--geojson", str(out_geojson)],
    )
    assert result.exit_code == 1, result.output
    data = json.loads(out_json.read_text(encoding="utf-8"))
    assert set(data) >= {"tolerance_m2", "parents", "findings", "summary", "snapped"}
    assert data["tolerance_m2"] == 1.0
    assert set(data["parents"][0]) == {
        "code",
        "name",
        "level",
        "area_m2",
        "gap_m2",
        "overlap_m2",
        "children",
    }
    assert set(data["findings"][0]) == {"kind", "code", "other", "area_m2", "lon", "lat", "detail"}
    assert data["summary"] == {
        "building_straddles": 1,
        "child_outside_parent": 1,
        "gap": 1,
        "overlap": 1,
        "room_floor_out_of_range": 1,
        "room_in_nonresidential_building": 1,
        "room_without_building": 1,
    }
    layer = gpd.read_file(out_geojson)
    assert layer.crs.to_epsg() == 4490
    gap = layer[layer["kind"] == "gap"].to_crs(PROJECTED)
    assert gap.area.iloc[0] == pytest.approx(NOTCH.area, rel=0.01)
    assert "gap" in result.output or "gap" in (result.stderr or "")
    # Every code is printed whole, however narrow the terminal.
    printed = result.output + (result.stderr or "")
    for finding in data["findings"]:
        assert finding["code"] in printed


def test_check_space_exits_0_on_clean_layers(tmp_path: Path) -> None:
    folder = broken_city(tmp_path / "city")
    clean = divisions()
    clean = clean[clean["code"].isin(["310112", "310112001"])]  # one street: no tiling
    clean = clean.assign(geometry=[box(0, 0, 1000, 1000), box(0, 0, 1000, 1000)])
    clean.to_file(folder / "divisions.gpkg", layer="divisions", driver="GPKG")
    b = buildings()
    b[b["building_id"] == "B1"].to_crs("EPSG:4326").to_file(folder / "buildings.geojson")
    (folder / "rooms.csv").write_text("楼栋,室号,楼层\nB1,101,1\n", encoding="utf-8")
    result = runner.invoke(app, ["check", "space", str(folder)])
    assert result.exit_code == 0, result.output
    check = check_space(load_project(folder))
    assert check.clean and check.layers["buildings"] == {
        "read": 1,
        "loaded": 1,
        "set_aside": 0,
        "repaired": 0,
    }


def test_check_space_exits_2_when_a_layer_cannot_be_read(tmp_path: Path) -> None:
    folder = broken_city(tmp_path / "city")
    (folder / "buildings.geojson").write_text("{not json", encoding="utf-8")
    result = runner.invoke(app, ["check", "space", str(folder)])
    assert result.exit_code == 2
    assert "buildings.geojson" in result.output


def test_set_aside_features_are_findings(tmp_path: Path) -> None:
    folder = broken_city(tmp_path / "city")
    b = buildings().to_crs("EPSG:4326")
    b.loc[0, "geometry"] = None
    b.to_file(folder / "buildings.geojson", driver="GeoJSON")
    check = check_space(load_project(folder))
    aside = [f for f in check.report.findings if f.kind == "feature_set_aside"]
    assert [(f.code, f.other) for f in aside] == [("B1", "buildings")]
    assert aside[0].detail.startswith("geometry_missing")
    d = divisions()
    d.loc[7, "code"] = None
    d.to_file(folder / "divisions.gpkg", layer="divisions", driver="GPKG")
    check = check_space(load_project(folder))
    blank = [f for f in check.report.findings if f.detail.startswith("key_missing")]
    assert [(f.code, f.other) for f in blank] == [("#8", "divisions")]
    # Counted as the build counts it: read, and set aside for its missing code.
    counts = check.layers["divisions"]
    assert (counts["read"], counts["loaded"], counts["set_aside"]) == (8, 7, 1)


def test_the_sample_city_tiles(tmp_path: Path) -> None:
    folder = tmp_path / "sample"
    generate_sample(folder, SampleOptions(persons=200, seed=1, streets=2, communities_per_street=2))
    check = check_space(load_project(folder))
    assert check.clean, check.report.summary()
    assert len(check.report.parents) == 3 + 4  # district, 2 streets; 4 committees (grids)
    assert all(p["gap_m2"] < 1 and p["overlap_m2"] < 1 for p in check.report.parents)


def test_the_findings_table_shows_codes_whole_and_the_units_dissolved(tmp_path: Path) -> None:
    folder = broken_city(tmp_path / "city")
    d = divisions()
    d[d["code"] != "310112"].to_file(folder / "divisions.gpkg", layer="divisions", driver="GPKG")
    check = check_space(load_project(folder))
    console = Console(width=80, record=True)
    for table in check.tables():
        console.print(table)
    shown = console.export_text()
    codes = {f.code for f in check.report.findings[:FINDINGS_SHOWN]} - {""}
    assert codes and all(code in shown for code in codes), shown
    # The district no layer gives is made from its streets, and listed.
    assert check.dissolved["code"].tolist() == ["310112"]
    assert "310112 │ 闵行区 │ district │" in shown
