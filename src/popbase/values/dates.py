"""Dates as departments write them, read into ISO dates (``YYYY-MM-DD``).

Read, with any full-width digits or signs (２０２６／９／５) and surrounding spaces:

- year, month and day with the separators ``-``, ``/``, ``.`` or 年/月/日 (号):
  2026-09-05, 2026/9/5, 2026.9.5, 2026年9月5日, 2026年09月05号;
- the same with a time after the date, which is dropped: 2026-09-05 12:00,
  2026-09-05T12:00:00, 2026/9/5 12:00:00.000, 2026-09-05T12:00:00+08:00;
- year and month only: 2026年9月, 2026-9, 2026/09, 2026.9, 202609;
- eight digits (20260905), also with a time (20260905 1200, 20260905120000);
- Chinese numerals: 二〇二六年九月五日, 二零二六年九月, 一九九〇年十二月三十一日;
- Excel serial numbers, as a CSV export writes a date cell (46270 is 2026-09-05; a
  fraction is the time of day): only whole or fractional numbers from 3000 to 73050,
  that is 1908-03-18 to 2099-12-31. Smaller numbers are more likely a year alone or
  something else than a date, so they are not read.

**A date of a year and month only means the first day of that month**: residence since
2026年9月 counts its months of residence from 2026-09-01 to the project's as-of date.
Years run from 1800 to 2199. Unread (counted as unreadable): a year alone (2026), two-digit
years (26.9.5), day-first or month-first orders (5/9/2026: ambiguous), impossible dates
(2026-02-30), and anything else.

Workbook date cells need none of this: :mod:`popbase.io.sheets` hands them over as ISO
text already (``2026-09-05``, or ``2026-09-05 12:00:00`` with a time).

Every step is an Arrow kernel over the whole column (no Python loop per value), and the
build reads each distinct value of a field once (see :mod:`popbase.values.records`).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from popbase.values.reading import Reading, chinese_numerals_to_digits, plain_text, to_float

__all__ = ["EXCEL_SERIALS", "YEARS", "iso_date_sql", "read_dates"]

YEARS = (1800, 2199)
# Excel serial numbers read as dates: 1908-03-18 .. 2099-12-31 (see the module docstring).
EXCEL_SERIALS = (3000, 73050)
# Serial number of 1970-01-01 in Excel's 1900 date system (its serials count from
# 1899-12-30 for every date after February 1900).
_EXCEL_EPOCH = 25569

_TIME = (
    r"(?:\s*[Tt]?\s*(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:[.,]\d+)?)?"
    r"\s*(?:[Zz]|[+-]\d{2}:?\d{2})?)?"
)
# 2026-09-05, 2026/9/5, 2026.9.5, 2026年9月5日, 2026年09月05号, 2026年9月, 2026-9 (+ time).
_SEPARATED = (
    r"^(?P<y>\d{4})\s*(?:年|[-/.])\s*(?P<m>\d{1,2})"
    r"(?:\s*(?:月|[-/.])\s*(?:(?P<d>\d{1,2})\s*(?:日|号)?" + _TIME + r")?)?$"
)
# 202609, 20260905, 20260905 1200, 20260905120000, 20260905T12:00:00.
_COMPACT = (
    r"^(?P<y>\d{4})(?P<m>\d{2})(?:(?P<d>\d{2})"
    r"(?:\s*[Tt]?\s*(?P<h>\d{2}):?(?P<mi>\d{2})(?::?(?P<s>\d{2}))?)?)?$"
)
_SERIAL = r"^(?P<serial>\d{4,5})(?:\.\d+)?$"
_PARTS = ("y", "m", "d", "h", "mi", "s")


def _parts(text: pa.Array, pattern: str) -> dict[str, npt.NDArray[np.float64]]:
    """The named parts of ``pattern`` in each value as floats (NaN where absent)."""
    found = pc.extract_regex(text, pattern)
    names = [found.type.field(i).name for i in range(found.type.num_fields)]
    out = {}
    for name in names:
        out[name] = to_float(pc.struct_field(found, name))
    return out


def _coalesce(
    first: dict[str, npt.NDArray[np.float64]], second: dict[str, npt.NDArray[np.float64]]
) -> dict[str, npt.NDArray[np.float64]]:
    """Parts of ``first`` where it matched, else those of ``second``."""
    matched = ~np.isnan(first["y"])
    return {
        name: np.where(matched, first[name], second.get(name, np.full(len(matched), np.nan)))
        for name in first
    }


def _days_since_epoch(parts: dict[str, npt.NDArray[np.float64]]) -> npt.NDArray[np.float64]:
    """Days from 1970-01-01 of each real date in ``parts``; NaN where none or impossible.

    A missing day means the first of the month; a time, when given, must be a real time.
    """
    y, m, d = parts["y"], parts["m"], parts["d"]
    day = np.where(np.isnan(d), 1.0, d)
    with np.errstate(invalid="ignore"):
        ok = (y >= YEARS[0]) & (y <= YEARS[1]) & (m >= 1) & (m <= 12) & (day >= 1)
        for name, top in (("h", 23), ("mi", 59), ("s", 59)):
            ok &= np.isnan(parts[name]) | (parts[name] <= top)
    months = np.where(ok, (y - 1970) * 12 + (m - 1), 0).astype(np.int64)
    first = months.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
    after = (months + 1).astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
    ok &= day <= after - first
    return np.where(ok, first + day - 1, np.nan)


def read_dates(values: pa.Array) -> Reading:
    """Read dates written in any of the forms of the module docstring as ISO dates.

    Parameters
    ----------
    values
        Text as delivered (null where a cell is empty).

    Returns
    -------
    Reading
        ISO dates (``YYYY-MM-DD``), null where missing or unreadable, and the
        unreadable flags.

    Examples
    --------
    >>> read = read_dates(pa.array(["2026年9月", "2026.9.5", "20260905", "46270",
    ...                             "二〇二六年九月五日", "2026-09-05 12:00", "2026", None]))
    >>> read.values.to_pylist()
    ['2026-09-01', '2026-09-05', '2026-09-05', '2026-09-05', '2026-09-05', '2026-09-05', None, None]
    >>> read.unreadable.to_pylist()
    [False, False, False, False, False, False, True, False]
    """
    values = values.cast(pa.string())
    text = chinese_numerals_to_digits(plain_text(values))
    parts = _coalesce(_parts(text, _SEPARATED), _parts(text, _COMPACT))
    days = _days_since_epoch(parts)
    serial = _parts(text, _SERIAL)["serial"]
    with np.errstate(invalid="ignore"):
        is_serial = (serial >= EXCEL_SERIALS[0]) & (serial <= EXCEL_SERIALS[1])
    days = np.where(np.isnan(days) & is_serial, serial - _EXCEL_EPOCH, days)
    read = ~np.isnan(days)
    dates = pa.array(np.where(read, days, 0).astype(np.int32), pa.int32(), mask=~read)
    present = pc.fill_null(pc.not_equal(text, ""), False)
    unreadable = pc.and_(present, pa.array(~read))
    return Reading(pc.cast(dates.cast(pa.date32()), pa.string()), unreadable)


def iso_date_sql(column: str) -> str:
    """SQL reading a column the validate stage has normalised (ISO text) as a DATE.

    >>> iso_date_sql("r.residence_since")
    'TRY_CAST(r.residence_since AS DATE)'
    """
    return f"TRY_CAST({column} AS DATE)"
