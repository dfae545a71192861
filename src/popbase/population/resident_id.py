"""GB 11643 citizen ID numbers (公民身份号码): validation and synthetic generation.

An 18-character number is a 6-digit area code (GB/T 2260, the registering county at issue
time), an 8-digit birth date, a 3-digit sequence whose parity gives the sex (odd male) and
an ISO 7064 MOD 11-2 check character (``X`` stands for 10). First-generation 15-digit
numbers omit the century (always 19) and the check character.

Area codes are looked up in the bundled timeline of codes and the NBS table of counties
(:mod:`popbase.population.area_codes`). A code that has since been abolished (卢湾区 310103,
闸北区 310108 …) is still valid, since people keep their number for life: it is flagged
``historical_area`` and never rejected. A code neither table lists, in a province that
exists, is valid too and flagged ``unrecognised_area``: a county created or renamed after
the tables were made keeps issuing numbers, and the check digit already vouches for the
number. Only a code of no known province is rejected (``id_unknown_area``).

:func:`validate_id_number` checks one value; :func:`validate_id_numbers` checks a column
with numpy and Arrow string kernels (a million values in well under a second) and returns
exactly the same answers, which the tests assert.
"""

from __future__ import annotations

import datetime
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
    decimal,
    digit_codes,
    matrix_strings,
    object_column,
    weighted_digit_sum,
)
from popbase.population._unique_draw import redraw_duplicates
from popbase.population.area_codes import (
    area_code_flags,
    area_code_strings,
    known_area_codes,
    known_provinces,
    province_flags,
)

IdReason = Literal[
    "id_missing",
    "id_bad_length",
    "id_bad_chars",
    "id_bad_checksum",
    "id_bad_birth_date",
    "id_future_birth_date",
    "id_unknown_area",
]
#: Reason codes, in the order they are checked: a value gets the first that applies.
ID_REASONS: Final[tuple[IdReason, ...]] = (
    "id_missing",
    "id_bad_length",
    "id_bad_chars",
    "id_bad_checksum",
    "id_bad_birth_date",
    "id_future_birth_date",
    "id_unknown_area",
)
#: Earliest accepted birth year: anything earlier in a record is a typo, not a person.
MIN_BIRTH_YEAR: Final = 1800

# ISO 7064 MOD 11-2: weight of position i (0-based) is 2**(17 - i) mod 11.
_WEIGHTS: Final = np.array([pow(2, 17 - i, 11) for i in range(17)], dtype=np.int64)
_CHECK_CHARS: Final = "10X98765432"  # indexed by (weighted sum) mod 11
_CHECK_BYTES: Final = np.frombuffer(_CHECK_CHARS.encode("ascii"), dtype=np.uint8)
_ZERO: Final = ord("0")
_DAYS_IN_MONTH: Final = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


@dataclass(frozen=True, slots=True)
class IdCheck:
    """The verdict on one ID number.

    ``normalized`` is set whenever the cleaned value has the shape of an ID number (upgraded
    to 18 characters if it had 15), even if a later check fails; ``historical_area``,
    ``unrecognised_area``, ``sex``, ``birth_date`` and ``area_code`` are set only for valid
    numbers.
    """

    normalized: str | None
    valid: bool
    reason: IdReason | None
    upgraded_from_15: bool = False
    historical_area: bool = False
    sex: Literal["M", "F"] | None = None
    birth_date: datetime.date | None = None
    area_code: str | None = None
    unrecognised_area: bool = False


def _require_digits(value: str, length: int, what: str) -> None:
    if len(value) != length or not (value.isascii() and value.isdigit()):
        raise ValueError(f"{what} must be {length} ASCII digits, was {value!r}")


