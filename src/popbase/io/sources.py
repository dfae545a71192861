"""Read a declared department source: every file of it, columns mapped to canonical names.

A source is one file or a folder of files (``pattern``). Each file is read as text with
its original row numbers; every row gets a ``record_id`` (``source:file:row``) that names
it in quarantine, accounting and links. A file that cannot be decoded or parsed does not
stop the build: it is reported as a quarantined file, with the reason and the fix.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from popbase.config import Project, SourceConfig
from popbase.errors import (
    EmptyFileError,
    MissingColumnError,
    SourceFileError,
    UndecodableFileError,
)
from popbase.io.tables import ARROW_TEXT, RawTable, read_table

META_COLUMNS = ("source", "file", "row_number", "record_id")
# Files of one source read at once.
READ_THREADS = 2


@dataclass
class FileProblem:
    """A file of a source that could not be read."""

    file: str
    reason: str
    message: str


@dataclass
class SourceRows:
    """The rows of one source.

    Attributes
    ----------
    records
        One row per data row: ``source, file, row_number, record_id`` and the canonical
        fields mapped for this source (text; missing cells are null).
    raw
        The same rows with their original columns (as delivered) and ``record_id``.
    cells
        ``record_id`` and the columns the source's ``events:`` and ``tags:`` read, named
        as in the project file (text; empty cells are null).
    malformed
        Rows that could not be parsed: ``record_id, file, row_number, raw``.
    files
        Files read.
    problems
        Files that could not be read at all.
    """

    records: pd.DataFrame
    raw: pd.DataFrame
    malformed: pd.DataFrame
    cells: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["record_id"]))
    files: list[str] = field(default_factory=list)
    problems: list[FileProblem] = field(default_factory=list)


def source_files(project: Project, source: SourceConfig) -> list[Path]:
    """The files a source declares, sorted; a folder is searched with its pattern."""
    path = project.path(source.path)
    if path.is_dir():
        files = sorted(
            p for p in path.glob(source.pattern) if p.is_file() and not p.name.startswith("~$")
        )
        if not files:
            raise SourceFileError(
                path,
                f"holds no files matching {source.pattern!r}",
                "put the delivery's files there or correct `path:`/`pattern:` in popbase.yaml",
            )
        return files
    return [path]


def _relative(project: Project, path: Path) -> str:
    try:
        return str(path.relative_to(project.root))
    except ValueError:
        return str(path)


def record_ids(prefix: str, row_numbers: npt.NDArray[np.int64]) -> pd.Series:
    """``prefix`` + each row number, as an Arrow-backed text column.

    >>> list(record_ids("ledger:a.xlsx:", np.array([3, 4])))
    ['ledger:a.xlsx:3', 'ledger:a.xlsx:4']
    """
    numbers = pc.cast(pa.array(row_numbers, type=pa.int64()), pa.string())
    joined = pc.binary_join_element_wise(prefix, numbers, "")
    return pd.Series(pd.array(joined, dtype=ARROW_TEXT))


def _read_file(project: Project, source: SourceConfig, path: Path) -> RawTable | FileProblem:
    """One file of ``source`` as text, or why it could not be read."""
    try:
        return read_table(
            path,
            format=source.format,
            encoding=source.encoding,
            sheet=source.sheet,
            skip_rows=source.skip_rows,
            header_rows=source.header_rows,
        )
    except UndecodableFileError as exc:
        return FileProblem(_relative(project, path), "file_undecodable", str(exc))
    except EmptyFileError as exc:
        return FileProblem(_relative(project, path), "file_empty", str(exc))
    except SourceFileError as exc:
        return FileProblem(_relative(project, path), "file_unreadable", str(exc))


def read_source(project: Project, source: SourceConfig) -> SourceRows:
    """Read every file of ``source`` and map its columns.

    Parameters
    ----------
    project
        The project (paths resolve against its folder).
    source
        The source's configuration.

    Returns
    -------
    SourceRows
        Records, original rows, malformed rows and unreadable files.

    Raises
    ------
    MissingColumnError
        A mapped column is absent from a file (the project file needs fixing).
    SourceFileError
        The source's path holds no files.
    """
    records: list[pd.DataFrame] = []
    raws: list[pd.DataFrame] = []
    cells: list[pd.DataFrame] = []
    malformed: list[dict[str, object]] = []
    result = SourceRows(pd.DataFrame(), pd.DataFrame(), pd.DataFrame())
    paths = source_files(project, source)

    def read(path: Path) -> RawTable | FileProblem:
        return _read_file(project, source, path)

    # Workbook parsing and CSV decoding mostly run outside the interpreter lock, so two
    # files of a folder source are read at once; results keep the files' order.
    with ThreadPoolExecutor(max_workers=min(READ_THREADS, len(paths))) as pool:
        tables = list(pool.map(read, paths))
    for path, table in zip(paths, tables, strict=True):
        rel = _relative(project, path)
        result.files.append(rel)
        if isinstance(table, FileProblem):
            result.problems.append(table)
            continue
        ids = record_ids(f"{source.name}:{rel}:", table.row_numbers)
        mapped: dict[str, object] = {
            "source": source.name,
            "file": rel,
            "row_number": table.row_numbers.astype(np.int64),
            "record_id": ids,
        }
        for field_name, column in source.columns.items():
            # The column's Arrow array itself: no copy through Python strings.
            mapped[field_name] = table.frame[_header(table, path, column, "columns:")].array
        records.append(pd.DataFrame(mapped))
        given: dict[str, object] = {"record_id": ids}
        for column in source.reading_columns:
            given[column] = table.frame[_header(table, path, column, "events:` or `tags:")].array
        cells.append(pd.DataFrame(given))
        raw = table.frame.copy(deep=False)
        raw.insert(0, "record_id", ids)
        raws.append(raw)
        for row, text in table.bad_rows:
            malformed.append(
                {
                    "source": source.name,
                    "file": rel,
                    "row_number": row,
                    "record_id": f"{source.name}:{rel}:{row}",
                    "raw": text,
                }
            )
    columns = [*META_COLUMNS, *source.columns]
    result.records = (
        pd.concat(records, ignore_index=True) if records else pd.DataFrame(columns=columns)
    )
    result.raw = pd.concat(raws, ignore_index=True) if raws else pd.DataFrame(columns=["record_id"])
    result.cells = (
        pd.concat(cells, ignore_index=True)
        if cells
        else pd.DataFrame(columns=["record_id", *source.reading_columns])
    )
    result.malformed = pd.DataFrame(
        malformed, columns=["source", "file", "row_number", "record_id", "raw"]
    )
    return result


def _header(table: RawTable, path: Path, column: str, setting: str) -> str:
    """The header of ``table`` that a configured column names, or an error naming both."""
    try:
        return table.column(column)
    except MissingColumnError as exc:
        raise MissingColumnError(
            path, column, table.columns, matches=exc.matches, setting=setting
        ) from exc


def raw_json(raw: pd.DataFrame) -> pd.Series:
    """Each original row as a JSON object (for the quarantine table)."""
    cols = [c for c in raw.columns if c != "record_id"]
    values = raw[cols].to_numpy(dtype=object)
    return pd.Series(
        [
            json.dumps(
                {c: (None if v is None or v != v else v) for c, v in zip(cols, row, strict=True)},
                ensure_ascii=False,
            )
            for row in values
        ],
        index=raw.index,
        dtype=object,
    )
