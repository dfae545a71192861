"""Where a delivered table's header is: title rows above it, and how many rows it spans.

Ledgers open with a title (江川路街道社区居民台账（截至2026年10月）) and group their field
names under labels (基本信息 over 姓名, 性别 …). :func:`header_layout` finds the row of field
names (the row with the most cells that name a known field, else the first full row of
text), the group-label rows above it (two or more labels, none of them data) and the title
or notes rows above those, which become ``skip_rows``; the rest is ``header_rows``.

:func:`read_head` reads a file's first rows the way the build will read the whole file:
CSV and TSV in their detected encoding, each sheet of a workbook with its merged cells,
Parquet as text; the header is flattened by :mod:`popbase.io.headers` as the readers
flatten it, so the guessed column names are the names a build resolves.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Final

import pyarrow.parquet as pq
from python_calamine import CalamineError, CalamineWorkbook

from popbase.errors import SourceFileError
from popbase.guess.values import SHAPES
from popbase.guess.vocabulary import is_known_header
from popbase.io.encoding import detect_encoding
from popbase.io.headers import flatten_header, unique_names
from popbase.io.sheets import cell_text, float_text

__all__ = ["TableHead", "header_layout", "read_heads"]

SAMPLE_ROWS: Final = 1000
_SCAN_ROWS: Final = 20  # rows searched for the header
_HEAD_BYTES: Final = 1 << 20
_MAX_HEADER_ROWS: Final = 3
_DATA_SHAPES: Final = ("integer", "number", "date", "id_number", "phone")


@dataclass(frozen=True)
class TableHead:
    """The header and first rows of one delivered table (or one sheet of a workbook).

    Attributes
    ----------
    path
        The file.
    format
        ``csv``, ``tsv``, ``xlsx`` or ``parquet``.
    columns
        The flattened header names, as a build resolves them.
    samples
        The first values of each column (text; ``""`` when empty).
    skip_rows, header_rows
        The layout found.
    sheet
        The sheet's name, when the workbook has several.
    encoding
        The text encoding detected (CSV/TSV only).
    title
        The text of the rows above the header (a ledger's title says its date).
    rows_seen
        Data rows read (all of a workbook's or Parquet file's; a CSV file's first ones).
    """

    path: Path
    format: str
    columns: list[str]
    samples: dict[str, list[str]]
    skip_rows: int = 0
    header_rows: int = 1
    sheet: str | None = None
    encoding: str | None = None
    title: str = ""
    rows_seen: int = 0

    @property
    def signature(self) -> tuple[object, ...]:
        """What files of one delivery share: format, layout, sheet and header."""
        return (self.format, self.skip_rows, self.header_rows, self.sheet, tuple(self.columns))


def _is_data(text: str) -> bool:
    return any(SHAPES[s][1](text) for s in _DATA_SHAPES)


def _filled(row: list[str]) -> list[str]:
    return [c for c in row if c]


def _is_group_row(row: list[str]) -> bool:
    """Labels over groups of fields, none of them data or a note.

    Two or more labels, or one that does not start the row (a title starts it).
    """
    labels = _filled(row)
    if not labels or len(labels) == len(row):  # groups span columns: some cells are empty
        return False
    if any(_is_data(c) or ":" in c or "：" in c for c in labels):
        return False
    return len(set(labels)) >= 2 or not row[0]


def header_layout(rows: list[list[str]]) -> tuple[int, int]:
    """Find ``(skip_rows, header_rows)`` of a table from its first rows.

    Parameters
    ----------
    rows
        The first rows as text, merged cells holding their text in their first cell only.

    Returns
    -------
    tuple of int
        Rows above the header, and rows the header spans.

    Examples
    --------
    >>> header_layout([["居民台账", "", ""], ["", "基本信息", ""], ["编号", "姓名", "性别"],
    ...                ["1", "张三", "男"]])
    (1, 2)
    >>> header_layout([["name", "sex"], ["张三", "男"]])
    (0, 1)
    """
    scan = [[c.strip() for c in r] for r in rows[:_SCAN_ROWS]]
    if not scan:
        return 0, 1
    width = max(len(r) for r in scan)
    hits = [sum(is_known_header(c) for c in r) for r in scan]
    best = max(hits)
    if best >= 2 or (best == 1 and width == 1):
        fields = hits.index(best)
    else:  # no known names: the first row of text across at least half the columns
        fields = next(
            (
                i
                for i, r in enumerate(scan)
                if 2 * len(_filled(r)) > width
                and sum(_is_data(c) for c in _filled(r)) <= len(_filled(r)) // 2
            ),
            0,
        )
    top = fields
    while top > 0 and fields - top + 1 < _MAX_HEADER_ROWS and _is_group_row(scan[top - 1]):
        top -= 1
    return top, fields - top + 1


@dataclass
class _Grid:
    """A table's first rows as text, before its header is known."""

    rows: list[list[str]]
    merges: list[tuple[tuple[int, int], tuple[int, int]]]
    sheet: str | None = None
    encoding: str | None = None
    total_rows: int = 0


def _csv_grid(path: Path, delimiter: str) -> _Grid:
    encoding = detect_encoding(path)
    with open(path, "rb") as file:
        head = file.read(_HEAD_BYTES)
        at_end = not file.read(1)
    text = codecs.getincrementaldecoder(encoding)("replace").decode(head, final=at_end)
    if not at_end:
        text = text[: text.rfind("\n") + 1]  # the last line may be cut
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows = list(islice(reader, _SCAN_ROWS + SAMPLE_ROWS))
    return _Grid(rows, [], encoding=encoding)


def _flattened_csv(grid: _Grid, skip: int, depth: int) -> tuple[list[str], list[list[str]]]:
    """Header names and data rows, the header padded as the CSV reader pads it."""
    header = grid.rows[skip : skip + depth]
    data = grid.rows[skip + depth :]
    named = max((i + 1 for r in header for i, v in enumerate(r) if v.strip()), default=0)
    widths = Counter(len(r) for r in data if r)
    width = max(named, widths.most_common(1)[0][0]) if widths else named
    padded = [[v.strip() for v in r][:width] + [""] * (width - len(r)) for r in header]
    return flatten_header(padded or [[""] * width]), data


def _text_rows(rows: Sequence[Sequence[object]]) -> list[list[str]]:
    return [[cell_text(v).strip() for v in r] for r in rows]


def _sheet_grids(path: Path) -> list[_Grid]:
    try:
        workbook = CalamineWorkbook.from_path(path)
    except (CalamineError, OSError, ValueError) as exc:
        raise SourceFileError(
            path, f"is not a readable workbook ({exc})", "open it in Excel or WPS and save it again"
        ) from None
    grids = []
    with workbook:
        names = list(workbook.sheet_names)
        for name in names:
            sheet = workbook.get_sheet_by_name(name)
            # From cell A1, as the build reads a sheet, so merged ranges' coordinates hold.
            rows = sheet.to_python(skip_empty_area=False, nrows=_SCAN_ROWS + SAMPLE_ROWS)
            merges = list(sheet.merged_cell_ranges or [])
            total = sheet.start[0] + sheet.height if sheet.start else 0
            grids.append(
                _Grid(_text_rows(rows), merges, name if len(names) > 1 else None, None, total)
            )
    return grids


def _flattened_sheet(grid: _Grid, skip: int, depth: int) -> tuple[list[str], list[list[str]]]:
    """Header names and data rows as :func:`popbase.io.sheets.read_sheet` reads them.

    A merged range's text fills all its cells (as Excel shows it); the header is flattened
    with the group labels the merges give.
    """
    rows = [list(r) for r in grid.rows]
    for (r0, c0), (r1, c1) in grid.merges:
        if r0 >= len(rows) or c0 >= len(rows[r0]) or not rows[r0][c0]:
            continue
        for r in range(r0, min(r1, len(rows) - 1) + 1):
            for c in range(c0, min(c1, len(rows[r]) - 1) + 1):
                rows[r][c] = rows[r0][c0]
    top = skip + depth
    width = max(map(len, rows), default=0)
    header = [r + [""] * (width - len(r)) for r in rows[skip:top]] or [[""] * width]
    merged = any(r0 < top and r1 >= skip for (r0, _), (r1, _) in grid.merges)
    return flatten_header(header, merged=merged), rows[top:]


def _columns(names: list[str], data: list[list[str]]) -> dict[str, list[str]]:
    """Each column's sampled values, named as the table readers name columns.

    An unnamed column is kept when it holds values (as ``column_<n>``), repeated names
    get ``_2``, ``_3`` … (see :func:`popbase.io.tables._assemble`).
    """
    values = [
        [r[i].strip() if i < len(r) else "" for r in data[:SAMPLE_ROWS]] for i in range(len(names))
    ]
    keep = [i for i, name in enumerate(names) if name or any(values[i])]
    unique = unique_names([names[i] or f"column_{i + 1}" for i in keep])
    return {name: values[i] for name, i in zip(unique, keep, strict=True)}


def _title(rows: list[list[str]], skip: int) -> str:
    return " ".join(c for r in rows[:skip] for c in r if c)


def _parquet_head(path: Path) -> TableHead:
    file = pq.ParquetFile(path)
    batch = next(file.iter_batches(batch_size=SAMPLE_ROWS), None)
    names = [str(n) for n in file.schema_arrow.names]
    samples: dict[str, list[str]] = {n: [] for n in names}
    if batch is not None:
        for name, column in zip(names, batch.columns, strict=True):
            samples[name] = [
                "" if v is None else float_text(v) if isinstance(v, float) else str(v)
                for v in column.to_pylist()
            ]
    rows = file.metadata.num_rows
    return TableHead(path, "parquet", names, samples, rows_seen=rows)


def read_heads(path: Path) -> list[TableHead]:
    """Read the header and first rows of a table file (each sheet of a workbook).

    Parameters
    ----------
    path
        A ``.csv``, ``.tsv``/``.txt``, ``.xlsx``/``.xlsm``/``.xls`` or ``.parquet`` file.

    Returns
    -------
    list of TableHead
        One per non-empty table in the file.

    Raises
    ------
    SourceFileError, UndecodableFileError
        The file cannot be read as it is.
    """
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return [_parquet_head(path)]
    if suffix in (".csv", ".tsv", ".txt"):
        delimiter = "," if suffix == ".csv" else "\t"
        grid = _csv_grid(path, delimiter)
        skip, depth = header_layout(grid.rows)
        names, data = _flattened_csv(grid, skip, depth)
        samples = _columns(names, data)
        return [
            TableHead(
                path,
                "csv" if suffix == ".csv" else "tsv",
                list(samples),
                samples,
                skip,
                depth,
                encoding=grid.encoding,
                title=_title(grid.rows, skip),
                rows_seen=len(data),
            )
        ]
    heads = []
    for grid in _sheet_grids(path):
        if not any(any(r) for r in grid.rows):
            continue
        # calamine gives a merged range's text in its first cell only, as header_layout wants.
        skip, depth = header_layout(grid.rows)
        names, data = _flattened_sheet(grid, skip, depth)
        samples = _columns(names, data)
        heads.append(
            TableHead(
                path,
                "xlsx",
                list(samples),
                samples,
                skip,
                depth,
                sheet=grid.sheet,
                title=_title(grid.rows, skip),
                rows_seen=max(0, grid.total_rows - skip - depth),
            )
        )
    return heads
