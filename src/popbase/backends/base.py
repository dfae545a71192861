"""What a SQL backend must do for the stages (DuckDB today, Spark later)."""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Protocol

import pandas as pd
import pyarrow as pa


class Backend(Protocol):
    """A place where tables live and SQL runs.

    Stages never talk to a database directly: they build SQL text with pure ``*_sql``
    functions and hand it to a backend, so another engine can run the same stages.
    """

    def execute(self, sql: str, params: list[Any] | None = None) -> None:
        """Run a statement that returns nothing."""

    def query_df(self, sql: str, params: list[Any] | None = None) -> pd.DataFrame:
        """Run a query and return its result as a DataFrame."""

    def query_arrow(self, sql: str, params: list[Any] | None = None) -> pa.Table:
        """Run a query and return its result as an Arrow table."""

    def scalar(self, sql: str, params: list[Any] | None = None) -> Any:
        """Run a query that returns one value."""

    def put(self, name: str, data: pd.DataFrame | pa.Table) -> None:
        """Store ``data`` as table ``name`` (replacing it)."""

    def append(self, name: str, data: pd.DataFrame | pa.Table) -> None:
        """Append ``data`` to table ``name`` (created if absent)."""

    def has_table(self, name: str) -> bool:
        """Whether table ``name`` exists."""

    def registered(self, name: str, data: pd.DataFrame | pa.Table) -> AbstractContextManager[None]:
        """Make ``data`` readable as table ``name`` inside a ``with`` block, without a copy."""

    def to_parquet(self, sql: str, path: Path) -> None:
        """Write a query's result to a Parquet file."""

    def to_arrow_file(self, sql: str, path: Path) -> int:
        """Write a query's result to an Arrow IPC file, batch by batch; return its rows."""

    def close(self) -> None:
        """Release the database."""
