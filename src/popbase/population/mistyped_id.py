"""What a resident ID number that fails its check still tells: area, birth date, sex.

A ledger clerk who mistypes one digit of an 18-character ID number (GB 11643) leaves the
other seventeen right; the check character catches the error (ISO 7064 MOD 11-2 detects
every single substitution and every swap of neighbours) but cannot say which digit is
wrong. So the number is no identity — it is never a person's key nor shown as valid — but
its parts are still evidence about whom the row describes: the 6-digit area code, the
8-digit birth date and the sex the sequence digit's parity gives.

Each part is kept only where it is plausible on its own, since the wrong digit may lie in
it: an area code that the bundled code timeline or the NBS table lists (a valid number
may carry a code neither lists, since its check vouches for it; a mistyped one may not),
a real calendar date neither in the future nor more than :data:`MAX_CLAIMED_AGE` years
before the as-of day (1990 mistyped as 1890 is a typo, not a 136-year-old), and the sex.
A typo inside a part that stays plausible (19900307 typed 19900807) cannot be seen here:
resolution weighs these parts as evidence learnt from the data, never as facts.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
import pandas as pd

from popbase.population.area_codes import known_area_codes

#: Oldest age a birth date read from a mistyped number may give; the oldest documented
#: person lived 122 years, so an older date more likely has a mistyped year.
MAX_CLAIMED_AGE: Final = 120
#: The one reason whose numbers have the shape of an ID and only a wrong check character.
CHECKSUM_REASON: Final = "id_bad_checksum"
CLAIMED_COLUMNS: Final = ("claimed_area_code", "claimed_birth_date", "claimed_sex")


@dataclass(frozen=True, slots=True)
class ClaimedParts:
    """The plausible parts of an ID number whose check character does not match."""

    area_code: str | None = None
    birth_date: datetime.date | None = None
    sex: Literal["M", "F"] | None = None


def _as_of(as_of: datetime.date | None) -> datetime.date:
    if as_of is None:
        return datetime.date.today()
    return as_of.date() if isinstance(as_of, datetime.datetime) else as_of


def claimed_parts(normalized: str | None, as_of: datetime.date | None = None) -> ClaimedParts:
    """The plausible area code, birth date and sex of a checksum-failing 18-character number.

    Parameters
    ----------
    normalized
        The cleaned number as :func:`~popbase.population.resident_id.validate_id_number`
        gives it for reason ``id_bad_checksum`` (17 digits and a check character).
    as_of
        Birth dates after this day, or more than :data:`MAX_CLAIMED_AGE` years before it,
        are not plausible; today when omitted.

    Returns
    -------
    ClaimedParts
        Each part, or None where it is not plausible (or the value has no ID shape).

    Examples
    --------
    >>> parts = claimed_parts("310103199003070027", datetime.date(2024, 6, 30))
    >>> parts.area_code, parts.birth_date, parts.sex
    ('310103', datetime.date(1990, 3, 7), 'F')
    >>> claimed_parts("310103189003070027", datetime.date(2024, 6, 30)).birth_date is None
    True
    >>> claimed_parts("990103199003070027").area_code is None
    True
    """
    if not (
        isinstance(normalized, str)
        and len(normalized) == 18
        and normalized[:17].isascii()
        and normalized[:17].isdigit()
    ):
        return ClaimedParts()
    until = _as_of(as_of)
    area = normalized[:6] if normalized[:6] in known_area_codes() else None
    try:
        born: datetime.date | None = datetime.date(
            int(normalized[6:10]), int(normalized[10:12]), int(normalized[12:14])
        )
    except ValueError:
        born = None
    if born is not None and not (until.year - MAX_CLAIMED_AGE <= born.year and born <= until):
        born = None
    sex: Literal["M", "F"] = "M" if int(normalized[16]) % 2 else "F"
    return ClaimedParts(area, born, sex)


def claimed_parts_of(check: pd.DataFrame, as_of: datetime.date | None = None) -> pd.DataFrame:
    """The claimed parts of every checksum-failing number in a column's verdicts.

    Parameters
    ----------
    check
        The frame :func:`~popbase.population.resident_id.validate_id_numbers` returns.
    as_of
        As in :func:`claimed_parts`.

    Returns
    -------
    pandas.DataFrame
        Same index as ``check``; ``claimed_area_code``, ``claimed_birth_date``
        (``YYYY-MM-DD``) and ``claimed_sex``, ``object`` dtype, None except on rows whose
        reason is ``id_bad_checksum``.
    """
    n = len(check)
    columns = {c: np.full(n, None, dtype=object) for c in CLAIMED_COLUMNS}
    failing = np.flatnonzero((check["reason"] == CHECKSUM_REASON).to_numpy(dtype=bool))
    numbers = check["normalized"].to_numpy(dtype=object)
    # A per-value loop over these rows only: a city's typos are a few in a hundred rows.
    for row in failing.tolist():
        parts = claimed_parts(numbers[row], as_of)
        columns["claimed_area_code"][row] = parts.area_code
        columns["claimed_birth_date"][row] = (
            None if parts.birth_date is None else parts.birth_date.isoformat()
        )
        columns["claimed_sex"][row] = parts.sex
    return pd.DataFrame(columns, index=check.index, dtype=object)
