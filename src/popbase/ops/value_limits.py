"""How long a delivered value may be before its row is set aside (``value_too_long``).

A department export now and then carries a value no clerk typed: a whole document pasted
into a cell, a binary blob, a broken export that ran a column on for a megabyte. Such a
value is no identifier, name or address, and it costs the stages after ingest in
proportion to its length — the probabilistic resolution compares ID numbers, names and
phones by edit distance, quadratic in their length, so one megabyte in an ID column
stalls it for many minutes. A row holding one is quarantined at ingest, before anything
reads it, with the field, its length and the limit; every other row is read as usual.

The limits are characters, far above any real value of the field:

=================================== ====== ==============================================
field                               limit  why
=================================== ====== ==============================================
ID numbers, codes, phones, numbers  64     a resident ID has 18 characters (15 before
                                           1999), a passport or permit number 9-11, a
                                           credit code 18; a phone field holding two
                                           numbers with an extension stays under 40
names of persons                    100    Chinese names have 2-6 characters; a minority
                                           name transcribed with "·" or a foreign name in
                                           Latin letters stays under 70
names of employers and enterprises  200    the longest registered names (a branch of a
                                           branch, 有限公司…分公司…营业部) stay under 100
addresses                           500    the longest addresses with a note on the room
                                           stay under 200
free text (``text``,                4,000  a hotline ticket's description or a case note
``event_detail``)                          of several paragraphs
any other field or event column     2,000  a date, word or count is a few characters
=================================== ====== ==============================================

A project whose values really are longer raises a field's limit under ``ingest:
max_length:`` in ``popbase.yaml`` (``other`` sets the last row of the table).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from popbase.context import VALUE_TOO_LONG

# Fields whose values are identifiers, codes, phones or numbers.
_CODES: Final = (
    "record_no",
    "id_number",
    "spouse_id_number",
    "phone",
    "household_no",
    "employer_credit_code",
    "credit_code",
    "room_code",
    "room_no",
    "grid_code",
    "lon",
    "lat",
    "floor",
    "area",
    "hour",
    "residents",
    "workers",
    "visitors",
    "residence_months",
)
_ADDRESSES: Final = ("residence_address", "hukou_address", "address", "building_address")

VALUE_LIMITS: Final[Mapping[str, int]] = {
    **dict.fromkeys(_CODES, 64),
    "name": 100,
    "legal_person": 100,
    "employer_name": 200,
    **dict.fromkeys(_ADDRESSES, 500),
    "text": 4_000,
    "event_detail": 4_000,
}
# Every other field, and the columns a source's ``events:`` and ``tags:`` read.
OTHER = "other"
OTHER_LIMIT: Final = 2_000
REASON: Final = VALUE_TOO_LONG


def value_limit(field: str, overrides: Mapping[str, int] | None = None, kind: str = "") -> int:
    """The most characters a value of ``field`` may have.

    ``name`` of an enterprise source is an organisation's name (200), not a person's.

    >>> value_limit("id_number"), value_limit("name"), value_limit("name", kind="enterprise")
    (64, 100, 200)
    >>> value_limit("ethnicity"), value_limit("ethnicity", {"other": 50})
    (2000, 50)
    """
    overrides = overrides or {}
    if field in overrides:
        return overrides[field]
    if field == "name" and kind == "enterprise":
        return VALUE_LIMITS["employer_name"]
    return VALUE_LIMITS.get(field, overrides.get(OTHER, OTHER_LIMIT))


def _lengths(values: pd.Series) -> npt.NDArray[np.integer[Any]]:
    """Characters of each value (0 where missing).

    Counted by Arrow on the column as read (no copy into Python strings): about 15 ms
    per million values.
    """
    text = pa.array(values, type=pa.string(), from_pandas=True)
    return np.asarray(pc.fill_null(pc.utf8_length(text), 0).to_numpy(zero_copy_only=False))


def too_long_values(
    columns: Mapping[str, pd.Series], limits: Mapping[str, int], rows: int
) -> pd.Series:
    """Per row, why it is set aside (``""`` when every value fits its limit).

    Parameters
    ----------
    columns
        Each value column, named as the reason should name it (``"id_number (身份证号)"``),
        all aligned on the same ``rows`` rows.
    limits
        The limit of each of ``columns``.
    rows
        How many rows the columns have.

    Returns
    -------
    pandas.Series
        One text per row, on a 0-based index: empty, or every over-long value of the row
        with its length and limit.

    >>> phones = {"phone (电话)": pd.Series(["138", "1" * 70])}
    >>> list(too_long_values(phones, {"phone (电话)": 64}, 2))
    ['', 'phone (电话) has 70 characters, over the limit of 64']
    """
    detail = np.full(rows, "", dtype=object)
    for name, values in columns.items():
        lengths = _lengths(values)
        over = lengths > limits[name]
        if not over.any():
            continue
        for i in np.flatnonzero(over):
            part = f"{name} has {lengths[i]:,} characters, over the limit of {limits[name]:,}"
            detail[i] = f"{detail[i]}; {part}" if detail[i] else part
    return pd.Series(detail, dtype=object)
