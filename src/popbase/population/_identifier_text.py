"""Cleaning identifier text before it is validated, one value or a whole column at a time.

Department exports carry full-width digits (１２３), ideographic and non-breaking spaces,
zero-width characters pasted from web forms, dashes of every width, padding from
fixed-width columns and lower-case ``x``. Both the scalar and the column cleaner apply the
same three steps, so that the scalar and vectorised validators agree exactly:

1. Unicode NFKC (full-width digits and letters become ASCII);
2. remove :data:`SEPARATORS`;
3. upper-case, but only when the whole text is ASCII: Python and Arrow upper-case some
   non-ASCII letters differently (``"ß".upper()`` is ``"SS"`` in Python) and such text is
   never a valid identifier anyway.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any, Final, cast

import numpy as np
import pandas as pd
import pyarrow as pa
from numpy.typing import NDArray
from pandas.api.types import is_scalar

#: Characters removed from identifiers: ASCII whitespace, no-break and ideographic spaces,
#: zero-width characters and the dash family. ``-`` stays last so the class reads it
#: literally in Python's ``re`` and in Arrow's RE2 alike.
SEPARATORS: Final = (
    " \t\n\r\f\v\u00a0\u200b\u200c\u200d\u2060\ufeff\u3000"
    "\u2010\u2011\u2012\u2013\u2014\u2015\u2212-"
)
_SEPARATOR_PATTERN: Final = f"[{SEPARATORS}]"
_SEPARATOR_RE: Final = re.compile(_SEPARATOR_PATTERN)
# Lone surrogates (from files decoded with errors="surrogateescape") cannot enter Arrow;
# both cleaners turn each into U+FFFD, so such a value is rejected instead of crashing.
_SURROGATE_RE: Final = re.compile("[\ud800-\udfff]")
_ZERO: Final = ord("0")


def is_missing(value: object) -> bool:
    """Return whether a cell holds no value, by the rule `pandas.isna` applies to columns."""
    if isinstance(value, str) or not (value is None or is_scalar(value)):
        return False
    return bool(pd.isna(cast(Any, value)))  # a scalar here; the stubs cannot tell


def clean_text(value: object) -> str:
    """Clean one identifier; missing values become ``""``.

    Parameters
    ----------
    value
        Anything read from a source cell; non-strings are converted with ``str``.

    Returns
    -------
    str
        The NFKC-normalised text without separators, upper-cased when it is ASCII.
    """
    if is_missing(value):
        return ""
    text = _SURROGATE_RE.sub("\ufffd", str(value))
    text = _SEPARATOR_RE.sub("", unicodedata.normalize("NFKC", text))
    return text.upper() if text.isascii() else text


def clean_texts(values: pd.Series) -> pd.Series:
    """Clean a column of identifiers exactly as :func:`clean_text` cleans one.

    Parameters
    ----------
    values
        A column of any dtype; missing cells become ``""``.

    Returns
    -------
    pandas.Series
        Cleaned text (pandas ``str`` dtype) with a fresh ``RangeIndex``.
    """
    values = values.reset_index(drop=True)
    try:
        text = values.astype("str").fillna("")
    except UnicodeEncodeError:
        replaced = values.map(lambda v: _SURROGATE_RE.sub("\ufffd", v) if isinstance(v, str) else v)
        text = replaced.astype("str").fillna("")
    # The expensive steps run only on the rows that need them; clean exports skip both.
    non_ascii = ~text.str.isascii()
    if non_ascii.any():
        text[non_ascii] = text[non_ascii].str.normalize("NFKC")
    not_alnum = ~text.str.isalnum()
    if not_alnum.any():
        text[not_alnum] = text[not_alnum].str.replace(_SEPARATOR_PATTERN, "", regex=True)
    return text.where(~text.str.isascii(), text.str.upper())


def ascii_matrix(texts: pd.Series, rows: NDArray[np.intp], width: int) -> NDArray[np.uint8]:
    """Stack the ASCII strings at ``rows`` into a ``(len(rows), width)`` matrix of bytes.

    Arrow keeps a string column as one buffer of bytes plus offsets; strings that all have
    ``width`` ASCII characters lie back to back in it, so the matrix is a view of the buffer
    of the selected rows, with no Python object per string.

    Parameters
    ----------
    texts
        Cleaned text with a ``RangeIndex``; the strings at ``rows`` are ASCII, each exactly
        ``width`` characters long.
    rows
        Positions to take.
    width
        Their common length.

    Returns
    -------
    numpy.ndarray
        Read-only ``uint8`` matrix, one row per position.
    """
    if len(rows) == 0:
        return np.empty((0, width), dtype=np.uint8)
    chosen = pa.array(texts.array).take(pa.array(rows)).cast(pa.large_string())
    if isinstance(chosen, pa.ChunkedArray):  # columns built by concatenation come in chunks
        chosen = chosen.combine_chunks()
    _, offsets, data = chosen.buffers()
    bounds = np.frombuffer(offsets, dtype=np.int64)[chosen.offset : chosen.offset + len(rows) + 1]
    start, stop = int(bounds[0]), int(bounds[-1])
    if stop - start != len(rows) * width:
        raise ValueError(f"expected {len(rows)} ASCII strings of {width} characters")
    matrix: NDArray[np.uint8] = np.frombuffer(data, dtype=np.uint8)[start:stop].reshape(-1, width)
    return matrix


def decimal(matrix: NDArray[np.integer], start: int, stop: int) -> NDArray[np.int64]:
    """Read columns ``start:stop`` of a matrix of character codes as one decimal number.

    Parameters
    ----------
    matrix
        Character codes (``uint8`` bytes or ``uint32`` code points) of ASCII digits.
    start, stop
        The columns holding the number, most significant first.

    Returns
    -------
    numpy.ndarray
        One ``int64`` per row.
    """
    number = np.zeros(len(matrix), dtype=np.int64)
    for column in range(start, stop):
        number = number * 10 + matrix[:, column] - _ZERO
    return number


def digit_codes(codes: NDArray[np.str_], width: int, what: str) -> NDArray[np.int64]:
    """Read an array of fixed-width digit codes (area, division) as integers.

    Parameters
    ----------
    codes
        Strings of exactly ``width`` ASCII digits.
    width
        Their length.
    what
        The argument's name, for the error message.

    Returns
    -------
    numpy.ndarray
        One ``int64`` per code.

    Raises
    ------
    ValueError
        If any code is not ``width`` ASCII digits.
    """
    codes = np.asarray(codes).astype(str)
    points = np.zeros((0, width), dtype=np.uint32)
    if (np.strings.str_len(codes) == width).all():
        # A U<width> string is UCS-4 code points: view them as an integer matrix.
        points = np.ascontiguousarray(codes, dtype=f"U{width}").view(np.uint32).reshape(-1, width)
    if len(points) != len(codes) or not ((points >= _ZERO) & (points <= ord("9"))).all():
        raise ValueError(
            f"{what} must be {width} ASCII digits each, found e.g. {codes[:3].tolist()}"
        )
    return decimal(points, 0, width)


def ascii_digits(numbers: NDArray[np.int64], width: int) -> NDArray[np.uint8]:
    """Write non-negative integers as zero-padded ASCII digits, one row per number.

    Parameters
    ----------
    numbers
        Integers below ``10**width``.
    width
        Digits per number.

    Returns
    -------
    numpy.ndarray
        ``(len(numbers), width)`` matrix of ASCII digit codes.
    """
    matrix = np.empty((len(numbers), width), dtype=np.uint8)
    rest = numbers.copy()
    for column in range(width - 1, -1, -1):
        matrix[:, column] = rest % 10 + _ZERO
        rest //= 10
    return matrix


def weighted_digit_sum(matrix: NDArray[np.uint8], weights: NDArray[np.int64]) -> NDArray[np.int64]:
    """Sum the digits of each row's first ``len(weights)`` characters times their weights.

    Column by column, so that no full integer copy of the matrix is made.

    Parameters
    ----------
    matrix
        ASCII digit codes.
    weights
        One weight per leading column.

    Returns
    -------
    numpy.ndarray
        One sum per row.
    """
    total = np.zeros(len(matrix), dtype=np.int64)
    for column, weight in enumerate(weights.tolist()):
        total += (matrix[:, column].astype(np.int64) - _ZERO) * weight
    return total


def matrix_strings(matrix: NDArray[np.uint8]) -> NDArray[np.str_]:
    """Turn a matrix of ASCII bytes back into one string per row (inverse of `ascii_matrix`).

    Parameters
    ----------
    matrix
        ``uint8`` matrix of ASCII codes.

    Returns
    -------
    numpy.ndarray
        Fixed-width unicode strings, one per row.
    """
    # numpy's U strings are UCS-4: widening the bytes to uint32 *is* the conversion, and
    # costs a tenth of ``astype(str)`` on the equivalent bytes strings.
    width = matrix.shape[1]
    return np.ascontiguousarray(matrix, dtype=np.uint32).view(f"U{width}").ravel()


def object_column(
    n: int, rows: NDArray[np.intp], values: NDArray[np.object_] | NDArray[np.str_], index: pd.Index
) -> pd.Series:
    """Build an object column holding ``values`` at ``rows`` and None elsewhere.

    Parameters
    ----------
    n
        Length of the column.
    rows
        Positions to fill.
    values
        One string per position.
    index
        Index of the result.

    Returns
    -------
    pandas.Series
        ``object`` dtype, so that missing entries are ``None`` as in the scalar results.
    """
    column = np.full(n, None, dtype=object)
    column[rows] = values
    return pd.Series(column, index=index, dtype=object)
