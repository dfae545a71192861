"""The quarantine as a file a data team opens: every row set aside, as delivered, and why.

``popbase report PROJECT --quarantine FILE`` writes it from the current snapshot's working
database (which keeps the original rows; the served snapshot does not):

- ``.xlsx``: a summary sheet (rows per source, stage and reason, with what the reason
  means), then one sheet per source with the file, row number, stage, reason and
  explanation of each quarantined row followed by the row's own columns, as delivered,
  and a ``review`` sheet: the rows probabilistic resolution could not settle alone, each
  with its most probable person and the runner-up, for a reviewer to decide;
- ``.csv`` (UTF-8 with a byte-order mark, which spreadsheet programs need to read Chinese
  correctly): one line per quarantined row, the original row as a JSON object.

A row set aside by two stages (an invalid ID, then an unknown address) has an entry for
each; the record accounting counts it once, under the first.

The file holds raw identifiers (ID and phone numbers), like the source files it comes
from: keep it where those are kept.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Sequence
from pathlib import Path

import duckdb

from popbase.errors import SnapshotError
from popbase.io.xlsx import Cell, Sheet, write_xlsx
from popbase.ops.snapshot import Snapshot, raw_rows_file

# Leading columns of every quarantined row, in the file.
META_COLUMNS = ("source", "file", "row_number", "stage", "reason", "detail")
_LABELS = {
    "source": "来源 source",
    "file": "文件 file",
    "row_number": "行号 row",
    "stage": "阶段 stage",
    "reason": "原因 reason",
    "detail": "说明 detail",
    "rows": "行数 rows",
}


def summary_sql() -> str:
    """Quarantined rows per source, stage and reason, with the reason's explanation."""
    return """
        SELECT source, stage, reason, any_value(detail) AS detail, count(*) AS rows
        FROM quarantine GROUP BY ALL ORDER BY source, stage, rows DESC, reason
    """


def rows_sql(raw_rows: Path | None) -> str:
    """A source's quarantined rows, with the original row's columns if ``raw_rows``.

    Parameters
    ----------
    raw_rows
        The Parquet file of the source's rows as delivered, or None when none was kept
        (a file that could not be read at all).
    """
    meta = ", ".join(f"q.{c}" for c in META_COLUMNS)
    if raw_rows is None:
        return (
            f"SELECT {meta} FROM quarantine q WHERE q.source = $source "
            "ORDER BY q.file, q.row_number"
        )
    path = str(raw_rows).replace("'", "''")
    return f"""
        SELECT {meta}, r.* EXCLUDE (record_id)
        FROM quarantine q LEFT JOIN read_parquet('{path}') r USING (record_id)
        WHERE q.source = $source ORDER BY q.file, q.row_number
    """


def work_database(snapshot: Snapshot) -> Path:
    """The working database of ``snapshot``; SnapshotError if it was pruned."""
    path = snapshot.work_db
    if not path.exists():
        raise SnapshotError(
            f"{path}: the working database of snapshot {snapshot.id} is gone (builds keep "
            "only the newest few); run `popbase build` again to write the quarantine"
        )
    return path


def _source_rows(
    con: duckdb.DuckDBPyConnection, source: str, work: Path
) -> tuple[list[str], list[tuple[object, ...]]]:
    raw = raw_rows_file(work, source)
    result = con.execute(rows_sql(raw if raw.is_file() else None), {"source": source})
    columns = [d[0] for d in result.description]
    return columns, result.fetchall()


def _cells(rows: Sequence[tuple[object, ...]]) -> Iterator[list[Cell]]:
    for row in rows:
        yield [v if v is None or isinstance(v, (str, int, float)) else str(v) for v in row]


def write_quarantine(work_db: Path, out: Path) -> dict[str, int]:
    """Write the quarantine of ``work_db`` to ``out`` (``.xlsx`` or ``.csv``).

    Returns
    -------
    dict
        Quarantine entries per source.

    Raises
    ------
    ValueError
        If ``out`` is neither ``.xlsx`` nor ``.csv``.
    """
    suffix = out.suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        raise ValueError(f"{out}: write the quarantine as .xlsx or .csv")
    con = duckdb.connect(str(work_db), read_only=True)
    try:
        tables = {r[0] for r in con.execute("SHOW TABLES").fetchall()}
        summary = con.execute(summary_sql()).fetchall()
        sources = sorted({str(r[0]) for r in summary})
        per_source = {s: _source_rows(con, s, work_db.parent) for s in sources}
        review = (
            con.execute("SELECT * EXCLUDE (record_id) FROM review_queue")
            if "review_queue" in tables
            else None
        )
        review_columns = [d[0] for d in review.description] if review else []
        review_rows = review.fetchall() if review else []
    finally:
        con.close()
    counts = {s: len(rows) for s, (_, rows) in per_source.items()}
    if suffix == ".csv":
        _write_csv(out, per_source)
        return counts
    sheets = [
        Sheet(
            "summary",
            _cells(summary),
            header=[[_LABELS[c] for c in ("source", "stage", "reason", "detail", "rows")]],
            column_widths=[18, 10, 20, 60, 10],
        )
    ]
    for source, (columns, rows) in per_source.items():
        header = [_LABELS.get(c, c) for c in columns]
        sheets.append(Sheet(source[:31], _cells(rows), header=[header]))
    if review_rows:
        header = [_LABELS.get(c, c) for c in review_columns]
        sheets.append(Sheet("review", _cells(review_rows), header=[header]))
    write_xlsx(out, sheets)
    return counts


def _write_csv(
    out: Path, per_source: dict[str, tuple[list[str], list[tuple[object, ...]]]]
) -> None:
    with out.open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([*META_COLUMNS, "original"])
        for columns, rows in per_source.values():
            width = len(META_COLUMNS)
            for row in rows:
                original = {c: v for c, v in zip(columns[width:], row[width:], strict=True)}
                writer.writerow(
                    [*row[:width], json.dumps(original, ensure_ascii=False, default=str)]
                )
