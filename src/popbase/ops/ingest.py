"""The ingest stage: every declared source into the build's tables.

Per kind, one table of canonical records (``person_records``, ``enterprise_records``,
``room_records``, ``signaling_records``) with the source's department, priority and
as-of date (and a source's constant ``event_type`` in each of its rows); per source, its
original rows (a Parquet file in the working folder, read only by the quarantine export);
rows that could not be parsed, or that hold a value far longer than any real one of its
field (``value_too_long``, see :mod:`popbase.ops.value_limits`), go to ``quarantine``
before any later stage reads them, and files that could not be read to ``source_files``.
The cells of the columns a source's ``events:`` and ``tags:`` read become
``record_events``, and what no entry reads ``unreadable_event_values`` (see
:mod:`popbase.portraits.column_events`).

Each source's tables are written while the next source is read: DuckDB and Parquet
writes run on one thread without holding the interpreter, so reading and writing overlap.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from popbase.config import CANONICAL_FIELDS, SourceConfig
from popbase.context import QUARANTINE_COLUMNS, RECORD_TABLES, quarantine_rows
from popbase.io.sources import META_COLUMNS, SourceRows, read_source
from popbase.ops import value_limits
from popbase.ops.snapshot import raw_rows_file, work_folder
from popbase.portraits.column_events import (
    RECORD_EVENTS,
    UNREADABLE_EVENT_VALUES,
    add_record_events,
    events_given,
    source_cells,
)

if TYPE_CHECKING:
    from popbase.backends import Backend
    from popbase.context import BuildContext


def set_aside_too_long(
    source: SourceConfig, rows: SourceRows, overrides: dict[str, int]
) -> pd.DataFrame:
    """Take the rows holding an over-long value out of ``rows``; their quarantine entries.

    The rows stay in ``rows.raw`` (the quarantine file shows them as delivered) but leave
    ``rows.records`` and ``rows.cells``, so no later stage reads them.
    """
    records, cells = rows.records, rows.cells
    values: dict[str, pd.Series] = {}
    limits: dict[str, int] = {}
    for field_name, column in source.columns.items():
        name = f"{field_name} ({column})"
        values[name] = records[field_name].reset_index(drop=True)
        limits[name] = value_limits.value_limit(field_name, overrides, source.kind)
    for column in source.reading_columns:
        values[column] = cells[column].reset_index(drop=True)
        limits[column] = value_limits.value_limit(value_limits.OTHER, overrides)
    detail = value_limits.too_long_values(values, limits, len(records))
    over = (detail != "").to_numpy()
    if not over.any():
        return quarantine_rows(records.iloc[:0], "ingest", value_limits.REASON)
    fix = (
        ". Fix: correct the value in the source file, or raise the field's limit under "
        "`ingest: max_length:` in popbase.yaml if such values are real"
    )
    aside = quarantine_rows(records[over], "ingest", value_limits.REASON, detail[over] + fix)
    rows.records = records[~over].reset_index(drop=True)
    rows.cells = cells[~over].reset_index(drop=True)
    return aside


def _typed(records: pd.DataFrame, fields: tuple[str, ...]) -> pa.Table:
    """Records as Arrow with fixed types: text for every canonical field, even all-empty ones."""
    types = {
        "source": pa.string(),
        "department": pa.string(),
        "priority": pa.int64(),
        "as_of": pa.timestamp("us"),
        "record_id": pa.string(),
        "file": pa.string(),
        "row_number": pa.int64(),
        **{f: pa.string() for f in fields},
    }
    schema = pa.schema([(c, types[c]) for c in records.columns])
    # Text columns go over as Arrow as they are (pandas keeps strings in Arrow): no detour
    # through Python objects, which at a million rows costs more than reading the files.
    return pa.Table.from_pandas(records, preserve_index=False).cast(schema)


def _write_parquet(path: Path, data: pa.Table) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(data, path, compression="zstd", compression_level=1)


class _Writes:
    """Table writes run in order on one background thread; ``wait`` raises their errors."""

    def __init__(self, db: Backend) -> None:
        self._db = db
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-writes")
        self._pending: list[Future[None]] = []

    def put(self, name: str, data: pd.DataFrame | pa.Table) -> None:
        self._pending.append(self._pool.submit(self._db.put, name, data))

    def append(self, name: str, data: pd.DataFrame | pa.Table) -> None:
        self._pending.append(self._pool.submit(self._db.append, name, data))

    def parquet(self, path: Path, data: pa.Table) -> None:
        self._pending.append(self._pool.submit(_write_parquet, path, data))

    def call(self, work: Callable[..., None], *args: Any) -> None:
        """Run ``work(*args)`` on the writes' thread, after the writes before it."""
        self._pending.append(self._pool.submit(work, *args))

    def wait(self) -> None:
        try:
            for done in self._pending:
                done.result()
        finally:
            self._pool.shutdown(wait=True, cancel_futures=True)


