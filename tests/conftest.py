"""Shared fixtures, one section per topic."""

from __future__ import annotations

import datetime as dt
import json
import warnings
from pathlib import Path

import duckdb
import geopandas as gpd
import pandas as pd
import pyarrow as pa
import pytest
import shapely

from popbase.ops.snapshot import BASE_DB, MANIFEST, REPORT, finish_build, start_build
from popbase.sample.city import SampleOptions, generate_sample
from popbase.space.crs import GEOGRAPHIC, SHANGHAI_PROJECTED

# ---------------------------------------------------------------------------------------
# Served base: a published snapshot of a small sample city, for the API and the dashboard
# ---------------------------------------------------------------------------------------

SERVED_SAMPLE = SampleOptions(persons=600, streets=2, communities_per_street=3)


def _served_units(sample: Path) -> pd.DataFrame:
    divisions = gpd.read_file(sample / "basemap" / "divisions.geojson").to_crs(GEOGRAPHIC)
    persons = pd.read_parquet(sample / "truth" / "persons.parquet")
    households = pd.read_parquet(sample / "truth" / "households.parquet")
    residents = persons[persons["presence"] == "resident"]
    resident = residents.groupby("community_code").size()
    homes = households.groupby("community_code").size()
    units = pd.DataFrame(divisions.drop(columns="geometry"))
    units["resident"] = units["code"].map(resident)
    units["households"] = units["code"].map(homes)
    # Sum communities up to streets, then streets up to the district.
    for level, child in (("street", "community"), ("district", "street")):
        below = units[units["level"] == child].groupby("parent_code")
        for column in ("resident", "households"):
            sums = below[column].sum()
            at = units["level"] == level
            units.loc[at, column] = units.loc[at, "code"].map(sums)
    units[["resident", "households"]] = units[["resident", "households"]].fillna(0).astype(int)
    units["area_km2"] = divisions.to_crs(SHANGHAI_PROJECTED).area.to_numpy() / 1e6
    units["geometry"] = shapely.to_wkb(divisions.geometry.to_numpy())
    return units[
        ["code", "name", "level", "parent_code", "resident", "households", "area_km2", "geometry"]
    ]


def _served_buildings(sample: Path) -> pd.DataFrame:
    footprints = gpd.read_file(sample / "basemap" / "buildings.gpkg").to_crs(GEOGRAPHIC)
    truth = pd.read_parquet(sample / "truth" / "buildings.parquet").set_index("building_id")
    persons = pd.read_parquet(sample / "truth" / "persons.parquet")
    residents = persons[persons["presence"] == "resident"]
    building_of = residents["residence_room_id"].str.split("-").str[0]
    resident = building_of.value_counts()
    ids = footprints["building_id"]
    return pd.DataFrame(
        {
            "building_id": ids,
            "address": footprints["address"],
            "use": footprints["use"],
            "floors": footprints["floors"].astype("Int64"),
            "division_code": ids.map(truth["community_code"]),
            "grid_code": ids.map(truth["grid_code"]),
            "resident": ids.map(resident).fillna(0).astype(int),
            "geometry": shapely.to_wkb(footprints.geometry.to_numpy()),
        }
    )


def publish_served_snapshot(sample: Path, output_dir: Path) -> Path:
    """Write ``units`` and ``buildings`` of a sample city as a snapshot and publish it."""
    building = start_build(output_dir)
    units = _served_units(sample)
    buildings = _served_buildings(sample)
    with duckdb.connect(str(building / BASE_DB)) as con:
        for name, frame in (("units", units), ("buildings", buildings)):
            table = pa.Table.from_pandas(frame, preserve_index=False)
            con.register("frame", table)
            con.execute(f"CREATE TABLE {name} AS SELECT * FROM frame")
            con.unregister("frame")
    district = units[units["level"] == "district"].iloc[0]
    manifest = {
        "id": building.name.removesuffix(".building"),
        "project": f"{district['name']}样例",
        "region": {"code": district["code"], "name": district["name"]},
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "counts": {"units": len(units), "buildings": len(buildings)},
    }
    report = {"stages": [], "records": {"total": 0}}
    (building / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    (building / REPORT).write_text(json.dumps(report, ensure_ascii=False), encoding="utf-8")
    finish_build(building)
    return output_dir


@pytest.fixture(scope="session")
def served_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The output folder of a sample project with one published snapshot."""
    project = tmp_path_factory.mktemp("served") / "project"
    with warnings.catch_warnings():
        # popbase.sample.buildings fills an all-NaN village column with "" (pandas 3 warns
        # when no committee of the sample is a village).
        warnings.filterwarnings("ignore", "'str' is not supported as a fill value")
        generate_sample(project, SERVED_SAMPLE)
    return publish_served_snapshot(project, project)
