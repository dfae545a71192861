"""The graph of a built city: every node and edge of the base, read back with Cypher."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from typer.testing import CliRunner

from popbase.cli import app
from popbase.config import load_project
from popbase.ops.cypher import run_cypher
from popbase.ops.snapshot import current_snapshot
from popbase.store.graph import NODES, RELS
from popbase.store.ladybug_store import GraphError, LadybugStore


@pytest.fixture(scope="module")
def graph(built_city: Path) -> Iterator[LadybugStore]:
    snapshot = current_snapshot(load_project(built_city).output_dir)
    store = LadybugStore(snapshot.graph_db, read_only=True)
    yield store
    store.close()


def base(built_city: Path, sql: str) -> pd.DataFrame:
    db = current_snapshot(load_project(built_city).output_dir).base_db
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).df()


def count(graph: LadybugStore, cypher: str) -> int:
    return int(graph.query(cypher).iloc[0, 0])


def test_every_label_and_relationship_is_loaded(graph: LadybugStore) -> None:
    for label in NODES:
        assert count(graph, f"MATCH (n:{label}) RETURN count(n)") > 0, label
    for rel in RELS:
        assert count(graph, f"MATCH ()-[e:{rel}]->() RETURN count(e)") > 0, rel


def test_nodes_match_the_served_tables(built_city: Path, graph: LadybugStore) -> None:
    persons = base(built_city, "SELECT * FROM persons")
    units = base(built_city, "SELECT code, level FROM units")
    assert count(graph, "MATCH (p:Person) RETURN count(p)") == len(persons)
    assert count(graph, "MATCH (g:Grid) RETURN count(g)") == int((units["level"] == "grid").sum())
    households = persons["household_id"].dropna().nunique()
    assert count(graph, "MATCH (h:Household) RETURN count(h)") == households
    members = int(persons["household_id"].notna().sum())
    assert count(graph, "MATCH (:Person)-[m:MEMBER_OF]->(:Household) RETURN count(m)") == members
    employed = int(persons["employer_credit_code"].notna().sum())
    working = "MATCH (p:Person)-[:WORKS_AT]->(:Enterprise) RETURN count(DISTINCT p)"
    assert count(graph, working) == employed
    hukou = int(persons["hukou_room_id"].notna().sum())
    assert count(graph, "MATCH (:Person)-[h:HUKOU_AT]->(:Room) RETURN count(h)") == hukou


def test_a_household_counts_its_members(graph: LadybugStore) -> None:
    rows = graph.query(
        "MATCH (p:Person)-[:MEMBER_OF]->(h:Household) "
        "RETURN h.household_id AS id, h.members AS members, count(p) AS linked"
    )
    assert (rows["members"] == rows["linked"]).all()


def test_placed_nodes_carry_the_code_of_their_smallest_unit(graph: LadybugStore) -> None:
    rooms = graph.query(
        "MATCH (r:Room)-[:IN_BUILDING]->(b:Building) "
        "RETURN r.division_code AS room, b.division_code AS building"
    )
    assert (rooms["room"] == rooms["building"]).all()
    in_grid = graph.query(
        "MATCH (b:Building)-[:IN_GRID]->(g:Grid) RETURN b.division_code AS b, g.code AS g"
    )
    assert len(in_grid) and (in_grid["b"] == in_grid["g"]).all()
    residents = graph.query(
        "MATCH (p:Person)-[:LIVES_IN]->(r:Room) "
        "RETURN p.division_code AS person, r.division_code AS room"
    )
    assert len(residents)
    assert (residents["person"] == residents["room"]).all()
    grids = graph.query("MATCH (g:Grid)-[:PART_OF]->(d:Division) RETURN g.code AS g, d.code AS d")
    assert all(g.startswith(d) for g, d in zip(grids["g"], grids["d"], strict=True))


def test_links_keep_their_source_and_date(built_city: Path, graph: LadybugStore) -> None:
    for rel, target in (
        ("LIVES_IN", "Room"),
        ("WORKS_AT", "Enterprise"),
        ("MEMBER_OF", "Household"),
    ):
        rows = graph.query(
            f"MATCH (:Person)-[e:{rel}]->(:{target}) RETURN e.source AS source, e.as_of AS as_of"
        )
        assert rows["source"].notna().all() and rows["as_of"].notna().all(), rel
    # The record behind a residence link is in the served tables.
    lives = graph.query(
        "MATCH (p:Person)-[e:LIVES_IN]->(r:Room) "
        "RETURN p.person_id AS person_id, r.room_id AS room_id, e.source AS source"
    )
    behind = base(
        built_city,
        "SELECT o.person_id, k.room_id, k.source FROM record_links k "
        "JOIN record_outcomes o USING (record_id) WHERE k.address_kind = 'residence'",
    )
    found = lives.merge(behind, on=["person_id", "room_id", "source"]).drop_duplicates("person_id")
    # Every link but those a residency rule placed at the hukou room (on a presence row, or
    # with the household there), which cite the hukou or presence record.
    at_hukou = base(
        built_city,
        "SELECT person_id FROM persons WHERE residency_rule IN "
        "('located_at_hukou', 'household_at_hukou', 'child_with_household')",
    )["person_id"]
    listed = lives[~lives["person_id"].isin(set(at_hukou))]
    assert len(found) >= len(listed)
    assert set(listed["person_id"]) <= set(found["person_id"])


def test_a_persons_household_and_room_in_one_query(built_city: Path, graph: LadybugStore) -> None:
    person = base(
        built_city,
        "SELECT person_id, room_id, household_id FROM persons "
        "WHERE room_id IS NOT NULL AND household_id IS NOT NULL LIMIT 1",
    ).iloc[0]
    rows = graph.query(
        "MATCH (p:Person {person_id: $id})-[:LIVES_IN]->(r:Room), (p)-[:MEMBER_OF]->(h:Household) "
        "RETURN r.room_id AS room, h.household_id AS household",
        {"id": person["person_id"]},
    )
    assert rows.to_dict("records") == [
        {"room": person["room_id"], "household": person["household_id"]}
    ]


def test_cypher_reads_the_current_snapshot_and_never_writes(built_city: Path) -> None:
    output = load_project(built_city).output_dir
    rows = run_cypher(
        output, "MATCH (d:Division {level: $level}) RETURN d.code", {"level": "street"}
    )
    assert len(rows) > 0
    with pytest.raises(GraphError):
        run_cypher(output, "CREATE (:Division {code: '1', name: 'x'})")
    assert len(run_cypher(output, "MATCH (d:Division {code: '1'}) RETURN d")) == 0


@pytest.mark.parametrize("fmt", ["table", "csv", "json"])
def test_the_cypher_command_prints_rows(built_city: Path, fmt: str) -> None:
    query = "MATCH (d:Division) WHERE d.level = $level RETURN d.code AS code, d.name AS name"
    result = CliRunner().invoke(
        app, ["cypher", str(built_city), query, "--param", "level=street", "--format", fmt]
    )
    assert result.exit_code == 0, result.output
    streets = base(built_city, "SELECT code, name FROM units WHERE level = 'street'")
    for name in streets["name"]:
        assert name in result.stdout
    if fmt == "csv":
        assert result.stdout.splitlines()[0] == "code,name"
    if fmt == "json":
        records = json.loads(result.stdout)
        assert sorted(r["code"] for r in records) == sorted(streets["code"])


def test_a_bad_query_is_a_clean_error(built_city: Path) -> None:
    result = CliRunner().invoke(app, ["cypher", str(built_city), "MATCH (n:Nope) RETURN n"])
    assert result.exit_code == 1
    assert "error:" in result.stderr and "Traceback" not in result.output