def ingest_sources(ctx: BuildContext) -> dict[str, Any]:
    """Read every source of the project."""
    writes = _Writes(ctx.db)
    try:
        report = _ingest(ctx, writes)
    finally:
        writes.wait()
    given = events_given(ctx.db, ctx.project.config.sources)
    return {**report, **({"column_events": given} if given else {})}


def _ingest(ctx: BuildContext, db: _Writes) -> dict[str, Any]:
    config = ctx.project.config
    work = work_folder(ctx.folder)
    db.put(
        "quarantine",
        pa.schema(
            [(c, pa.int64() if c == "row_number" else pa.string()) for c in QUARANTINE_COLUMNS]
        ).empty_table(),
    )
    db.put("record_events", RECORD_EVENTS.empty_table())
    db.put("unreadable_event_values", UNREADABLE_EVENT_VALUES.empty_table())
    files: list[dict[str, object]] = []
    counts: dict[str, int] = {}
    total = len(config.sources)
    created: set[str] = set()
    for i, source in enumerate(config.sources):
        ctx.tick("ingest", i, total)
        rows = read_source(ctx.project, source)
        too_long = set_aside_too_long(source, rows, config.ingest.max_length)
        records = rows.records
        for canon in CANONICAL_FIELDS[source.kind]:
            if canon not in records:
                records[canon] = None
        if source.event_type is not None:
            # A file without an event-type column whose every row records one event.
            records["event_type"] = source.event_type
        records = records[[*META_COLUMNS, *CANONICAL_FIELDS[source.kind]]]
        records.insert(1, "department", source.department)
        records.insert(2, "priority", source.priority)
        as_of = source.as_of or config.project.as_of
        stamp = pd.NaT if as_of is None else pd.Timestamp(as_of)
        records.insert(3, "as_of", pd.Series(stamp, index=records.index, dtype="datetime64[us]"))
        table = RECORD_TABLES[source.kind]
        data = _typed(records, CANONICAL_FIELDS[source.kind])
        if table in created:
            db.append(table, data)
        else:
            db.put(table, data)
            created.add(table)
        db.parquet(
            raw_rows_file(work, source.name), pa.Table.from_pandas(rows.raw, preserve_index=False)
        )
        if source.reading_columns:
            db.call(add_record_events, ctx.db, source, source_cells(rows.cells))
        if len(rows.malformed):
            bad = rows.malformed
            db.append(
                "quarantine",
                quarantine_rows(
                    bad,
                    "ingest",
                    "row_malformed",
                    "the row could not be parsed (wrong number of fields or an unclosed quote): "
                    + bad["raw"].str[:200],
                ),
            )
        if len(too_long):
            db.append("quarantine", too_long)
        for f in rows.files:
            problem = next((p for p in rows.problems if p.file == f), None)
            files.append(
                {
                    "source": source.name,
                    "file": f,
                    "status": "quarantined" if problem else "read",
                    "reason": problem.reason if problem else "",
                    "message": problem.message if problem else "",
                }
            )
        counts[source.name] = len(records) + len(rows.malformed) + len(too_long)
    for kind, table in RECORD_TABLES.items():
        if table not in created:
            columns = [
                "source",
                "department",
                "priority",
                "as_of",
                *META_COLUMNS[1:],
                *CANONICAL_FIELDS[kind],
            ]
            db.put(
                table,
                _typed(
                    pd.DataFrame({c: pd.Series(dtype=object) for c in columns}),
                    CANONICAL_FIELDS[kind],
                ),
            )
    db.put(
        "source_files",
        pd.DataFrame(files, columns=["source", "file", "status", "reason", "message"]),
    )
    db.put("rows_in", pd.DataFrame({"source": list(counts), "rows_in": list(counts.values())}))
    return {
        "rows_in": counts,
        "files_quarantined": sum(1 for f in files if f["status"] == "quarantined"),
    }
