"""The DuckDB backend: in-process SQL over a database file (or memory)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.ipc

from popbase.errors import PopbaseError

# Rows per batch when a result streams to a file.
ARROW_BATCH_ROWS = 100_000


class BackendError(PopbaseError, RuntimeError):
    """A statement failed; the message quotes the failing SQL."""


class DuckDBBackend:
    """Run SQL on DuckDB.

    Parameters
    ----------
    path
        Database file, or ``None`` for an in-memory database.
    read_only
        Open an existing file without write access (readers of a snapshot).
    threads, memory_limit
        Resource limits passed to DuckDB.
    """

    def __init__(
        self,
        path: Path | None = None,
        *,
        read_only: bool = False,
        threads: int | None = None,
        memory_limit: str | None = None,
    ) -> None:
        config: dict[str, Any] = {}
        if threads:
            config["threads"] = threads
        if memory_limit:
            config["memory_limit"] = memory_limit
        self.path = path
        self.con = duckdb.connect(
            str(path) if path else ":memory:", read_only=read_only, config=config
        )
        # A build reports its own progress; DuckDB's bar would interleave with it.
        self.con.execute("SET enable_progress_bar = false")

    def _run(self, sql: str, params: list[Any] | None) -> duckdb.DuckDBPyConnection:
        try:
            return self.con.execute(sql, params or [])
        except duckdb.Error as exc:
            raise BackendError(f"{exc}\n-- in SQL:\n{sql}") from exc

    def execute(self, sql: str, params: list[Any] | None = None) -> None:
        """Run a statement that returns nothing."""
        self._run(sql, params)

    def query_df(self, sql: str, params: list[Any] | None = None) -> pd.DataFrame:
        """Run a query and return its result as a DataFrame."""
        return self._run(sql, params).df()

    def query_arrow(self, sql: str, params: list[Any] | None = None) -> pa.Table:
        """Run a query and return its result as an Arrow table."""
        result = self._run(sql, params).to_arrow_table()
        return result

    def scalar(self, sql: str, params: list[Any] | None = None) -> Any:
        """Run a query that returns one value."""
        row = self._run(sql, params).fetchone()
        return None if row is None else row[0]

    def put(self, name: str, data: pd.DataFrame | pa.Table) -> None:
        """Store ``data`` as table ``name`` (replacing it)."""
        self.con.register("__incoming", data)
        try:
            self._run(f'CREATE OR REPLACE TABLE "{name}" AS SELECT * FROM __incoming', None)
        finally:
            self.con.unregister("__incoming")

    def append(self, name: str, data: pd.DataFrame | pa.Table) -> None:
        """Append ``data`` to table ``name`` (created if absent), matching columns by name."""
        if not self.has_table(name):
            self.put(name, data)
            return
        self.con.register("__incoming", data)
        try:
            self._run(f'INSERT INTO "{name}" BY NAME SELECT * FROM __incoming', None)
        finally:
            self.con.unregister("__incoming")

    @contextmanager
    def registered(self, name: str, data: pd.DataFrame | pa.Table) -> Iterator[None]:
        """Make ``data`` readable as table ``name`` inside a ``with`` block, without a copy.

        Statements in the block scan ``data`` where it lies, which saves storing a table
        that is read once or twice.
        """
        self.con.register(name, data)
        try:
            yield
        finally:
            self.con.unregister(name)

    def has_table(self, name: str) -> bool:
        """Whether table ``name`` exists."""
        return bool(
            self.scalar(
                "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]
            )
        )

    def to_parquet(self, sql: str, path: Path) -> None:
        """Write a query's result to a Parquet file."""
        self._run(f"COPY ({sql}) TO '{path}' (FORMAT parquet, COMPRESSION zstd)", None)

    def to_arrow_file(self, sql: str, path: Path) -> int:
        """Write a query's result to an Arrow IPC file, batch by batch; return its rows.

        Batches stream from DuckDB to the file, so a table of millions of rows never
        sits in memory whole.
        """
        reader = self._run(sql, None).to_arrow_reader(ARROW_BATCH_ROWS)
        rows = 0
        with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, reader.schema) as out:
            for batch in reader:
                out.write_batch(batch)
                rows += batch.num_rows
        return rows

    def close(self) -> None:
        """Release the database."""
        self.con.close()
