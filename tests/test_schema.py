"""Declared build tables: typed writes, empty outputs, and declarations that match the build."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pytest

from popbase.backends import DuckDBBackend
from popbase.config import load_project
from popbase.ops.snapshot import WORK_DB, current_snapshot
from popbase.pipeline import STAGES
from popbase.schema import TABLES, DeclaredTables, TableSchemaError, conform, conform_tables


def test_an_empty_frame_of_untyped_columns_arrives_typed() -> None:
    empty = pd.DataFrame(columns=["grid_code", "name", "community_code", "area_km2", "geometry"])
    table = conform("grids", empty)
    assert table.num_rows == 0
    assert table.schema.field("grid_code").type == pa.string()
    assert table.schema.field("area_km2").type == pa.float64()
    assert table.schema.field("geometry").type == pa.binary()


def test_missing_columns_are_null_and_order_follows_the_declaration() -> None:
    frame = pd.DataFrame({"rows_in": [3, 4], "source": ["a", "b"]})
    table = conform("rows_in", frame)
    assert table.column_names == ["source", "rows_in"]
    frame = pd.DataFrame({"layer": ["buildings"], "reason": ["key_missing"]})
    table = conform("space_quarantine", frame)
    assert table.to_pylist() == [
        {"layer": "buildings", "feature": None, "reason": "key_missing", "detail": None}
    ]


def test_all_missing_and_mixed_values_take_the_declared_type() -> None:
    frame = pd.DataFrame(
        {
            "building_id": ["b1", "b2"],
            "compound": [None, None],  # an engine would guess a number for all-missing
            "floors": [6.0, float("nan")],
            "address": ["七莘路1号", 12],  # text and a number in one column
        }
    )
    table = conform("buildings", frame)
    assert table.schema.field("compound").type == pa.string()
    assert table.column("floors").to_pylist() == [6, None]
    assert table.column("address").to_pylist() == ["七莘路1号", "12"]


def test_an_undeclared_column_or_an_impossible_value_is_refused() -> None:
    with pytest.raises(TableSchemaError, match=r"no column 'colour'.*Fix: declare"):
        conform("rows_in", pd.DataFrame({"source": ["a"], "colour": ["red"]}))
    with pytest.raises(TableSchemaError, match=r"'rows_in'.*declared BIGINT"):
        conform("rows_in", pd.DataFrame({"source": ["a"], "rows_in": ["many"]}))


def test_declared_tables_type_what_is_put_and_appended() -> None:
    db = DeclaredTables(DuckDBBackend())
    db.put("presence_places", pd.DataFrame(columns=["person_id", "place"], dtype=object))
    db.append(
        "presence_places",
        pd.DataFrame({"person_id": ["p1"], "as_of": [dt.datetime(2026, 10, 31)]}),
    )
    types = dict(db.query_df("DESCRIBE presence_places")[["column_name", "column_type"]].to_numpy())
    assert types["person_id"] == "VARCHAR" and types["as_of"] == "TIMESTAMP"
    # A join on the empty-then-appended table works like on any other.
    assert db.scalar("SELECT count(*) FROM presence_places WHERE person_id IN ('p1')") == 1
    db.put("scratch", pd.DataFrame({"x": [1]}))  # undeclared tables are stored as given
    assert db.scalar("SELECT x FROM scratch") == 1


def test_a_frame_the_engine_cannot_scan_as_one_type_still_arrives_typed() -> None:
    db = DeclaredTables(DuckDBBackend())
    frame = pd.DataFrame({"building_id": ["b1", "b2"], "address": ["七莘路1号", 12]})
    db.put("buildings", frame)
    assert db.query_df("SELECT address FROM buildings")["address"].tolist() == ["七莘路1号", "12"]
    with pytest.raises(TableSchemaError, match="colour"):
        db.put("buildings", frame.assign(colour="red"))


def test_conform_tables_creates_what_is_missing_and_casts_what_drifted() -> None:
    db = DuckDBBackend()
    db.execute("CREATE TABLE rows_in (source VARCHAR, rows_in VARCHAR)")
    db.execute("INSERT INTO rows_in VALUES ('a', '12')")
    changes = conform_tables(db, ["rows_in", "facilities"])
    assert changes == ["rows_in.rows_in: VARCHAR cast to BIGINT"]
    assert db.scalar("SELECT rows_in + 1 FROM rows_in") == 13
    assert db.scalar("SELECT count(*) FROM facilities") == 0
    assert conform_tables(db, ["rows_in", "facilities"]) == []


def test_every_stage_writes_only_declared_tables_and_every_declaration_is_written() -> None:
    written = [name for stage in STAGES for name in stage.writes]
    assert len(written) == len(set(written)), "two stages declare the same table"
    assert set(written) == set(TABLES)


def test_the_build_holds_every_declared_table_exactly_as_declared(built_city: Path) -> None:
    snapshot = current_snapshot(load_project(built_city).output_dir)
    work = next((built_city / "work").glob(f"*/{WORK_DB}"), None)
    assert work is not None, snapshot
    with duckdb.connect(str(work), read_only=True) as con:
        held = con.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'main' ORDER BY table_name, ordinal_position"
        ).fetchall()
    actual: dict[str, list[tuple[str, str]]] = {}
    for table, column, kind in held:
        actual.setdefault(table, []).append((column, kind))
    for name, declared in TABLES.items():
        assert actual.get(name) == list(declared.columns), name
