"""SQL backends: stages build SQL text with pure functions; a backend executes it."""

from popbase.backends.base import Backend
from popbase.backends.duckdb_backend import DuckDBBackend

__all__ = ["Backend", "DuckDBBackend"]
