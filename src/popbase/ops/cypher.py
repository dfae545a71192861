"""Read-only Cypher on the current snapshot's graph (``popbase cypher``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from popbase.ops.snapshot import current_snapshot
from popbase.store.graph import GraphError, open_graph


def parse_params(pairs: list[str]) -> dict[str, Any]:
    """``name=value`` pairs as query parameters; a value that reads as JSON is typed.

    Examples
    --------
    >>> parse_params(["code=310112001001", "n=5", "name=江川路"])
    {'code': '310112001001', 'n': 5, 'name': '江川路'}
    """
    params: dict[str, Any] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"--param {pair!r}: write it as name=value")
        # Division codes and ID-like strings stay text even though they are all digits.
        if value.isdigit() and (len(value) > 9 or value.startswith("0")):
            params[name.strip()] = value
            continue
        try:
            params[name.strip()] = json.loads(value)
        except json.JSONDecodeError:
            params[name.strip()] = value
    return params


def run_cypher(output_dir: Path, query: str, params: dict[str, Any] | None = None) -> pd.DataFrame:
    """Run ``query`` on the current snapshot's graph, opened read-only.

    Raises
    ------
    SnapshotError
        No snapshot has been built yet.
    GraphError
        The query failed; a statement that writes fails here, since the graph is
        opened read-only.
    """
    snap = current_snapshot(output_dir)
    store = open_graph(snap.graph_db, read_only=True)
    try:
        return store.query(query, params)
    except GraphError as exc:
        if "read only" in str(exc).lower() or "read-only" in str(exc).lower():
            exc.add_note("(`popbase cypher` only reads: the snapshot's graph is never changed)")
        raise
    finally:
        store.close()
