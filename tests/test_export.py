"""``popbase export``: unit counts as files GDAL reads back as written."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import duckdb
import geopandas as gpd
import pandas as pd
import pyarrow.parquet as pq
import pyogrio
import pytest
from typer.testing import CliRunner

from popbase.cli import app
from popbase.config import load_project
from popbase.ops.export import COLUMNS, ZH_LABELS, ExportError, export_units
from popbase.ops.snapshot import current_snapshot


def served_units(built_city: Path, level: str) -> pd.DataFrame:
    db = current_snapshot(load_project(built_city).output_dir).base_db
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(
            f"SELECT {', '.join(COLUMNS)} FROM units WHERE level = ? ORDER BY code", [level]
        ).df()


def read_back(path: Path) -> gpd.GeoDataFrame:
    """What a GIS user gets: GDAL (through pyogrio) for GeoPackage and CSV.

    GeoParquet is read by its own metadata (the GDAL bundled here has no Parquet
    driver); its ``geo`` metadata is checked against the specification's required keys.
    """
    if path.suffix == ".geoparquet":
        geo = json.loads(pq.read_schema(path).metadata[b"geo"])
        assert geo["version"].startswith("1.") and geo["primary_column"] == "geometry"
        assert geo["columns"]["geometry"]["encoding"] == "WKB"
        return gpd.read_parquet(path)
    return pyogrio.read_dataframe(path)


@pytest.mark.parametrize("fmt", ["gpkg", "geoparquet", "csv"])
@pytest.mark.parametrize("level", ["street", "community", "grid"])
def test_each_format_reads_back_with_its_counts_and_names(
    built_city: Path, tmp_path: Path, fmt: str, level: str
) -> None:
    out = tmp_path / f"units.{fmt}"
    rows = export_units(load_project(built_city).output_dir, level, fmt, out)
    expected = served_units(built_city, level)
    assert rows == len(expected) > 0
    got = read_back(out).sort_values("code").reset_index(drop=True)
    assert got["code"].astype(str).tolist() == expected["code"].tolist()
    assert got["name"].tolist() == expected["name"].tolist()  # Chinese intact
    for measure in ("resident", "usual_resident", "registered", "households"):
        assert got[measure].astype(int).tolist() == expected[measure].astype(int).tolist()
    assert got.geometry.notna().all() and got.geometry.is_valid.all()
    if fmt != "csv":
        assert got.crs is not None and got.crs.to_epsg() == 4490


def test_chinese_field_names(built_city: Path, tmp_path: Path) -> None:
    out = tmp_path / "streets.gpkg"
    export_units(load_project(built_city).output_dir, "street", "gpkg", out, labels="zh")
    info = pyogrio.read_info(out)
    assert list(info["fields"]) == [ZH_LABELS[c] for c in COLUMNS]
    assert info["layer_name"] == "street" and info["crs"] == "EPSG:4490"
    streets = read_back(out)
    assert streets["实有人口"].sum() == served_units(built_city, "street")["resident"].sum()


def test_csv_opens_in_a_spreadsheet(built_city: Path, tmp_path: Path) -> None:
    out = tmp_path / "communities.csv"
    export_units(load_project(built_city).output_dir, "community", "csv", out)
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM spreadsheet programs need for Chinese
    table = pd.read_csv(out, encoding="utf-8-sig", dtype={"code": str, "parent_code": str})
    assert table["wkt"].str.startswith(("POLYGON", "MULTIPOLYGON")).all()
    assert table["name"].tolist() == served_units(built_city, "community")["name"].tolist()


@pytest.mark.parametrize(
    ("level", "fmt", "says"),
    [("village", "gpkg", "--level 'village'"), ("street", "shp", "--format 'shp'")],
)
def test_an_unknown_level_or_format_says_what_to_use(
    built_city: Path, tmp_path: Path, level: str, fmt: str, says: str
) -> None:
    with pytest.raises(ExportError, match=says):
        export_units(load_project(built_city).output_dir, level, fmt, tmp_path / "x")
    result = CliRunner().invoke(
        app, ["export", str(built_city), "--level", level, "--format", fmt, "--out", "x"]
    )
    assert result.exit_code == 1 and "error:" in result.stderr and says in result.stderr


def test_the_export_command(built_city: Path, tmp_path: Path) -> None:
    out = tmp_path / "c.gpkg"
    result = CliRunner().invoke(app, ["export", str(built_city), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "written to" in result.stderr
    assert len(read_back(out)) == len(served_units(built_city, "community"))


def test_a_level_without_units_is_an_error_naming_the_levels_that_have_some(
    copy_city: Callable[..., Path], tmp_path: Path
) -> None:
    # A snapshot built before the area's unit was dissolved from its children: no district.
    city = copy_city()
    with duckdb.connect(str(current_snapshot(load_project(city).output_dir).base_db)) as con:
        con.execute("DELETE FROM units WHERE level = 'district'")
        per_level = dict(con.execute("SELECT level, count(*) FROM units GROUP BY level").fetchall())
    out = tmp_path / "district.gpkg"
    with pytest.raises(ExportError, match="the snapshot has no district units") as info:
        export_units(load_project(city).output_dir, "district", "gpkg", out)
    assert (
        f"levels with units: street ({per_level['street']}), community "
        f"({per_level['community']}), grid ({per_level['grid']:,})"
    ) in str(info.value)
    assert not out.exists()
    result = CliRunner().invoke(
        app, ["export", str(city), "--level", "district", "--out", str(out)]
    )
    assert result.exit_code == 1 and "no district units" in result.stderr
