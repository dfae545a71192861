"""Graph benchmarks on a built project: load time and query latency.

Run by ``bench/run.py`` after each build (step ``graph``). It reads the build's graph
load time from the snapshot report, then times, on the graph opened read-only:

- the roll-up of all communities (one query returning every community's counts);
- a person's household and room (one query per person, for persons drawn at random).

Each query is run once untimed (to warm the store), then timed ``--repeat`` times;
p50 and p99 are reported in milliseconds.
"""

from __future__ import annotations

import random
import statistics
import time
from pathlib import Path
from typing import Any

COMMUNITY_ROLLUP = """
MATCH (d:Division) WHERE d.level = 'community'
RETURN d.code AS code, d.name AS name, d.resident AS resident, d.households AS households
"""
HOUSEHOLD_AND_ROOM = """
MATCH (p:Person {person_id: $id})
OPTIONAL MATCH (p)-[:LIVES_IN]->(r:Room)
OPTIONAL MATCH (p)-[:MEMBER_OF]->(h:Household)
RETURN r.room_id AS room, h.household_id AS household, h.members AS members
"""


def _percentiles(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {"p50_ms": round(statistics.median(ordered) * 1000, 3), "p99_ms": round(p99 * 1000, 3)}


def graph_figures(folder: Path, repeat: int = 200, seed: int = 0) -> dict[str, Any]:
    """Time the graph queries of the current snapshot of the project in ``folder``."""
    from popbase.config import load_project
    from popbase.ops.snapshot import current_snapshot
    from popbase.store.ladybug_store import LadybugStore

    snap = current_snapshot(load_project(folder).output_dir)
    published = snap.report()["publish"]["graph"]
    store = LadybugStore(snap.graph_db, read_only=True)
    try:
        ids = store.query("MATCH (p:Person)-[:MEMBER_OF]->(:Household) RETURN p.person_id AS id")[
            "id"
        ].tolist()
        picks = random.Random(seed).sample(ids, min(repeat, len(ids)))
        store.query(COMMUNITY_ROLLUP)
        rollup = []
        for _ in range(max(20, repeat // 10)):
            start = time.perf_counter()
            rows = store.query(COMMUNITY_ROLLUP)
            rollup.append(time.perf_counter() - start)
        store.query(HOUSEHOLD_AND_ROOM, {"id": picks[0]})
        lookups = []
        for person in picks:
            start = time.perf_counter()
            store.query(HOUSEHOLD_AND_ROOM, {"id": person})
            lookups.append(time.perf_counter() - start)
    finally:
        store.close()
    return {
        "load_seconds": published["seconds"],
        "nodes": published["nodes"],
        "edges": published["edges"],
        "community_rollup": {"communities": len(rows), **_percentiles(rollup)},
        "household_and_room": {"persons": len(picks), **_percentiles(lookups)},
    }
