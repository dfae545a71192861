"""The graph store interface: load tables, run Cypher with parameters.

Stages and the API talk to this protocol only, so another graph database can be added
beside LadybugDB without touching them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from popbase.errors import PopbaseError

_PLACE = ("division_code", "STRING")  # the code of the smallest unit holding the node
# A link's source and date. The record behind it is in the served tables (record_links,
# person_tags): record ids are long strings, and on edges they doubled the load time.
_LINK = [("source", "STRING"), ("as_of", "DATE")]
# The counts of a unit (see popbase.analysis.rollup).
_COUNTS = [
    ("resident", "INT64"),
    ("usual_resident", "INT64"),
    ("floating", "INT64"),
    ("registered", "INT64"),
    ("absent", "INT64"),
    ("unknown", "INT64"),
    ("households", "INT64"),
]

# Node tables: label -> (primary key, [(property, type)]). Properties, never labels, say
# what a node is (labels are visible to anyone who can see the node).
NODES: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "Division": (
        "code",
        [
            ("code", "STRING"),
            ("name", "STRING"),
            ("level", "STRING"),
            ("parent_code", "STRING"),
            *_COUNTS,
            _PLACE,
        ],
    ),
    "Grid": (
        "code",
        [
            ("code", "STRING"),
            ("name", "STRING"),
            ("parent_code", "STRING"),
            *_COUNTS,
            _PLACE,
        ],
    ),
    "Building": (
        "building_id",
        [
            ("building_id", "STRING"),
            ("address", "STRING"),
            ("use", "STRING"),
            ("floors", "INT64"),
            ("resident", "INT64"),
            ("lon", "DOUBLE"),
            ("lat", "DOUBLE"),
            _PLACE,
        ],
    ),
    "Room": (
        "room_id",
        [
            ("room_id", "STRING"),
            ("room_no", "STRING"),
            ("floor", "INT64"),
            ("origin", "STRING"),
            _PLACE,
        ],
    ),
    "Household": (
        "household_id",
        [
            ("household_id", "STRING"),
            ("members", "INT64"),
            ("head_person_id", "STRING"),
            _PLACE,
        ],
    ),
    "Person": (
        "person_id",
        [
            ("person_id", "STRING"),
            ("sex", "STRING"),
            ("birth_date", "DATE"),
            ("deceased", "BOOLEAN"),
            ("residency_status", "STRING"),
            _PLACE,
        ],
    ),
    "Enterprise": (
        "credit_code",
        [
            ("credit_code", "STRING"),
            ("name", "STRING"),
            ("industry", "STRING"),
            ("status", "STRING"),
            ("registered", "BOOLEAN"),
            _PLACE,
        ],
    ),
    "Facility": (
        "facility_id",
        [
            ("facility_id", "STRING"),
            ("name", "STRING"),
            ("type", "STRING"),
            ("capacity", "INT64"),
            ("lon", "DOUBLE"),
            ("lat", "DOUBLE"),
            _PLACE,
        ],
    ),
    "Tag": (
        "tag",
        [("tag", "STRING"), ("label", "STRING"), ("label_en", "STRING"), ("dimension", "STRING")],
    ),
}
# Relationship tables: type -> ([(from label, to label)], [(property, type)]).
RELS: dict[str, tuple[list[tuple[str, str]], list[tuple[str, str]]]] = {
    "PART_OF": (
        [("Division", "Division"), ("Grid", "Division"), ("Building", "Division")],
        [],
    ),
    "IN_GRID": ([("Building", "Grid")], []),
    "IN_BUILDING": ([("Room", "Building")], []),
    "LIVES_IN": ([("Person", "Room")], _LINK),
    # Living in a grid (or committee) with no known room: placed by presence evidence.
    "STAYS_IN": ([("Person", "Grid"), ("Person", "Division")], _LINK),
    "HUKOU_AT": ([("Person", "Room"), ("Household", "Room")], _LINK),
    "WORKS_AT": ([("Person", "Enterprise")], [("employer_name", "STRING"), *_LINK]),
    "LOCATED_IN": ([("Enterprise", "Building"), ("Facility", "Building")], []),
    "MEMBER_OF": ([("Person", "Household")], [("relation", "STRING"), *_LINK]),
    # Tags are relationships to Tag nodes, never labels: a label shows on every node.
    "HAS_TAG": (
        [("Person", "Tag")],
        [("source", "STRING"), ("valid_from", "DATE"), ("valid_to", "DATE")],
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


class GraphError(PopbaseError, RuntimeError):
    """A graph statement failed; the message quotes it."""


def open_graph(path: Path, read_only: bool = False) -> GraphStore:
    """The graph database at ``path`` (LadybugDB): every part of popbase opens it here.

    Parameters
    ----------
    path
        The database file of a snapshot.
    read_only
        Open it only to read (queries that write then fail with :class:`GraphError`).
    """
    from popbase.store.ladybug_store import LadybugStore

    return LadybugStore(path, read_only=read_only)
