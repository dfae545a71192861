"""What reading a column of department values gives, and the text steps every reader shares.

Every reader of :mod:`popbase.values` takes the values of one field as an Arrow string
array and returns a :class:`Reading`: the canonical text of each value (an ISO date, a
number, a canonical word), null where the value is missing or could not be read, and a
flag for each value that was present but could not be read. The flags are what the build
counts and reports (see :mod:`popbase.values.records`): a value that cannot be read is
missing for the stages, never silently.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["Reading", "chinese_numerals_to_digits", "plain_text", "text_array", "to_float"]

# Chinese digits as written in dates and counts (二〇二六年九月, 十八个月); ○ (a circle) is
# often typed for 〇.
_CHINESE_DIGITS = {
    "〇": "0",
    "零": "0",
    "○": "0",
    "一": "1",
    "二": "2",
    "两": "2",
    "三": "3",
    "四": "4",
    "五": "5",
    "六": "6",
    "七": "7",
    "八": "8",
    "九": "9",
}
_HAS_CHINESE_NUMERAL = "[〇零○一二两三四五六七八九十廿卅]"
# Tens, in order: 二十五 → 2十5 → 25; 二十 → 20; 十五 → 15; 十 → 10; 廿五 → 25; 卅 → 30.
_TENS = (
    (r"(\d)十(\d)", r"\1\2"),
    (r"(\d)十", r"\10"),
    (r"十(\d)", r"1\1"),
    ("十", "10"),
    (r"廿(\d)", r"2\1"),
    ("廿", "20"),
    (r"卅(\d)", r"3\1"),
    ("卅", "30"),
)


@dataclass(frozen=True)
class Reading:
    """The values of one field, read.

    Attributes
    ----------
    values
        Canonical text of each value; null where it was missing or could not be read.
    unreadable
        True where a value was present but could not be read (never null).
    """

    values: pa.Array
    unreadable: pa.Array

    def __len__(self) -> int:
        return len(self.values)


def text_array(values: pd.Series) -> pa.Array:
    """A column of any cell values (text, numbers; None or NaN where empty) as Arrow text.

    >>> text_array(pd.Series([12, None, "12层", 3.5])).to_pylist()
    ['12', None, '12层', '3.5']
    """
    return pa.array(
        [None if pd.isna(v) else str(v) for v in values.to_numpy(dtype=object)], pa.string()
    )


def plain_text(values: pa.Array) -> pa.Array:
    """NFKC-normalised, trimmed text: full-width digits and signs (２０２６／９) become ASCII.

    >>> plain_text(pa.array([" ２０２６．９ ", None])).to_pylist()
    ['2026.9', None]
    """
    text = pc.utf8_normalize(values.cast(pa.string()), form="NFKC")
    return pc.utf8_trim_whitespace(text)


def chinese_numerals_to_digits(text: pa.Array) -> pa.Array:
    """Chinese numerals written in dates and counts as Arabic digits.

    Each digit character becomes its digit (二〇二六 → 2026), and tens are read as
    numbers (十二 → 12, 二十五 → 25, 三十 → 30, 廿五 → 25). Only values holding a Chinese
    numeral are rewritten.

    >>> chinese_numerals_to_digits(pa.array(["二〇二六年九月五日", "二零二六年十二月三十一日",
    ...                                      "十八个月", "2026-09", None])).to_pylist()
    ['2026年9月5日', '2026年12月31日', '18个月', '2026-09', None]
    """
    has = pc.fill_null(pc.match_substring_regex(text, _HAS_CHINESE_NUMERAL), False)
    if not pc.any(has).as_py():
        return text
    chosen = pc.filter(text, has)
    for character, digit in _CHINESE_DIGITS.items():
        chosen = pc.replace_substring(chosen, character, digit)
    for pattern, replacement in _TENS:
        chosen = pc.replace_substring_regex(chosen, pattern, replacement)
    return pc.replace_with_mask(text, has, chosen)


def to_float(values: pa.Array) -> npt.NDArray[np.float64]:
    """Digit strings (``""`` or null where absent) as floats, NaN where absent."""
    text = pc.if_else(pc.equal(values, ""), pa.scalar(None, pa.string()), values)
    numbers = pc.cast(text, pa.float64())
    return np.asarray(numbers.to_numpy(zero_copy_only=False), dtype=np.float64)