def check_digit(first17: str) -> str:
    """Compute the GB 11643 check character (ISO 7064 MOD 11-2) of 17 digits.

    Parameters
    ----------
    first17
        The first 17 digits of an 18-character ID number.

    Returns
    -------
    str
        One of ``0``-``9`` or ``X``.

    Examples
    --------
    >>> check_digit("44030819990110151")
    '2'
    """
    _require_digits(first17, 17, "first17")
    total = sum(int(c) * int(w) for c, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK_CHARS[total % 11]


def upgrade_15_to_18(id15: str) -> str:
    """Upgrade a first-generation 15-digit number: insert century ``19``, append the check.

    Examples
    --------
    >>> upgrade_15_to_18("610104620927690")
    '610104196209276908'
    """
    _require_digits(id15, 15, "id15")
    first17 = f"{id15[:6]}19{id15[6:]}"
    return first17 + check_digit(first17)


def to_legacy_15(id18: str) -> str:
    """Drop the century and check character of an 18-character number born in the 1900s.

    Examples
    --------
    >>> to_legacy_15("610104196209276908")
    '610104620927690'
    """
    _require_digits(id18[:17], 17, "the first 17 characters of id18")
    if len(id18) != 18 or id18[6:8] != "19":
        raise ValueError(
            f"only 18-character numbers born in 19xx have a 15-digit form, was {id18!r}"
        )
    return id18[:6] + id18[8:17]


def _as_of_date(as_of: datetime.date | None) -> datetime.date:
    if as_of is None:
        return datetime.date.today()
    if isinstance(as_of, datetime.datetime):
        return as_of.date()
    return as_of


def validate_id_number(value: str | None, as_of: datetime.date | None = None) -> IdCheck:
    """Validate one resident ID number.

    Parameters
    ----------
    value
        Raw text; full-width characters, spaces, dashes and a lower-case ``x`` are cleaned.
        15-digit numbers are upgraded to 18.
    as_of
        Birth dates after this day are rejected; today when omitted.

    Returns
    -------
    IdCheck
        The normalised number, the verdict and, if valid, what the number encodes.

    Examples
    --------
    >>> check = validate_id_number(" 31010319900307002x")
    >>> check.normalized, check.valid, check.historical_area, check.sex
    ('31010319900307002X', True, True, 'F')
    >>> validate_id_number("310103199003070027").reason
    'id_bad_checksum'
    """
    text = clean_text(value)
    if not text:
        return IdCheck(None, False, "id_missing")
    upgraded = len(text) == 15
    if len(text) not in (15, 18):
        return IdCheck(None, False, "id_bad_length")
    body, last = text[:17], text[17:]
    digits_ok = text.isdigit() if upgraded else body.isdigit() and last in "0123456789X"
    if not (text.isascii() and digits_ok):
        return IdCheck(None, False, "id_bad_chars")
    if upgraded:
        text = upgrade_15_to_18(text)
    elif last != check_digit(body):
        return IdCheck(text, False, "id_bad_checksum")
    try:
        born = datetime.date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        born = None
    if born is None or born.year < MIN_BIRTH_YEAR:
        return IdCheck(text, False, "id_bad_birth_date", upgraded)
    if born > _as_of_date(as_of):
        return IdCheck(text, False, "id_future_birth_date", upgraded)
    area = text[:6]
    unrecognised = area not in known_area_codes()
    if unrecognised and area[:2] not in known_provinces():
        return IdCheck(text, False, "id_unknown_area", upgraded)
    historical = bool(area_code_flags()[1][int(area)])
    sex: Literal["M", "F"] = "M" if int(text[16]) % 2 else "F"
    return IdCheck(text, True, None, upgraded, historical, sex, born, area, unrecognised)


def validate_id_numbers(values: pd.Series, as_of: datetime.date | None = None) -> pd.DataFrame:
    """Validate a column of resident ID numbers; the same verdicts as `validate_id_number`.

    Parameters
    ----------
    values
        A column of raw ID numbers, any dtype.
    as_of
        Birth dates after this day are rejected; today when omitted.

    Returns
    -------
    pandas.DataFrame
        Same index as ``values``; columns ``normalized``, ``valid``, ``reason``,
        ``upgraded_from_15``, ``historical_area``, ``unrecognised_area``, ``sex``,
        ``birth_date`` (``YYYY-MM-DD``) and ``area_code``. Text columns are ``object``
        dtype with ``None`` where unset.
    """
    text = clean_texts(values)
    n = len(text)
    length = text.str.len().to_numpy(dtype=np.int64)
    is_ascii = text.str.isascii().to_numpy(dtype=bool)
    # reason[i] is 1 + the position in ID_REASONS of the first failed check; 0 = valid.
    reason = np.zeros(n, dtype=np.int8)
    reason[length == 0] = 1
    reason[(length != 0) & (length != 15) & (length != 18)] = 2
    reason[((length == 15) | (length == 18)) & ~is_ascii] = 3

    rows18 = np.flatnonzero((reason == 0) & (length == 18))
    m18 = ascii_matrix(text, rows18, 18)
    is_digit18 = (m18 >= ord("0")) & (m18 <= ord("9"))
    ok18 = is_digit18[:, :17].all(axis=1) & (is_digit18[:, 17] | (m18[:, 17] == ord("X")))
    rows15 = np.flatnonzero((reason == 0) & (length == 15))
    m15 = ascii_matrix(text, rows15, 15)
    ok15 = ((m15 >= ord("0")) & (m15 <= ord("9"))).all(axis=1)
    reason[rows18[~ok18]] = 3
    reason[rows15[~ok15]] = 3

    # One matrix of 18-character candidates: the 18s as given, the 15s upgraded.
    upgraded15 = np.empty((int(ok15.sum()), 18), dtype=np.uint8)
    upgraded15[:, :6] = m15[ok15, :6]
    upgraded15[:, 6:8] = (ord("1"), ord("9"))
    upgraded15[:, 8:17] = m15[ok15, 6:]
    upgraded15[:, 17] = _CHECK_BYTES[weighted_digit_sum(upgraded15, _WEIGHTS) % 11]
    rows = np.concatenate([rows18[ok18], rows15[ok15]])
    matrix = np.concatenate([m18[ok18], upgraded15])
    upgraded = np.zeros(n, dtype=bool)
    upgraded[rows15[ok15]] = True

    checks_ok = matrix[:, 17] == _CHECK_BYTES[weighted_digit_sum(matrix, _WEIGHTS) % 11]
    year, month, day = (decimal(matrix, a, b) for a, b in ((6, 10), (10, 12), (12, 14)))
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    days_in_month = _DAYS_IN_MONTH[np.where(month <= 12, month, 0)] + (leap & (month == 2))
    date_ok = (year >= MIN_BIRTH_YEAR) & (day >= 1) & (day <= days_in_month)
    until = _as_of_date(as_of)
    not_future = (
        year * 10_000 + month * 100 + day <= until.year * 10_000 + until.month * 100 + until.day
    )
    area_int = decimal(matrix, 0, 6)
    known, abolished = area_code_flags()
    area_known = known[area_int] | province_flags()[area_int // 10_000]

    still_ok = np.ones(len(rows), dtype=bool)
    for code, passed in ((4, checks_ok), (5, date_ok), (6, not_future), (7, area_known)):
        reason[rows[still_ok & ~passed]] = code
        still_ok &= passed
    good = rows[still_ok]
    historical = np.zeros(n, dtype=bool)
    historical[good] = abolished[area_int[still_ok]]
    unrecognised = np.zeros(n, dtype=bool)
    unrecognised[good] = ~known[area_int[still_ok]]
    area_texts = area_code_strings()[area_int[still_ok]]
    if unrecognised.any():
        area_texts = area_texts.copy()
        odd = np.flatnonzero(~known[area_int[still_ok]])
        area_texts[odd] = [f"{code:06d}" for code in area_int[still_ok][odd].tolist()]
    # Few distinct values: build each string once and share it across rows.
    sexes = np.array(["F", "M"], dtype=object)[matrix[still_ok, 16] % 2]
    birth_days, where = np.unique(
        (year * 10_000 + month * 100 + day)[still_ok], return_inverse=True
    )
    birth_texts = np.array(
        [f"{d // 10_000:04d}-{d // 100 % 100:02d}-{d % 100:02d}" for d in birth_days.tolist()],
        dtype=object,
    )

    index = values.index
    reasons = np.array([None, *ID_REASONS], dtype=object)[reason]
    return pd.DataFrame(
        {
            "normalized": object_column(n, rows, matrix_strings(matrix), index),
            "valid": pd.Series(reason == 0, index=index),
            "reason": pd.Series(reasons, index=index, dtype=object),
            "upgraded_from_15": pd.Series(upgraded, index=index),
            "historical_area": pd.Series(historical, index=index),
            "unrecognised_area": pd.Series(unrecognised, index=index),
            "sex": object_column(n, good, sexes, index),
            "birth_date": object_column(n, good, birth_texts[where], index),
            "area_code": object_column(n, good, area_texts, index),
        }
    )


def generate_id_numbers(
    area_codes: NDArray[np.str_],
    birth_dates: NDArray[np.datetime64],
    sexes: NDArray[np.str_],
    rng: np.random.Generator,
) -> NDArray[np.str_]:
    """Generate valid, unique 18-character ID numbers for synthetic persons.

    Parameters
    ----------
    area_codes
        6-digit area codes known to the timeline, one per person.
    birth_dates
        Birth dates (``datetime64[D]``), years 1800-9999.
    sexes
        ``"M"`` or ``"F"``; the sequence number is odd for men and even for women.
    rng
        Source of randomness.

    Returns
    -------
    numpy.ndarray
        The numbers, in the order of the inputs.

    Raises
    ------
    ValueError
        If the inputs differ in length, hold unknown area codes, bad dates or sexes, or if
        more people share an area, birth date and sex than there are sequence numbers
        (500 men, 499 women).
    """
    areas = np.asarray(area_codes).astype(str)
    born = np.asarray(birth_dates).astype("datetime64[D]")
    sex = np.asarray(sexes).astype(str)
    n = len(areas)
    if not len(born) == len(sex) == n:
        raise ValueError(
            f"area_codes, birth_dates and sexes must have one entry per person, were "
            f"{n}, {len(born)} and {len(sex)} long"
        )
    area_int = digit_codes(areas, 6, "area_codes")
    unknown = ~area_code_flags()[0][area_int]
    if unknown.any():
        raise ValueError(
            f"area codes not in the timeline: {sorted(set(areas[unknown].tolist()))[:10]}"
        )
    year = born.astype("datetime64[Y]").astype(np.int64) + 1970
    if np.isnat(born).any() or (year < MIN_BIRTH_YEAR).any() or (year > 9999).any():
        raise ValueError(f"birth_dates must be dates in {MIN_BIRTH_YEAR}-9999, without NaT")
    if not np.isin(sex, ["M", "F"]).all():
        raise ValueError(
            f"sexes must be 'M' or 'F', found {sorted(set(sex.tolist()) - {'M', 'F'})}"
        )
    month = born.astype("datetime64[M]").astype(np.int64) % 12 + 1
    day = (born - born.astype("datetime64[M]")).astype(np.int64) + 1
    male = (sex == "M").astype(np.int64)
    # Area, date and sequence as one integer (< 10**17): unique keys are unique numbers.
    prefix = ((area_int * 10_000 + year) * 100 + month) * 100 + day
    _, group, sizes = np.unique(prefix * 2 + male, return_inverse=True, return_counts=True)
    if (sizes[group] > 500 - (1 - male)).any():
        raise ValueError(
            "more people share an area code, birth date and sex than a 3-digit sequence can "
            "number (500 men, 499 women); spread the birth dates or area codes"
        )

    def draw(rows: NDArray[np.intp]) -> NDArray[np.int64]:
        # Men 001-999 odd; women 002-998 even (000 is never issued).
        half = rng.integers(1 - male[rows], 500, dtype=np.int64)
        keys: NDArray[np.int64] = prefix[rows] * 1000 + 2 * half + male[rows]
        return keys

    digits = np.empty((n, 18), dtype=np.uint8)
    digits[:, :17] = ascii_digits(redraw_duplicates(draw(np.arange(n)), draw), 17)
    digits[:, 17] = _CHECK_BYTES[weighted_digit_sum(digits, _WEIGHTS) % 11]
    return matrix_strings(digits)
