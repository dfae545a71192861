"""The area's own unit, and streets, dissolved from their children when no layer gives them.

The build test removes the district feature from the tiny sample city: the district unit
must still appear, with the canonical build's counts, in the roll-ups, the summary, the
map's outline, the residency statistics and ``popbase export --level district``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from popbase.cli import app
from popbase.config import load_project
from popbase.ops.snapshot import current_snapshot
from popbase.pipeline import run
from popbase.space.dissolve import dissolve_missing, missing_ancestors


def committees(*codes: str) -> gpd.GeoDataFrame:
    """Committees side by side as unit squares, in the order given."""
    return gpd.GeoDataFrame(
        {
            "code": list(codes),
            "name": [f"{c}居委会" for c in codes],
            "level": "community",
            "parent_code": [c[:9] for c in codes],
        },
        geometry=[shapely.box(i, 0, i + 1, 1) for i in range(len(codes))],
        crs="EPSG:4490",
    )


def test_streets_then_the_area_are_dissolved_from_committees() -> None:
    units, made = dissolve_missing(
        committees("310112001001", "310112001002", "310112006001"), "310112", "闵行区样例"
    )
    assert made.to_dict(orient="list") == {
        "code": ["310112001", "310112006", "310112"],
        "name": ["江川路街道", "古美街道", "闵行区"],  # from the bundled NBS tables
        "level": ["street", "street", "district"],
        "children": [2, 1, 2],
        "name_from": ["bundled", "bundled", "bundled"],
    }
    shapes = units.set_index("code").geometry
    assert shapes["310112001"].equals(shapely.box(0, 0, 2, 1))
    assert shapes["310112"].equals(shapely.box(0, 0, 3, 1))
    parents = units.set_index("code")["parent_code"]
    assert parents[["310112001", "310112006", "310112"]].tolist() == ["310112", "310112", "3101"]


def test_a_unit_no_table_knows_is_named_by_its_children_the_project_or_its_code() -> None:
    units, made = dissolve_missing(
        committees("990101001001", "990101002001"),
        "990101",
        "新区人口底数",
        parent_names={"990101001": "新城街道"},
    )
    names = zip(made["name"], made["name_from"], strict=True)
    assert dict(zip(made["code"], names, strict=True)) == {
        "990101001": ("新城街道", "children"),
        "990101002": ("990101002", "code"),
        "990101": ("新区人口底数", "project"),
    }
    assert len(units) == 5


def test_nothing_is_made_above_or_outside_the_area_nor_when_nothing_is_missing() -> None:
    street, made = dissolve_missing(committees("310112001001"), "310112001")
    assert made["code"].tolist() == ["310112001"]  # a street's project: the street only
    again, nothing = dissolve_missing(street, "310112001")
    assert nothing.empty and again is street
    assert missing_ancestors(pd.Series(["310113001001", "310112001001"]), "310112") == [
        "310112001",
        "310112",
    ]


# ---------------------------------------------------------------------------------------
# A city whose divisions layer has no district feature
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def districtless_city(copy_city: Callable[..., Path]) -> Path:
    folder = copy_city(snapshots=False)
    path = folder / "basemap" / "divisions.geojson"
    layer = gpd.read_file(path)
    path.unlink()
    layer[layer["level"] != "district"].to_file(path, driver="GeoJSON")
    run(load_project(folder))
    return folder


def served(folder: Path, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(current_snapshot(folder).base_db), read_only=True) as con:
        return con.execute(sql).df()


DISTRICT = "SELECT * EXCLUDE (geometry) FROM units WHERE level = 'district'"


def test_the_district_is_rolled_up_as_if_it_were_given(
    built_city: Path, districtless_city: Path
) -> None:
    given, made = served(built_city, DISTRICT), served(districtless_city, DISTRICT)
    assert made["code"].tolist() == ["310112"] and made["name"].tolist() == ["闵行区"]
    pd.testing.assert_frame_equal(
        made.drop(columns="area_km2"), given.drop(columns="area_km2"), check_dtype=False
    )
    # The sample's streets tile its district: the union has the district's area.
    assert made["area_km2"].iloc[0] == pytest.approx(given["area_km2"].iloc[0], abs=2e-4)
    report = json.loads((current_snapshot(districtless_city).path / "report.json").read_text())
    assert [u["code"] for u in report["space"]["divisions_dissolved"]] == ["310112"]


@pytest.fixture(scope="module")
def clients(
    built_city: Path,
    districtless_city: Path,
    tmp_path_factory: pytest.TempPathFactory,
    signed_in_client: Callable[..., TestClient],
) -> Iterator[tuple[TestClient, TestClient]]:
    """District officers of the canonical and the districtless city."""
    given = load_project(built_city).output_dir
    made = load_project(districtless_city).output_dir
    access = tmp_path_factory.mktemp("access")
    with (
        signed_in_client(given, access / "given", "district_officer", "310112") as a,
        signed_in_client(made, access / "made", "district_officer", "310112") as b,
    ):
        yield a, b


def test_the_summary_outline_and_residency_show_the_district(
    clients: tuple[TestClient, TestClient],
) -> None:
    given, made = clients
    summary = made.get("/api/summary").json()["totals"]
    assert summary == given.get("/api/summary").json()["totals"]
    assert summary["units"]["district"] == 1
    outline = made.get("/api/units", params={"level": "district"}).json()
    [feature] = outline["features"]
    assert feature["properties"]["code"] == "310112"
    assert feature["geometry"]["type"] in ("Polygon", "MultiPolygon")
    counts = made.get("/api/residency", params={"unit": "310112"})
    assert counts.status_code == 200
    assert counts.json() == given.get("/api/residency", params={"unit": "310112"}).json()


def test_the_district_exports(districtless_city: Path, tmp_path: Path) -> None:
    out = tmp_path / "district.gpkg"
    result = CliRunner().invoke(
        app, ["export", str(districtless_city), "--level", "district", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    district = pyogrio.read_dataframe(out)
    assert district["code"].tolist() == ["310112"] and district["name"].tolist() == ["闵行区"]
    assert district["resident"].iloc[0] == served(districtless_city, DISTRICT)["resident"].iloc[0]
