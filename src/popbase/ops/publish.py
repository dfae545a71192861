"""The publish stage: the graph database and the served tables of a snapshot.

The build's working tables (raw rows, ID numbers, quarantine) stay in ``work.duckdb``;
what is served goes to ``base.duckdb`` (pseudonymised persons, units with counts and
geometry, buildings, rooms, record outcomes and links for scoring) and to the LadybugDB
graph ``graph.lbug``. The report and manifest close the snapshot.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import time
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from popbase import __version__
from popbase.analysis.measures import MEASURES
from popbase.ops.snapshot import (
    BASE_DB,
    GRAPH_DB,
    MANIFEST,
    PERSON_CARDS_FILE,
    PERSON_TAGS_FILE,
)
from popbase.ops.suppression import publish_suppression
from popbase.population.probabilistic import phone_sql
from popbase.security.access import Level, load_roles
from popbase.security.masking import mask_id_number, mask_name, mask_phone
from popbase.security.pseudonym import pseudonym_key
from popbase.security.sealing import seal, seal_key
from popbase.store.graph import NODES, RELS, open_graph
from popbase.store.graph_tables import EDGE_SQL, NODE_SQL

if TYPE_CHECKING:
    from pathlib import Path

    from popbase.context import BuildContext

# Every count of a unit or building (see popbase.analysis.rollup), 0 where none.
_COUNTS = ", ".join(f"coalesce(c.{m}, 0) AS {m}" for m in (*MEASURES, "households"))

SERVED_TABLES: dict[str, str] = {
    "units": f"""
        SELECT d.code, d.name, d.level, d.parent_code, {_COUNTS}, d.area_km2, d.geometry
        FROM divisions d LEFT JOIN unit_counts c USING (code)
    """,
    "grid_units": f"""
        SELECT g.grid_code AS code, g.name, 'grid' AS level, g.community_code AS parent_code,
               {_COUNTS}, g.area_km2, g.geometry
        FROM grids g LEFT JOIN unit_counts c ON c.code = g.grid_code
    """,
    "buildings": f"""
        SELECT b.building_id, b.address, b.use, b.floors, b.division_code, b.community_code,
               b.grid_code,
               {_COUNTS}, b.lon, b.lat, b.geometry
        FROM buildings b LEFT JOIN building_counts c USING (building_id)
    """,
    "rooms": """
        SELECT r.room_id, r.building_id, r.room_no, r.floor, r.origin, b.division_code
        FROM rooms r JOIN buildings b USING (building_id)
    """,
    "persons": """
        SELECT g.person_id, g.sex, CAST(g.birth_date AS DATE) AS birth_date,
               f.age, f.age_band, f.ethnicity,
               CASE WHEN g.deceased THEN 'deceased' ELSE 'alive' END AS status,
               s.residency_status, s.months AS months_here, s.residency_rule, s.months_rule,
               r.division_code, l.room_id, h.room_id AS hukou_room_id,
               hb.division_code AS hukou_division_code,
               w.credit_code AS employer_credit_code, o.household_id, o.relation
        FROM persons_golden g
        LEFT JOIN person_facts f USING (person_id)
        LEFT JOIN lives_in l USING (person_id)
        LEFT JOIN residents r USING (person_id)
        LEFT JOIN residency s USING (person_id)
        LEFT JOIN hukou_at h USING (person_id)
        LEFT JOIN rooms hr ON hr.room_id = h.room_id
        LEFT JOIN buildings hb ON hb.building_id = hr.building_id
        LEFT JOIN member_of o USING (person_id)
        LEFT JOIN (
            -- The current employer: the most recent employment record.
            SELECT person_id, credit_code FROM works_at
            QUALIFY row_number() OVER (
                PARTITION BY person_id ORDER BY as_of DESC NULLS LAST, credit_code
            ) = 1
        ) w USING (person_id)
    """,
    "tags": "SELECT * FROM tags",
    "quality_sources": "SELECT * FROM quality_sources",
    "quality_units": "SELECT * FROM quality_units",
    "unreadable_values": "SELECT * FROM unreadable_values ORDER BY stage, source, field",
    "unit_tags": "SELECT * FROM unit_tags",
    "unit_pyramids": "SELECT * FROM unit_pyramids",
    "person_tags": """
        SELECT person_id, tag, source, record_id, valid_from, valid_to FROM person_tags
    """,
    "record_outcomes": """
        SELECT o.source, o.record_id, o.file, o.row_number, p.record_no, o.kind, o.outcome,
               o.quarantine_stage, o.reason, o.person_id
        FROM record_outcomes o LEFT JOIN (
            SELECT record_id, record_no FROM person_records
            UNION ALL
            SELECT record_id, room_code FROM room_records
            UNION ALL
            SELECT record_id, credit_code FROM enterprise_records
        ) p USING (record_id)
    """,
    "record_links": """
        SELECT source, record_id, address_kind, building_id, room_id, reason FROM record_links
    """,
}


def identifiers_sql() -> str:
    """Each person's ID number, name and mobile number (the most trusted record's)."""
    return f"""
        SELECT g.person_id, g.id18, g.name, p.phone
        FROM persons_golden g LEFT JOIN (
            SELECT m.person_id, {phone_sql("r.phone")} AS phone
            FROM person_records_valid r JOIN person_members m USING (record_id)
            WHERE {phone_sql("r.phone")} IS NOT NULL
            QUALIFY row_number() OVER (
                PARTITION BY m.person_id
                ORDER BY r.priority DESC, r.as_of DESC NULLS LAST, r.record_id
            ) = 1
        ) p USING (person_id)
    """


def identities_table(identifiers: pa.Table, key: bytes) -> pa.Table:
    """``person_id, name, name_masked, id_masked, id_sealed, phone_masked, phone_sealed``.

    No raw ID or phone number is served: each is masked, and sealed for the roles that
    may see it whole (see :mod:`popbase.security.sealing`).
    """
    ids = identifiers.column("id18").to_pylist()
    phones = identifiers.column("phone").to_pylist()
    names = identifiers.column("name").to_pylist()
    text = pa.string()
    return pa.table(
        {
            "person_id": identifiers.column("person_id"),
            "name": pa.array(names, text),
            "name_masked": pa.array([mask_name(n) for n in names], text),
            "id_masked": pa.array([mask_id_number(i) for i in ids], text),
            "id_sealed": pa.array(seal(ids, key), text),
            "phone_masked": pa.array([mask_phone(p) for p in phones], text),
            "phone_sealed": pa.array(seal(phones, key), text),
        }
    )


def person_cards_sql() -> str:
    """``served.person_cards``: each served person with its identity, for the API.

    Sorted by division code, so that a unit's persons lie together (min/max zone maps
    skip the rest), and indexed on ``person_id`` (with ``person_tags``), so that a lookup
    reads one row instead of a million.
    """
    return """
        CREATE OR REPLACE TABLE served.person_cards AS
        SELECT p.*, i.* EXCLUDE (person_id)
        FROM served.persons p LEFT JOIN person_identities i USING (person_id)
        ORDER BY p.division_code, p.person_id
    """


def _write_person_cards(ctx: BuildContext) -> int:
    """Persons with their names, and ID and phone numbers masked and sealed; indexes."""
    key = seal_key(pseudonym_key(ctx.project.output_dir))
    table = identities_table(ctx.db.query_arrow(identifiers_sql()), key)
    with ctx.db.registered("person_identities", table):
        ctx.db.execute(person_cards_sql())
    ctx.db.execute("CREATE INDEX person_cards_id ON served.person_cards (person_id)")
    ctx.db.execute("CREATE INDEX person_tags_id ON served.person_tags (person_id)")
    return int(table.num_rows)


def person_lookup_sql() -> dict[str, str]:
    """Queries of the person lookup files, by file name: served persons and their tags.

    Rows go out in the tables' own order, unsorted: sorting a million persons' cards by id
    here would hold them all in the build's memory at its peak, while the server sorts
    just the ids when it maps the files (:mod:`popbase.api.lookup`). Dates are text, as
    the API serves them.
    """
    return {
        PERSON_CARDS_FILE: """
            SELECT * EXCLUDE (birth_date), CAST(birth_date AS VARCHAR) AS birth_date
            FROM served.person_cards
        """,
        PERSON_TAGS_FILE: """
            SELECT person_id, tag, source, CAST(valid_from AS VARCHAR) AS valid_from,
                   CAST(valid_to AS VARCHAR) AS valid_to
            FROM served.person_tags
        """,
    }


def _write_person_lookup(ctx: BuildContext, folder: Path) -> dict[str, int]:
    """Write the person lookup files beside ``base.duckdb``; return their rows."""
    return {
        name: ctx.db.to_arrow_file(sql, folder / name) for name, sql in person_lookup_sql().items()
    }


def _write_graph(ctx: BuildContext, folder: Path) -> dict[str, Any]:
    """Export node and edge tables to Parquet and bulk-load them into LadybugDB."""
    db = ctx.db
    staging = folder / "graph_load"
    staging.mkdir(exist_ok=True)
    start = time.perf_counter()
    graph_path = folder / GRAPH_DB
    store = open_graph(graph_path)
    try:
        store.create_schema()
        # Nodes before edges: an edge's ends must exist when it is loaded.
        for label, sql in NODE_SQL.items():
            path = staging / f"{label}.parquet"
            db.to_parquet(sql, path)
            store.load_nodes(label, path)
        for (rel, source, target), sql in EDGE_SQL.items():
            path = staging / f"{rel}_{source}_{target}.parquet"
            db.to_parquet(sql, path)
            store.load_edges(rel, source, target, path)
        nodes = {
            label: int(store.query(f"MATCH (n:{label}) RETURN count(n) AS n")["n"].iloc[0])
            for label in NODES
        }
        edges = {
            rel: int(store.query(f"MATCH ()-[e:{rel}]->() RETURN count(e) AS n")["n"].iloc[0])
            for rel in RELS
        }
    finally:
        store.close()
    shutil.rmtree(staging)
    return {"nodes": nodes, "edges": edges, "seconds": round(time.perf_counter() - start, 2)}


def disclosure_floors(ctx: BuildContext) -> list[Level]:
    """The floors below which the project's roles see counts suppressed (its roles file)."""
    access = ctx.project.config.access
    roles = load_roles(ctx.project.path(access.roles) if access.roles else None)
    return sorted({r.suppress_below for r in roles.roles if r.suppress_below is not None})


