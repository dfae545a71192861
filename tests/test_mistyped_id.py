"""What a checksum-failing ID number still tells: area code, birth date and sex."""

from __future__ import annotations

import datetime

import duckdb
import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from popbase.population.area_codes import area_timeline, known_area_codes
from popbase.population.mistyped_id import (
    CLAIMED_COLUMNS,
    MAX_CLAIMED_AGE,
    claimed_parts,
    claimed_parts_of,
)
from popbase.population.probabilistic import ID_BLOCKS
from popbase.population.resident_id import (
    check_digit,
    generate_id_numbers,
    validate_id_number,
    validate_id_numbers,
)

AS_OF = datetime.date(2024, 6, 30)
KNOWN_AREAS = sorted(area_timeline())
# The characters of each part of an 18-character number.
AREA, BIRTH, SEX_DIGIT = range(0, 6), range(6, 14), 16


@st.composite
def valid_ids(draw: st.DrawFn) -> str:
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    born = draw(st.dates(datetime.date(AS_OF.year - MAX_CLAIMED_AGE, 1, 1), AS_OF))
    return str(
        generate_id_numbers(
            np.array([draw(st.sampled_from(KNOWN_AREAS))]),
            np.array([born], dtype="datetime64[D]"),
            np.array([draw(st.sampled_from("MF"))]),
            rng,
        )[0]
    )


@st.composite
def one_digit_changed(draw: st.DrawFn) -> tuple[str, str, int]:
    """A valid number, the same with one of its first 17 digits changed, and the position."""
    number = draw(valid_ids())
    position = draw(st.integers(0, 16))
    digit = draw(st.sampled_from([d for d in "0123456789" if d != number[position]]))
    return number, number[:position] + digit + number[position + 1 :], position


@settings(deadline=None, max_examples=300)
@given(one_digit_changed())
def test_a_changed_digit_leaves_the_parts_it_did_not_touch(
    case: tuple[str, str, int],
) -> None:
    number, typed, position = case
    valid = validate_id_number(number, as_of=AS_OF)
    assert validate_id_number(typed, as_of=AS_OF).reason == "id_bad_checksum"
    parts = claimed_parts(typed, AS_OF)
    if position not in BIRTH:
        assert parts.birth_date == valid.birth_date
    if position != SEX_DIGIT:
        assert parts.sex == valid.sex
    if position not in AREA:
        assert parts.area_code == valid.area_code
    # Whatever the typo, what is kept is plausible on its own.
    if parts.birth_date is not None:
        assert AS_OF.year - MAX_CLAIMED_AGE <= parts.birth_date.year and parts.birth_date <= AS_OF
    assert parts.area_code is None or parts.area_code in known_area_codes()


@settings(deadline=None, max_examples=100)
@given(valid_ids(), st.integers(0, 15))
def test_swapped_neighbours_outside_a_part_leave_it(number: str, position: int) -> None:
    typed = number[:position] + number[position + 1] + number[position] + number[position + 2 :]
    valid = validate_id_number(number, as_of=AS_OF)
    parts = claimed_parts(typed, AS_OF)
    if position + 1 < BIRTH.start or position > BIRTH.stop - 1:
        assert parts.birth_date == valid.birth_date
    if position + 1 < SEX_DIGIT:
        assert parts.sex == valid.sex


def test_implausible_parts_are_left_out() -> None:
    body = "31010319900307002"
    assert claimed_parts(body + "7", AS_OF) == claimed_parts(body + "1", AS_OF)
    # No county has code 990103; 30 February is no day; 1890 is a year typed wrong.
    assert claimed_parts("99010319900307002" + "7", AS_OF).area_code is None
    assert claimed_parts("31010319900230002" + "7", AS_OF).birth_date is None
    assert claimed_parts("31010318900307002" + "7", AS_OF).birth_date is None
    assert claimed_parts("31010320250307002" + "7", AS_OF).birth_date is None
    # What has no ID shape tells nothing.
    assert claimed_parts(None).sex is None and claimed_parts("3101031990").sex is None


def test_only_checksum_failures_get_claimed_parts() -> None:
    good = "31010319900307002" + check_digit("31010319900307002")
    typed = "31010319900307102" + good[-1]
    values = pd.Series([good, typed, None, "31010319900307", typed.lower()], index=[5, 5, 7, 8, 9])
    check = validate_id_numbers(values, as_of=AS_OF)
    claimed = claimed_parts_of(check, AS_OF)
    assert list(claimed.columns) == list(CLAIMED_COLUMNS)
    assert claimed.index.tolist() == [5, 5, 7, 8, 9]
    rows = claimed.to_numpy().tolist()
    # The valid number's facts are the validator's, not claims.
    assert rows[0] == [None, None, None]
    assert rows[1] == rows[4] == ["310103", "1990-03-07", "F"]
    assert rows[2] == rows[3] == [None, None, None]
    # The claims of a column are those of its values one by one.
    one = claimed_parts(check["normalized"].iloc[1], AS_OF)
    assert one.birth_date is not None
    assert [one.area_code, one.birth_date.isoformat(), one.sex] == rows[1]


@settings(deadline=None, max_examples=50)
@given(valid_ids())
def test_every_typo_of_a_number_shares_an_id_block_with_it(number: str) -> None:
    # A row whose only tie to its person is a mistyped ID (no phone, birth date or room)
    # is compared with that person only if some block on the ID's parts pairs them.
    typos = [
        number[:i] + c + number[i + 1 :] for i in range(18) for c in "0123456789" if c != number[i]
    ] + [number[:i] + number[i + 1] + number[i] + number[i + 2 :] for i in range(17)]
    keys = [[k for k in block if "id_number" in k] for block in ID_BLOCKS]
    with duckdb.connect() as con:
        con.execute(
            "CREATE TABLE t AS SELECT unnest(?::VARCHAR[]) AS id_number", [[number, *typos]]
        )
        parts = con.execute(
            "SELECT " + ", ".join(f"[{', '.join(k)}]" for k in keys) + " FROM t"
        ).fetchall()
    own, rest = parts[0], parts[1:]
    assert all(any(a == b for a, b in zip(own, typo, strict=True)) for typo in rest)
