"""GB 32100 unified social credit codes (统一社会信用代码): validation and generation.

A code is 18 characters over :data:`ALPHABET` (digits and capitals without I, O, Z, S, V):
the registering authority (``9`` = market regulation), the entity type (``1`` = enterprise),
the 6-digit area code of the registering office, the 9-character GB 11714 organisation
code (8 characters and its own check character) and a check character computed with
:data:`WEIGHTS` modulo 31.

Only the outer check character is validated: it is what GB 32100 prescribes. Any position
may hold any character of the alphabet, since some registering authorities are letters
(``N`` agriculture, ``Y`` other); python-stdnum's ``cn.uscc`` also demands 8 leading digits
and so rejects those codes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from popbase.population._identifier_text import (
    ascii_matrix,
    clean_text,
    clean_texts,
    digit_codes,
    matrix_strings,
    object_column,
)
from popbase.population._unique_draw import redraw_duplicates

CodeReason = Literal["code_missing", "code_bad_length", "code_bad_chars", "code_bad_checksum"]
#: Reason codes, in the order they are checked: a value gets the first that applies.
CODE_REASONS: Final[tuple[CodeReason, ...]] = (
    "code_missing",
    "code_bad_length",
    "code_bad_chars",
    "code_bad_checksum",
)
ALPHABET: Final = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS: Final = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
#: GB 11714 weights of the organisation code's first 8 characters.
ORGANIZATION_WEIGHTS: Final = (3, 7, 9, 10, 5, 8, 4, 2)

_WEIGHTS: Final = np.array(WEIGHTS, dtype=np.int64)
_ALPHABET_BYTES: Final = np.frombuffer(ALPHABET.encode("ascii"), dtype=np.uint8)
_NOT_IN_ALPHABET: Final = 255
# Byte -> position in ALPHABET (255 outside it).
_ALPHABET_INDEX: Final = np.full(256, _NOT_IN_ALPHABET, dtype=np.uint8)
_ALPHABET_INDEX[_ALPHABET_BYTES] = np.arange(len(ALPHABET), dtype=np.uint8)
_ALPHABET_INDEX.flags.writeable = False
# GB 11714 counts letters from A = 10 to Z = 35, so its values differ from ALPHABET positions.
_ORGANIZATION_VALUE: Final = np.array([int(c, 36) for c in ALPHABET], dtype=np.int64)
_ORGANIZATION_BODIES: Final = len(ALPHABET) ** 8


@dataclass(frozen=True, slots=True)
class CreditCheck:
    """The verdict on one credit code; ``normalized`` is set once the shape is right."""

    normalized: str | None
    valid: bool
    reason: CodeReason | None


def check_char(first17: str) -> str:
    """Compute the GB 32100 check character of a code's first 17 characters.

    Examples
    --------
    >>> check_char("91110000600037341")
    'L'
    """
    if len(first17) != 17 or any(c not in ALPHABET for c in first17):
        raise ValueError(f"first17 must be 17 characters of {ALPHABET}, was {first17!r}")
    total = sum(ALPHABET.index(c) * w for c, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[-total % 31]


def organization_check_char(first8: str) -> str:
    """Compute the GB 11714 check character of an organisation code's first 8 characters.

    Examples
    --------
    >>> organization_check_char("60003734")
    '1'
    """
    if len(first8) != 8 or not (first8.isascii() and first8.isalnum() and first8.upper() == first8):
        raise ValueError(f"first8 must be 8 digits or capital letters, was {first8!r}")
    total = sum(int(c, 36) * w for c, w in zip(first8, ORGANIZATION_WEIGHTS, strict=True))
    return "0123456789X0"[11 - total % 11]


def validate_credit_code(value: str | None) -> CreditCheck:
    """Validate one unified social credit code.

    Parameters
    ----------
    value
        Raw text; full-width characters, spaces, dashes and lower case are cleaned.

    Returns
    -------
    CreditCheck
        The normalised code and the verdict.

    Examples
    --------
    >>> validate_credit_code("91110000 600037341l")
    CreditCheck(normalized='91110000600037341L', valid=True, reason=None)
    """
    text = clean_text(value)
    if not text:
        return CreditCheck(None, False, "code_missing")
    if len(text) != 18:
        return CreditCheck(None, False, "code_bad_length")
    if any(c not in ALPHABET for c in text):
        return CreditCheck(None, False, "code_bad_chars")
    if text[17] != check_char(text[:17]):
        return CreditCheck(text, False, "code_bad_checksum")
    return CreditCheck(text, True, None)


def validate_credit_codes(values: pd.Series) -> pd.DataFrame:
    """Validate a column of credit codes; the same verdicts as `validate_credit_code`.

    Parameters
    ----------
    values
        A column of raw codes, any dtype.

    Returns
    -------
    pandas.DataFrame
        Same index as ``values``; columns ``normalized``, ``valid`` and ``reason``, text in
        ``object`` columns with ``None`` where unset.
    """
    text = clean_texts(values)
    n = len(text)
    length = text.str.len().to_numpy(dtype=np.int64)
    is_ascii = text.str.isascii().to_numpy(dtype=bool)
    reason = np.zeros(n, dtype=np.int8)  # 1 + position in CODE_REASONS; 0 = valid
    reason[length == 0] = 1
    reason[(length != 0) & (length != 18)] = 2
    reason[(length == 18) & ~is_ascii] = 3
    rows = np.flatnonzero(reason == 0)
    matrix = ascii_matrix(text, rows, 18)
    positions = _ALPHABET_INDEX[matrix]
    shaped = (positions != _NOT_IN_ALPHABET).all(axis=1)
    reason[rows[~shaped]] = 3
    rows, matrix, positions = rows[shaped], matrix[shaped], positions[shaped]
    total = positions[:, :17].astype(np.int64) @ _WEIGHTS
    reason[rows[positions[:, 17] != -total % 31]] = 4

    index = values.index
    return pd.DataFrame(
        {
            "normalized": object_column(n, rows, matrix_strings(matrix), index),
            "valid": pd.Series(reason == 0, index=index),
            "reason": pd.Series(
                np.array([None, *CODE_REASONS], dtype=object)[reason], index=index, dtype=object
            ),
        }
    )


def generate_credit_codes(
    division_codes_6digit: NDArray[np.str_], rng: np.random.Generator
) -> NDArray[np.str_]:
    """Generate valid, unique enterprise credit codes, one per entry of the input.

    Each code is ``91`` (market regulation, enterprise), the 6-digit area, a random
    8-character organisation code body with its GB 11714 check character, and the
    GB 32100 check character.

    Parameters
    ----------
    division_codes_6digit
        The 6-digit area code of each enterprise's registering office.
    rng
        Source of randomness.

    Returns
    -------
    numpy.ndarray
        The codes, in the order of the inputs.

    Raises
    ------
    ValueError
        If an area code is not 6 ASCII digits.
    """
    area = digit_codes(division_codes_6digit, 6, "division_codes_6digit")
    n = len(area)

    def draw(rows: NDArray[np.intp]) -> NDArray[np.int64]:
        # Area and organisation body as one integer (< 10**6 * 31**8 < 2**63).
        return area[rows] * _ORGANIZATION_BODIES + rng.integers(0, _ORGANIZATION_BODIES, len(rows))

    keys = redraw_duplicates(draw(np.arange(n)), draw)
    positions = np.empty((n, 18), dtype=np.int64)  # positions in ALPHABET
    positions[:, 0:2] = (9, 1)
    rest = keys // _ORGANIZATION_BODIES
    for column in range(7, 1, -1):
        positions[:, column] = rest % 10
        rest //= 10
    body = keys % _ORGANIZATION_BODIES
    for column in range(15, 7, -1):
        positions[:, column] = body % 31
        body //= 31
    organization_total = _ORGANIZATION_VALUE[positions[:, 8:16]] @ np.array(ORGANIZATION_WEIGHTS)
    # 11 - total mod 11, where 10 is written X and 11 is written 0.
    positions[:, 16] = np.array([ALPHABET.index(c) for c in "0123456789X0"])[
        11 - organization_total % 11
    ]
    positions[:, 17] = -(positions[:, :17] @ _WEIGHTS) % 31
    return matrix_strings(_ALPHABET_BYTES[positions])
