"""Mainland China mobile numbers (手机号码): validation and generation.

A mobile number is 11 digits, ``1`` then ``3``-``9`` then nine more. Department records
write them with a ``+86`` or ``0086`` country prefix, spaces, dashes or full-width digits;
all of these are cleaned away. Landlines are out of scope and are rejected.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from popbase.population._identifier_text import (
    ascii_digits,
    ascii_matrix,
    clean_text,
    clean_texts,
    matrix_strings,
    object_column,
)
from popbase.population._unique_draw import redraw_duplicates

PhoneReason = Literal["phone_missing", "phone_bad_format"]
#: Reason codes, in the order they are checked.
PHONE_REASONS: Final[tuple[PhoneReason, ...]] = ("phone_missing", "phone_bad_format")
COUNTRY_PREFIXES: Final = ("+86", "0086")
_MOBILE_RE: Final = re.compile("1[3-9][0-9]{9}")
#: Three-digit prefixes allocated to mainland mobile operators, used for generated numbers.
MOBILE_PREFIXES: Final = (
    *range(130, 140), 145, 147, 149, *range(150, 154), *range(155, 160), 166, 173,
    *range(175, 179), *range(180, 190), 191, 198, 199,
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class PhoneCheck:
    """The verdict on one phone number; ``normalized`` (11 digits) is set when valid."""

    normalized: str | None
    valid: bool
    reason: PhoneReason | None


def validate_phone(value: str | None) -> PhoneCheck:
    """Validate one mainland mobile number.

    Parameters
    ----------
    value
        Raw text, possibly with a country prefix, spaces, dashes or full-width digits.

    Returns
    -------
    PhoneCheck
        The 11-digit number and the verdict.

    Examples
    --------
    >>> validate_phone("+86 138-0013-8000")
    PhoneCheck(normalized='13800138000', valid=True, reason=None)
    """
    text = clean_text(value)
    if not text:
        return PhoneCheck(None, False, "phone_missing")
    for prefix in COUNTRY_PREFIXES:
        if text.startswith(prefix):
            text = text[len(prefix) :]
            break
    if _MOBILE_RE.fullmatch(text) is None:
        return PhoneCheck(None, False, "phone_bad_format")
    return PhoneCheck(text, True, None)


def validate_phones(values: pd.Series) -> pd.DataFrame:
    """Validate a column of mobile numbers; the same verdicts as `validate_phone`.

    Parameters
    ----------
    values
        A column of raw numbers, any dtype.

    Returns
    -------
    pandas.DataFrame
        Same index as ``values``; columns ``normalized``, ``valid`` and ``reason``, text in
        ``object`` columns with ``None`` where unset.
    """
    text = clean_texts(values)
    n = len(text)
    missing = (text == "").to_numpy(dtype=bool)
    for prefix in COUNTRY_PREFIXES:
        has = text.str.startswith(prefix)
        if has.any():
            text[has] = text[has].str.slice(len(prefix))
    length = text.str.len().to_numpy(dtype=np.int64)
    is_ascii = text.str.isascii().to_numpy(dtype=bool)
    rows = np.flatnonzero(~missing & (length == 11) & is_ascii)
    matrix = ascii_matrix(text, rows, 11)
    is_digit = (matrix >= ord("0")) & (matrix <= ord("9"))
    mobile = is_digit.all(axis=1) & (matrix[:, 0] == ord("1")) & (matrix[:, 1] >= ord("3"))
    rows, matrix = rows[mobile], matrix[mobile]
    reason = np.where(missing, 1, 2).astype(np.int8)  # 1 + position in PHONE_REASONS
    reason[rows] = 0
    index = values.index
    return pd.DataFrame(
        {
            "normalized": object_column(n, rows, matrix_strings(matrix), index),
            "valid": pd.Series(reason == 0, index=index),
            "reason": pd.Series(
                np.array([None, *PHONE_REASONS], dtype=object)[reason], index=index, dtype=object
            ),
        }
    )


def generate_phones(n: int, rng: np.random.Generator) -> NDArray[np.str_]:
    """Generate ``n`` valid, unique mobile numbers with real operator prefixes.

    Parameters
    ----------
    n
        How many numbers.
    rng
        Source of randomness.

    Returns
    -------
    numpy.ndarray
        11-digit numbers.

    Raises
    ------
    ValueError
        If ``n`` is negative or beyond half of the numbers the prefixes allow.
    """
    prefixes = np.array(MOBILE_PREFIXES, dtype=np.int64)
    if not 0 <= n <= len(prefixes) * 10**8 // 2:
        raise ValueError(f"n must be between 0 and {len(prefixes) * 10**8 // 2:,}, was {n:,}")

    def draw(rows: NDArray[np.intp]) -> NDArray[np.int64]:
        return rng.choice(prefixes, len(rows)) * 10**8 + rng.integers(0, 10**8, len(rows))

    return matrix_strings(ascii_digits(redraw_duplicates(draw(np.arange(n)), draw), 11))
