"""The LadybugDB graph store (embedded; ``ladybug`` on PyPI, a maintained Kùzu fork).

No extensions are used: they download at run time, which fails on isolated networks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from popbase.store.graph import NODES, RELS, GraphError


class LadybugStore:
    """A LadybugDB database file.

    Parameters
    ----------
    path
        The database file (``graph.lbug``).
    read_only
        Open for reading only (many processes may do so at once).
    """

    def __init__(self, path: Path, *, read_only: bool = False) -> None:
        try:
            import ladybug
        except ImportError as exc:  # pragma: no cover - a broken install
            raise GraphError(
                "the graph store needs the `ladybug` package: pip install ladybug==0.22.0"
            ) from exc
        self.path = path
        self._db = ladybug.Database(str(path), read_only=read_only)
        self._con = ladybug.Connection(self._db)

    def _run(self, cypher: str, params: dict[str, Any] | None = None) -> Any:
        try:
            return self._con.execute(cypher, params or {})
        except RuntimeError as exc:
            raise GraphError(f"{exc}\n-- in Cypher:\n{cypher}") from exc

    def create_schema(self) -> None:
        """Create the node and relationship tables."""
        for label, (key, props) in NODES.items():
            cols = ", ".join(f"{name} {kind}" for name, kind in props)
            self._run(f"CREATE NODE TABLE {label}({cols}, PRIMARY KEY({key}))")
        for rel, (pairs, props) in RELS.items():
            ends = ", ".join(f"FROM {a} TO {b}" for a, b in pairs)
            cols = "".join(f", {name} {kind}" for name, kind in props)
            self._run(f"CREATE REL TABLE {rel}({ends}{cols})")

    def load_nodes(self, label: str, parquet: Path) -> None:
        """Bulk-load nodes from Parquet."""
        self._run(f"COPY {label} FROM '{parquet}'")

    def load_edges(self, rel: str, source: str, target: str, parquet: Path) -> None:
        """Bulk-load edges from Parquet (first two columns: from and to keys)."""
        pairs = RELS[rel][0]
        option = f" (from='{source}', to='{target}')" if len(pairs) > 1 else ""
        self._run(f"COPY {rel} FROM '{parquet}'{option}")

    def query(self, cypher: str, params: dict[str, Any] | None = None) -> pd.DataFrame:
        """Run Cypher with parameters; rows as a DataFrame."""
        result = self._run(cypher, params)
        return result.get_as_df()  # type: ignore[no-any-return]

    def close(self) -> None:
        """Release the database."""
        self._con.close()
        self._db.close()