def publish_snapshot(ctx: BuildContext) -> dict[str, Any]:
    """Write ``base.duckdb``, ``graph.lbug``, ``report.json`` and ``manifest.json``.

    Which counts department roles see suppressed is decided here, once per snapshot
    (:mod:`popbase.ops.suppression`), and stored with the served tables.
    """
    db = ctx.db
    folder = ctx.folder
    db.execute(f"ATTACH '{folder / BASE_DB}' AS served")
    try:
        for name, sql in SERVED_TABLES.items():
            db.execute(f"CREATE OR REPLACE TABLE served.{name} AS {sql}")
        # Grids are units too: one table of units for readers.
        db.execute("INSERT INTO served.units SELECT * FROM served.grid_units")
        db.execute("DROP TABLE served.grid_units")
        _write_person_cards(ctx)
        disclosure = publish_suppression(db, disclosure_floors(ctx))
        _write_person_lookup(ctx, folder)
        graph = _write_graph(ctx, folder)
        totals = db.query_df(
            "SELECT level, count(*) AS units, sum(resident) AS resident "
            "FROM served.units GROUP BY level"
        )
    finally:
        db.execute("DETACH served")
    project = ctx.project.config.project
    manifest = {
        "id": ctx.report["snapshot"],
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "popbase": __version__,
        "project": project.name,
        "region": {"code": project.region_code, "name": project.name},
        "as_of": project.as_of.isoformat() if project.as_of else None,
        "graph": graph,
        "units": dict(zip(totals["level"].astype(str), totals["units"].astype(int), strict=True)),
    }
    (folder / MANIFEST).write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    return {"graph": graph, "disclosure": disclosure}
