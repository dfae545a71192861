"""Read a workbook sheet as text with python-calamine, as Excel shows it.

Workbooks store numbers as floats, dates as serial numbers and group labels in merged
cells. This module turns each cell into the text a user sees: integral floats without
".0", dates as ISO ``YYYY-MM-DD``, merged ranges filled with their label. Long digit
strings are the trap: an ID number typed as a number is stored as a float such as
``3.10112199001011E+17``, its last digits already lost. Text cells are kept exactly;
such a float becomes the integer Excel displays (``310112199001011000``), never a
scientific notation and never invented digits, so validation can flag it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from itertools import zip_longest
from pathlib import Path

import numpy as np
import numpy.typing as npt
from python_calamine import CalamineError, CalamineSheet, CalamineWorkbook

from popbase.errors import SourceFileError
from popbase.io.gc_pause import gc_paused
from popbase.io.headers import flatten_header

_EXACT_INTEGERS = 2.0**53
_RESAVE_FIX = "open it in Excel or WPS, save it again as .xlsx and deliver that file"


def float_text(value: float) -> str:
    """Return a number's text as Excel shows it, never in scientific notation.

    Integral values below 2**53 are exact; larger ones keep the digits stored in the
    file; fractions are rounded to Excel's 15 significant digits.

    Examples
    --------
    >>> float_text(12.0), float_text(85.5), float_text(0.1 + 0.2)
    ('12', '85.5', '0.3')
    >>> float_text(3.10112199001011e17)
    '310112199001011000'
    """
    if value.is_integer():
        if abs(value) < _EXACT_INTEGERS:
            return str(int(value))
        return format(Decimal(repr(value)), "f")
    if value != value or abs(value) == float("inf"):
        return repr(value)
    text = f"{value:.15g}"
    return format(Decimal(text), "f") if "e" in text else text


def _datetime_text(value: dt.datetime) -> str:
    if value.microsecond:  # serial-number round-off: round to the second
        value = (value + dt.timedelta(microseconds=500_000)).replace(microsecond=0)
    if value.time() == dt.time():
        return value.date().isoformat()
    return value.isoformat(" ")


def cell_text(value: object) -> str:
    """Return the text of a cell value read by python-calamine (``""`` when empty)."""
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return float_text(value)
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, dt.datetime):
        return _datetime_text(value)
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


def column_texts(values: Sequence[object]) -> Sequence[str]:
    """Return the texts of a column of cell values; text columns pass through as they are."""
    if set(map(type, values)) <= {str}:
        return values  # type: ignore[return-value]
    return [cell_text(v) for v in values]


def _select_sheet(workbook: CalamineWorkbook, path: Path, sheet: str | int | None) -> CalamineSheet:
    names = workbook.sheet_names
    listed = ", ".join(repr(n) for n in names)
    if isinstance(sheet, str):
        if sheet not in names:
            raise SourceFileError(
                path,
                f"has no sheet named {sheet!r}; its sheets are {listed}",
                "set `sheet:` for this source in popbase.yaml to one of these names",
            )
        return workbook.get_sheet_by_name(sheet)
    index = sheet or 0
    if not 0 <= index < len(names):
        raise SourceFileError(
            path,
            f"has no sheet number {index} (counting from 0); its sheets are {listed}",
            "set `sheet:` for this source in popbase.yaml to a sheet name or number",
        )
    return workbook.get_sheet_by_index(index)


def _fill_merged(
    rows: list[list[object]], merges: Sequence[tuple[tuple[int, int], tuple[int, int]]]
) -> None:
    """Write each merged range's value into all of its cells, as Excel displays it."""
    for (r0, c0), (r1, c1) in merges:
        if r0 >= len(rows) or c0 >= len(rows[r0]):
            continue
        value = rows[r0][c0]
        if value == "":
            continue
        for r in range(r0, min(r1, len(rows) - 1) + 1):
            row = rows[r]
            for c in range(c0, min(c1, len(row) - 1) + 1):
                row[c] = value


def read_sheet(
    path: Path, sheet: str | int | None = None, skip_rows: int = 0, header_rows: int = 1
) -> tuple[list[str], list[Sequence[str]], npt.NDArray[np.int64]]:
    """Read one sheet of a workbook as text.

    Parameters
    ----------
    path
        An ``.xlsx``, ``.xlsm`` or ``.xls`` workbook.
    sheet
        Sheet name or 0-based index; the first by default.
    skip_rows
        Title or notes rows above the header, counted from the sheet's first row.
    header_rows
        Rows flattened into the header names.

    Returns
    -------
    names : list of str
        The flattened header names (``""`` for a column without any).
    columns : list of sequence of str
        Each data column's cell texts, ``""`` when empty.
    row_numbers : numpy.ndarray
        The sheet row number of each data row.

    Raises
    ------
    SourceFileError
        The file is not a readable workbook or has no such sheet.
    """
    try:
        workbook = CalamineWorkbook.from_path(path)
    except (CalamineError, OSError, ValueError) as exc:
        raise SourceFileError(path, f"is not a readable workbook ({exc})", _RESAVE_FIX) from None
    with workbook, gc_paused():
        try:
            ws = _select_sheet(workbook, path, sheet)
            rows: list[list[object]] = ws.to_python(skip_empty_area=False)  # type: ignore[assignment]
        except (CalamineError, ValueError) as exc:
            raise SourceFileError(path, f"has an unreadable sheet ({exc})", _RESAVE_FIX) from None
        merges = ws.merged_cell_ranges or []
        _fill_merged(rows, merges)
        top = skip_rows + header_rows
        width = max(map(len, rows), default=0)
        header = [[cell_text(v).strip() for v in r] for r in rows[skip_rows:top]]
        header = [r + [""] * (width - len(r)) for r in header] or [[""] * width]
        header_merged = any(r0 < top and r1 >= skip_rows for (r0, _), (r1, _) in merges)
        names = flatten_header(header, merged=header_merged)
        data = rows[top:]
        columns = [column_texts(c) for c in zip_longest(*data, fillvalue="")]
        columns += [[""] * len(data) for _ in range(width - len(columns))]
    numbers = np.arange(top + 1, top + 1 + len(data), dtype=np.int64)
    return names, columns, numbers
