"""The graph store interface: load tables, run Cypher with parameters.

Stages and the API talk to this protocol only, so another graph database can be added
beside LadybugDB without touching them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import pandas as pd

# Node tables: label -> (primary key, [(property, type)]).
NODES: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "Division": (
        "code",
        [
            ("code", "STRING"),
            ("name", "STRING"),
            ("level", "STRING"),
            ("parent_code", "STRING"),
            ("resident", "INT64"),
        ],
    ),
    "Building": (
        "building_id",
        [
            ("building_id", "STRING"),
            ("address", "STRING"),
            ("use", "STRING"),
            ("floors", "INT64"),
            ("division_code", "STRING"),
        ],
    ),
    "Room": (
        "room_id",
        [
            ("room_id", "STRING"),
            ("room_no", "STRING"),
            ("floor", "INT64"),
            ("origin", "STRING"),
            ("division_code", "STRING"),
        ],
    ),
    "Person": (
        "person_id",
        [
            ("person_id", "STRING"),
            ("sex", "STRING"),
            ("birth_date", "DATE"),
            ("deceased", "BOOLEAN"),
            ("division_code", "STRING"),
        ],
    ),
}
# Relationship tables: type -> ([(from label, to label)], [(property, type)]).
RELS: dict[str, tuple[list[tuple[str, str]], list[tuple[str, str]]]] = {
    "PART_OF": ([("Division", "Division"), ("Building", "Division")], []),
    "IN_BUILDING": ([("Room", "Building")], []),
    "LIVES_IN": (
        [("Person", "Room")],
        [("source", "STRING"), ("record_id", "STRING"), ("as_of", "DATE")],
    ),
}


class GraphStore(Protocol):
    """A graph database popbase can publish to and query."""

    def create_schema(self) -> None:
        """Create the node and relationship tables of :data:`NODES` and :data:`RELS`."""

    def load_nodes(self, label: str, parquet: Path) -> None:
        """Bulk-load nodes from a Parquet file whose columns follow the label's properties."""

    def load_edges(self, rel: str, source: str, target: str, parquet: Path) -> None:
        """Bulk-load edges (``from``, ``to``, properties…) between two labels."""

    def query(self, cypher: str, params: dict[str, Any] | None = None) -> pd.DataFrame:
        """Run a Cypher query with parameters and return the rows."""

    def close(self) -> None:
        """Release the database."""
