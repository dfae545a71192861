"""Read department tables (CSV, TSV, XLSX, Parquet) as text, with original row numbers.

Every reader returns a :class:`RawTable`: every column as pandas' string dtype, cell
text stripped of surrounding whitespace and otherwise untouched, empty cells missing,
header rows flattened into one name per column, and for each data row the row number a
user sees when opening the file in Excel, so that any later error can point at it.

CSV and TSV are parsed by pyarrow on all cores, in any encoding (see
:mod:`popbase.io.delimited`); malformed rows are set aside in :attr:`RawTable.bad_rows`
with their row numbers so the caller can quarantine them, or raise with
``errors="raise"``. Workbooks are read with python-calamine (see
:mod:`popbase.io.sheets`), Parquet with pyarrow; their values become the text a user
sees in Excel.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from popbase.errors import EmptyFileError, SourceFileError
from popbase.io.delimited import read_delimited
from popbase.io.headers import resolve_column, unique_names
from popbase.io.sheets import float_text, read_sheet

__all__ = ["RawTable", "read_table", "resolve_column"]

TableFormat = Literal["csv", "tsv", "xlsx", "parquet"]
Errors = Literal["quarantine", "raise"]

_FORMATS: dict[str, TableFormat] = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".txt": "tsv",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".xls": "xlsx",
    ".parquet": "parquet",
}

# pandas text backed by Arrow, missing as NaN: what readers hand on, without Python strings.
ARROW_TEXT = pd.StringDtype("pyarrow", np.nan)


@dataclass(frozen=True, eq=False)
class RawTable:
    """A department table as text, before any validation.

    Attributes
    ----------
    path
        The file read.
    frame
        One column per header, all of pandas' string dtype; empty cells are missing.
    columns
        The flattened, unique header names, in the frame's order.
    row_numbers
        For each row of ``frame``, its 1-based row number in the file as Excel shows it
        (for CSV, the number of the record: a quoted line break does not start a row).
    encoding
        The text encoding read (``None`` for workbooks and Parquet).
    bad_rows
        Malformed CSV rows set aside: ``(row number, raw text)``.
    """

    path: Path
    frame: pd.DataFrame
    columns: list[str]
    row_numbers: npt.NDArray[np.int64]
    encoding: str | None = None
    bad_rows: list[tuple[int, str]] = field(default_factory=list)

    def column(self, wanted: str) -> str:
        """Return the header that a configured column name refers to.

        See :func:`resolve_column`.
        """
        return resolve_column(self.columns, wanted, path=self.path)


def _clean(column: pa.Array | pa.ChunkedArray) -> pa.ChunkedArray:
    """Strip surrounding whitespace and turn empty strings into missing values."""
    trimmed = pc.utf8_trim_whitespace(column.cast(pa.string()))
    return pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, pa.string()), trimmed)


def _assemble(
    path: Path,
    names: list[str],
    columns: Sequence[pa.Array | pa.ChunkedArray],
    row_numbers: npt.NDArray[np.int64],
    encoding: str | None,
    bad_rows: list[tuple[int, str]] | None = None,
) -> RawTable:
    """Clean the columns, drop empty rows and unnamed empty columns, build the frame."""
    cleaned = [_clean(c) for c in columns]
    keep = [i for i, c in enumerate(cleaned) if names[i] or c.null_count < len(c)]
    names = unique_names([names[i] or f"column_{i + 1}" for i in keep])
    table = pa.table([cleaned[i] for i in keep], names=names)
    if table.num_columns and table.num_rows:
        empty = pc.is_null(table.column(0))
        for column in table.columns[1:]:
            empty = pc.and_(empty, pc.is_null(column))
        if pc.any(empty).as_py():
            table = table.filter(pc.invert(empty))
            row_numbers = row_numbers[~np.asarray(empty)]
    frame = table.to_pandas(types_mapper={pa.string(): ARROW_TEXT}.get)
    frame.columns = pd.Index(names, dtype=object)
    return RawTable(path, frame, names, row_numbers, encoding, bad_rows or [])


def _parquet_text(column: pa.ChunkedArray) -> pa.ChunkedArray | pa.Array:
    """Cast a Parquet column to text the way a workbook cell would read."""
    kind = column.type
    if pa.types.is_floating(kind):
        return pa.array([None if v is None else float_text(v) for v in column.to_pylist()])
    if pa.types.is_timestamp(kind):
        values = column.to_pylist()
        return pa.array(
            [None if v is None else v.isoformat(" ").removesuffix(" 00:00:00") for v in values]
        )
    if pa.types.is_boolean(kind):
        flags = column.to_pylist()
        return pa.array([None if v is None else ("TRUE" if v else "FALSE") for v in flags])
    try:
        return column.cast(pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return pa.array([None if v is None else str(v) for v in column.to_pylist()])


def _read_parquet(path: Path) -> RawTable:
    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise SourceFileError(
            path, f"is not a readable Parquet file ({exc})", "deliver the file again"
        ) from None
    numbers = np.arange(1, table.num_rows + 1, dtype=np.int64)
    columns = [_parquet_text(c) for c in table.columns]
    return _assemble(path, [str(n) for n in table.column_names], columns, numbers, None)


def _read_xlsx(path: Path, sheet: str | int | None, skip_rows: int, header_rows: int) -> RawTable:
    header, columns, numbers = read_sheet(path, sheet, skip_rows, header_rows)
    if not any(header) and not any(any(c) for c in columns):
        raise EmptyFileError(
            path,
            "its sheet has no filled cell",
            ", or set `sheet:` for this source in popbase.yaml to the sheet with the table",
        )
    arrays = [pa.array(c, type=pa.string()) for c in columns]
    return _assemble(path, header, arrays, numbers, None)


def read_table(
    path: Path | str,
    *,
    format: TableFormat | None = None,
    encoding: str = "auto",
    sheet: str | int | None = None,
    skip_rows: int = 0,
    header_rows: int = 1,
    errors: Errors = "quarantine",
) -> RawTable:
    """Read a department table as text.

    Parameters
    ----------
    path
        A ``.csv``, ``.tsv``/``.txt`` (tab-separated), ``.xlsx``/``.xlsm``/``.xls`` or
        ``.parquet`` file.
    format
        Overrides the format the suffix implies.
    encoding
        For CSV: ``"auto"`` detects UTF-8, UTF-8 with BOM or GB18030 (which also reads GBK);
        any other name is used as given, strictly.
    sheet
        Workbook sheet, by name or 0-based index; the first by default.
    skip_rows
        Title or notes rows above the header (CSV: records; workbooks: sheet rows).
    header_rows
        Rows that make up the header, flattened into one name per column ("基本信息/姓名").
    errors
        For malformed CSV rows: ``"quarantine"`` sets them aside in ``bad_rows``,
        ``"raise"`` raises on the first.

    Returns
    -------
    RawTable
        The table, its header names and each row's number in the file.

    Raises
    ------
    SourceFileError
        The file is missing, its format unknown or unreadable, or (``errors="raise"``) a
        CSV row is malformed.
    UndecodableFileError
        A CSV file is not valid text in its encoding.
    """
    path = Path(path)
    if header_rows < 1:
        raise ValueError(f"header_rows was {header_rows}, expected 1 or more")
    if not path.is_file():
        problem = "is a folder, not a file" if path.is_dir() else "does not exist"
        raise SourceFileError(path, problem, "check the source's `path:` in popbase.yaml")
    kind = format or _FORMATS.get(path.suffix.lower())
    if kind not in _FORMATS.values():
        raise SourceFileError(
            path,
            f"has the suffix {path.suffix!r}, whose format is unknown"
            if format is None
            else f"was declared with the unknown format {format!r}",
            "set `format:` (csv, tsv, xlsx or parquet) for this source in popbase.yaml, "
            "or rename the file",
        )
    if kind in ("csv", "tsv"):
        delimiter = "," if kind == "csv" else "\t"
        read = read_delimited(path, delimiter, encoding, skip_rows, header_rows, errors)
        return _assemble(
            path, read.names, read.columns, read.row_numbers, read.encoding, read.bad_rows
        )
    if kind == "xlsx":
        return _read_xlsx(path, sheet, skip_rows, header_rows)
    return _read_parquet(path)
