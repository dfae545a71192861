"""Numbers as departments write them: coordinates, counts and months of residence.

A number is read with full-width digits and signs made ASCII (１２１．４ → 121.4) and
surrounding spaces dropped; its canonical text is the number as written, so no digit of a
coordinate is lost to a float round trip. Months of residence (居住时长) are also read as
Excel and ledgers write them — ``24``, ``24.0``, ``24个月``, ``24月``, ``2年``,
``1年6个月``, ``十八个月`` — as whole months completed (18.5 → 18), up to 1,200 (a
hundred years).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from popbase.values.reading import Reading, chinese_numerals_to_digits, plain_text, to_float

__all__ = ["MAX_FLOORS", "MAX_MONTHS", "read_floors", "read_months", "read_numbers"]

MAX_MONTHS = 1200
# Floors of a building above ground: the tallest buildings have about 130.
MAX_FLOORS = 200
_FLOORS = r"^(?P<floors>\d+)(?:\.0+)?\s*(?:层|楼|[Ff])?$"
_NUMBER = r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$"
_MONTHS = r"^(?P<months>\d+(?:\.\d+)?)\s*(?:个?月)?$"
_YEARS_MONTHS = r"^(?P<years>\d+(?:\.\d+)?)\s*年(?:\s*(?:零\s*)?(?P<months>\d+)\s*个?月)?$"


def _present(text: pa.Array) -> pa.Array:
    return pc.fill_null(pc.not_equal(text, ""), False)


def read_numbers(values: pa.Array) -> Reading:
    """Read decimal numbers (coordinates, counts).

    Examples
    --------
    >>> read = read_numbers(pa.array(["121.4567", " １２１．４ ", "-3", "1e3", "121.4°", None]))
    >>> read.values.to_pylist()
    ['121.4567', '121.4', '-3', '1e3', None, None]
    >>> read.unreadable.to_pylist()
    [False, False, False, False, True, False]
    """
    text = plain_text(values)
    ok = pc.fill_null(pc.match_substring_regex(text, _NUMBER), False)
    numbers = pc.if_else(ok, text, pa.scalar(None, pa.string()))
    return Reading(numbers, pc.and_(_present(text), pc.invert(ok)))


def read_floors(values: pa.Array) -> Reading:
    """Read a building's floors above ground: ``12``, ``12.0``, ``12层``, ``12F``, ``十二层``.

    Examples
    --------
    >>> read = read_floors(pa.array(["12", "12.0", "12层", "12F", "十二层", "0", "高层", None]))
    >>> read.values.to_pylist()
    ['12', '12', '12', '12', '12', None, None, None]
    >>> read.unreadable.to_pylist()
    [False, False, False, False, False, True, True, False]
    """
    text = chinese_numerals_to_digits(plain_text(values))
    floors = to_float(pc.struct_field(pc.extract_regex(text, _FLOORS), "floors"))
    with np.errstate(invalid="ignore"):
        ok = (floors >= 1) & (floors <= MAX_FLOORS)
    whole = pa.array(np.where(ok, floors, 0).astype(np.int64), mask=~ok)
    return Reading(pc.cast(whole, pa.string()), pc.and_(_present(text), pa.array(~ok)))


def read_months(values: pa.Array) -> Reading:
    """Read months of residence as whole months.

    Examples
    --------
    >>> read = read_months(pa.array(["24", "24.0", "18.5", "24个月", "2年", "1年6个月",
    ...                              "十八个月", "两年", "半年多", "-3", None]))
    >>> read.values.to_pylist()
    ['24', '24', '18', '24', '24', '18', '18', '24', None, None, None]
    >>> read.unreadable.to_pylist()
    [False, False, False, False, False, False, False, False, True, True, False]
    """
    text = chinese_numerals_to_digits(plain_text(values))
    months = pc.extract_regex(text, _MONTHS)
    years = pc.extract_regex(text, _YEARS_MONTHS)
    only_months = to_float(pc.struct_field(months, "months"))
    in_years = to_float(pc.struct_field(years, "years")) * 12
    plus = np.nan_to_num(to_float(pc.struct_field(years, "months")))
    total = np.where(np.isnan(only_months), in_years + plus, only_months)
    with np.errstate(invalid="ignore"):
        ok = total <= MAX_MONTHS
    whole = pa.array(np.floor(np.where(ok, total, 0)).astype(np.int64), mask=~ok)
    return Reading(pc.cast(whole, pa.string()), pc.and_(_present(text), pa.array(~ok)))
