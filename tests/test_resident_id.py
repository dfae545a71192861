"""GB 11643 resident ID numbers: published vectors, checksum properties, generation."""

from __future__ import annotations

import csv
import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.cn import ric

from popbase.population.area_codes import area_timeline, known_area_codes
from popbase.population.resident_id import (
    ID_REASONS,
    check_digit,
    generate_id_numbers,
    to_legacy_15,
    upgrade_15_to_18,
    validate_id_number,
    validate_id_numbers,
)

AS_OF = datetime.date(2024, 6, 30)
FIXTURES = Path(__file__).parent / "fixtures"
# GB 11643-1999 weights, as printed in the standard (2**(17-i) mod 11).
GB11643_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHARS = "0123456789X"
KNOWN_AREAS = sorted(area_timeline())
# Shanghai codes that python-stdnum's database marks as in use for all years, so that
# stdnum's birth-year-versus-area check accepts any birth date with them.
STDNUM_TIMELESS_AREAS = ("310101", "310104", "310105", "310106", "310107", "310109", "310110")


def with_check(first17: str) -> str:
    return first17 + check_digit(first17)


def generate_one(area: str, born: datetime.date, sex: str, seed: int) -> str:
    rng = np.random.default_rng(seed)
    dates = np.array([born], dtype="datetime64[D]")
    return str(generate_id_numbers(np.array([area]), dates, np.array([sex]), rng)[0])


@st.composite
def valid_ids(draw: st.DrawFn, areas: tuple[str, ...] | list[str] = KNOWN_AREAS) -> str:
    return generate_one(
        draw(st.sampled_from(areas)),
        draw(st.dates(datetime.date(1900, 1, 1), AS_OF)),
        draw(st.sampled_from("MF")),
        draw(st.integers(0, 2**32 - 1)),
    )


@st.composite
def mutated_ids(draw: st.DrawFn) -> str:
    number = draw(valid_ids())
    position = draw(st.integers(0, len(number) - 1))
    return number[:position] + draw(st.sampled_from(ID_CHARS)) + number[position + 1 :]


DIGITS = "0123456789"
id_like_values = st.one_of(
    st.none(),
    valid_ids(),
    mutated_ids(),
    valid_ids().filter(lambda x: x[6:8] == "19").map(to_legacy_15),
    valid_ids().map(lambda x: x.lower()),
    valid_ids().map(lambda x: " " + x.translate(str.maketrans(DIGITS, "０１２３４５６７８９"))),
    valid_ids().map(lambda x: f"{x[:6]}-{x[6:14]}\u3000{x[14:]}\u200b\t"),
    # Well-shaped with a right checksum: exercises the date and area checks.
    st.text(DIGITS, min_size=17, max_size=17).map(with_check),
    st.builds(
        lambda area, born, sequence: with_check(f"{area}{born:%Y%m%d}{sequence}"),
        st.text(DIGITS, min_size=6, max_size=6) | st.sampled_from(KNOWN_AREAS),
        st.dates(datetime.date(1700, 1, 1), datetime.date(2100, 12, 31)),
        st.text(DIGITS, min_size=3, max_size=3),
    ),
    st.text(DIGITS + "X", min_size=18, max_size=18),
    st.text(DIGITS, min_size=15, max_size=15),
    st.text("0123456789Xx ０１２ｘＸ-\u3000\u200b\t\n٣", max_size=22),
    st.text(max_size=24),
)


def verdicts_agree(values: list[str | None], dtype: str, as_of: datetime.date | None) -> None:
    frame = validate_id_numbers(pd.Series(values, dtype=dtype), as_of=as_of)
    assert list(frame.columns) == [
        "normalized",
        "valid",
        "reason",
        "upgraded_from_15",
        "historical_area",
        "unrecognised_area",
        "sex",
        "birth_date",
        "area_code",
    ]
    for value, row in zip(values, frame.itertuples(index=False), strict=True):
        one = validate_id_number(value, as_of=as_of)
        born = None if one.birth_date is None else one.birth_date.isoformat()
        assert tuple(row) == (
            one.normalized,
            one.valid,
            one.reason,
            one.upgraded_from_15,
            one.historical_area,
            one.unrecognised_area,
            one.sex,
            born,
            one.area_code,
        ), value


# --- published vectors --------------------------------------------------------------------


def published_vectors() -> list[dict[str, str]]:
    with (FIXTURES / "id_vectors.csv").open(encoding="utf-8") as f:
        return list(csv.DictReader(line for line in f if not line.startswith("#")))


@pytest.mark.parametrize("vector", published_vectors(), ids=lambda v: v["id_number"])
def test_published_vectors(vector: dict[str, str]) -> None:
    check = validate_id_number(vector["id_number"], as_of=AS_OF)
    assert check.valid is (vector["valid"] == "True")
    assert check.reason == (vector["reason"] or None)
    frame = validate_id_numbers(pd.Series([vector["id_number"]]), as_of=AS_OF)
    assert frame.reason.iloc[0] == check.reason


def test_valid_number_is_decoded() -> None:
    check = validate_id_number("440308199901101512", as_of=AS_OF)
    assert check.normalized == "440308199901101512"
    assert (check.sex, check.birth_date, check.area_code) == (
        "M",
        datetime.date(1999, 1, 10),
        "440308",
    )
    assert not check.historical_area
    assert not check.upgraded_from_15


# --- the check digit and the 15-digit form ------------------------------------------------


def test_check_digit_matches_the_standard_weights() -> None:
    body = "11010519491231002"
    total = sum(int(c) * w for c, w in zip(body, GB11643_WEIGHTS, strict=True))
    expected = "10X98765432"[total % 11]
    assert check_digit(body) == expected == "X"  # the example printed in GB 11643-1999


def test_upgrade_15_to_18_by_hand() -> None:
    # 610104 62 0927 690 -> 610104 1962 0927 690 + check.
    # digits  6 1 0 1 0 4 1 9 6 2 0 9 2 7 6 9 0
    # weights 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2
    # 42+9+0+5+0+16+2+9+36+6+0+81+20+35+48+36+0 = 345; 345 mod 11 = 4 -> "10X98765432"[4] = 8
    assert upgrade_15_to_18("610104620927690") == "610104196209276908"
    check = validate_id_number("610104620927690", as_of=AS_OF)
    assert check.valid and check.upgraded_from_15
    assert check.normalized == "610104196209276908"
    assert check.birth_date == datetime.date(1962, 9, 27)
    assert check.sex == "F"  # sequence 690: even


@given(valid_ids().filter(lambda x: x[6:8] == "19"))
def test_legacy_15_round_trips(number: str) -> None:
    legacy = to_legacy_15(number)
    assert len(legacy) == 15
    assert upgrade_15_to_18(legacy) == number


def test_bad_arguments_raise() -> None:
    with pytest.raises(ValueError, match="first17 must be 17 ASCII digits"):
        check_digit("1234")
    with pytest.raises(ValueError, match="id15 must be 15 ASCII digits"):
        upgrade_15_to_18("61010462092769X")
    with pytest.raises(ValueError, match="born in 19xx"):
        to_legacy_15(with_check("31010120050101001"))


# --- area codes, dates --------------------------------------------------------------------


@pytest.mark.parametrize(("area", "name"), [("310103", "卢湾区"), ("310108", "闸北区")])
def test_abolished_area_is_valid_and_flagged(area: str, name: str) -> None:
    number = with_check(f"{area}19800101002")
    check = validate_id_number(number, as_of=AS_OF)
    assert check.valid
    assert check.historical_area
    assert check.area_code == area
    frame = validate_id_numbers(pd.Series([number]), as_of=AS_OF)
    assert bool(frame.historical_area.iloc[0])
    assert area_timeline()[area][-1].name == name


def test_an_area_of_no_known_province_is_rejected() -> None:
    number = with_check("99019919800101002")
    check = validate_id_number(number, as_of=AS_OF)
    assert (check.valid, check.reason, check.normalized) == (False, "id_unknown_area", number)


def test_an_unlisted_area_of_a_known_province_is_accepted_and_flagged() -> None:
    # A county created or renamed after the bundled tables keeps issuing numbers.
    number = with_check("31019919800101002")
    assert "310199" not in known_area_codes()
    check = validate_id_number(number, as_of=AS_OF)
    assert (check.valid, check.unrecognised_area, check.area_code) == (True, True, "310199")
    frame = validate_id_numbers(pd.Series([number]), as_of=AS_OF)
    assert frame[["valid", "unrecognised_area", "area_code"]].iloc[0].tolist() == [
        True,
        True,
        "310199",
    ]


@pytest.mark.parametrize("area", ["520581", "350604"])
def test_counties_of_2021_are_known_from_the_nbs_table(area: str) -> None:
    # 黔西市 and 龙海区 (2021) are missing from the timeline, listed by the NBS in 2023.
    assert area not in area_timeline()
    check = validate_id_number(with_check(f"{area}19800101002"), as_of=AS_OF)
    assert (check.valid, check.unrecognised_area, check.historical_area) == (True, False, False)


def test_impossible_birth_date_is_rejected() -> None:
    check = validate_id_number(with_check("31010119990231002"), as_of=AS_OF)
    assert check.reason == "id_bad_birth_date"
    assert validate_id_number(with_check("31010117990101002"), as_of=AS_OF).reason == (
        "id_bad_birth_date"
    )
    assert validate_id_number(with_check("31010120000229002"), as_of=AS_OF).valid  # leap year
    assert validate_id_number(with_check("31010119000229002"), as_of=AS_OF).reason == (
        "id_bad_birth_date"
    )


def test_future_birth_date_is_rejected() -> None:
    tomorrow = with_check("31010120240701002")
    assert validate_id_number(tomorrow, as_of=AS_OF).reason == "id_future_birth_date"
    assert validate_id_number(tomorrow, as_of=datetime.date(2024, 7, 1)).valid
    evening = datetime.datetime(2024, 6, 30, 23, 0)  # a datetime counts as its date
    assert validate_id_number(tomorrow, as_of=evening).reason == "id_future_birth_date"
    assert validate_id_numbers(pd.Series([tomorrow]), as_of=evening).valid.tolist() == [False]
    far = with_check("31010129990101002")  # against today's date when as_of is omitted
    assert validate_id_number(far).reason == "id_future_birth_date"
    assert validate_id_numbers(pd.Series([far])).reason.iloc[0] == "id_future_birth_date"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, "id_missing"),
        (float("nan"), "id_missing"),
        (" \u3000", "id_missing"),
        ("4403081999011015", "id_bad_length"),
        ("44030819990110151X2", "id_bad_length"),
        ("4403081999011015X2", "id_bad_chars"),
        ("44030819990110151٣", "id_bad_chars"),
        ("44030819990110151A", "id_bad_chars"),
    ],
)
def test_reasons(value: str | None, reason: str) -> None:
    assert reason in ID_REASONS
    assert validate_id_number(value, as_of=AS_OF).reason == reason
    assert (
        validate_id_numbers(pd.Series([value], dtype=object), as_of=AS_OF).reason.iloc[0] == reason
    )


def test_cleaning() -> None:
    dirty = " ３１０１０３ 1990-0307-002x\u200b"
    check = validate_id_number(dirty, as_of=AS_OF)
    assert check.valid
    assert check.normalized == "31010319900307002X"


# --- checksum properties ------------------------------------------------------------------


def test_mod_11_2_detects_every_single_substitution_and_adjacent_transposition() -> None:
    # Changing digit a to b at position i shifts the sum by w_i * (b - a); 11 is prime and
    # neither factor is a multiple of 11, so the check character always changes.
    assert all(w * d % 11 for w in GB11643_WEIGHTS for d in range(1, 10))
    # Swapping a, b at i, i+1 shifts it by (a - b)(w_i - w_{i+1}); w_i = 2 w_{i+1} mod 11.
    pairs = [(i, a, b) for i in range(16) for a in range(10) for b in range(10) if a != b]
    detected = [
        (a - b) * (GB11643_WEIGHTS[i] - GB11643_WEIGHTS[i + 1]) % 11 != 0 for i, a, b in pairs
    ]
    assert sum(detected) / len(detected) == 1.0


@settings(deadline=None)
@given(valid_ids())
def test_every_single_substitution_is_rejected(number: str) -> None:
    variants = [
        number[:i] + c + number[i + 1 :] for i in range(18) for c in ID_CHARS if c != number[i]
    ]
    frame = validate_id_numbers(pd.Series(variants), as_of=AS_OF)
    assert not frame.valid.any()
    digit_changes = [v for v in variants if "X" not in v[:17]]
    assert all(
        validate_id_number(v, as_of=AS_OF).reason == "id_bad_checksum" for v in digit_changes
    )


@settings(deadline=None)
@given(valid_ids())
def test_every_adjacent_transposition_in_the_body_is_rejected(number: str) -> None:
    swaps = [
        number[:i] + number[i + 1] + number[i] + number[i + 2 :]
        for i in range(16)
        if number[i] != number[i + 1]
    ]
    frame = validate_id_numbers(pd.Series(swaps, dtype=object), as_of=AS_OF)
    assert (frame.reason == "id_bad_checksum").all()


# --- scalar and vectorised agree ----------------------------------------------------------


@settings(deadline=None, max_examples=300)
@given(st.lists(id_like_values, max_size=30), st.sampled_from(["object", "str"]))
def test_scalar_and_vectorised_agree(values: list[str | None], dtype: str) -> None:
    verdicts_agree(values, dtype, AS_OF)


def test_scalar_and_vectorised_agree_on_fixed_cases() -> None:
    values = [v["id_number"] for v in published_vectors()]
    verdicts_agree([*values, None, "", "x", "31010319900307002x"], "object", AS_OF)
    verdicts_agree(values, "str", None)


def test_vectorised_keeps_index_and_reads_any_column() -> None:
    number = "440308199901101512"
    frame = validate_id_numbers(pd.Series([number, None], index=["a", "b"]))
    assert list(frame.index) == ["a", "b"]
    assert frame.valid.tolist() == [True, False]
    assert frame.birth_date.iloc[1] is None  # object columns hold None, like the scalar
    ints = validate_id_numbers(pd.Series([int(number)]))
    assert ints.normalized.iloc[0] == number
    empty = validate_id_numbers(pd.Series([], dtype=object))
    assert empty.empty and len(empty.columns) == 9
    # A column built by concatenation is stored in several Arrow chunks.
    chunked = pd.concat([pd.Series([number] * 3), pd.Series(["31010319900307002x"])])
    assert validate_id_numbers(chunked).valid.all()


# --- generation ---------------------------------------------------------------------------


@settings(deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 400))
def test_generated_ids_are_valid_unique_and_encode_their_inputs(seed: int, n: int) -> None:
    rng = np.random.default_rng(seed)
    areas = rng.choice(np.array(KNOWN_AREAS), n)
    born = np.datetime64("1900-01-01") + rng.integers(0, 45_000, n).astype("timedelta64[D]")
    sexes = rng.choice(np.array(["M", "F"]), n)
    ids = generate_id_numbers(areas, born, sexes, rng)
    frame = validate_id_numbers(pd.Series(ids), as_of=AS_OF)
    assert frame.valid.all()
    assert len(set(ids.tolist())) == n
    assert frame.sex.tolist() == sexes.tolist()
    assert frame.area_code.tolist() == areas.tolist()
    assert frame.birth_date.tolist() == np.datetime_as_string(born, unit="D").tolist()
    assert all(ric.calc_check_digit(number) == number[-1] for number in ids.tolist())


@settings(deadline=None)
@given(st.lists(valid_ids(STDNUM_TIMELESS_AREAS), min_size=1, max_size=50))
def test_generated_ids_are_valid_under_python_stdnum(numbers: list[str]) -> None:
    assert all(ric.is_valid(number) for number in numbers)


def test_generation_fills_a_crowded_birthday() -> None:
    # Every odd sequence for 500 men and every even one but 000 for 499 women.
    rng = np.random.default_rng(7)
    n = 999
    sexes = np.array(["M"] * 500 + ["F"] * 499)
    ids = generate_id_numbers(
        np.full(n, "310101"), np.full(n, np.datetime64("1990-01-01")), sexes, rng
    )
    assert len(set(ids.tolist())) == n
    assert validate_id_numbers(pd.Series(ids), as_of=AS_OF).valid.all()
    with pytest.raises(ValueError, match="3-digit sequence"):
        generate_id_numbers(
            np.full(501, "310101"),
            np.full(501, np.datetime64("1990-01-01")),
            np.full(501, "M"),
            rng,
        )


def test_generation_rejects_bad_inputs() -> None:
    rng = np.random.default_rng(0)
    one_day = np.array(["1990-01-01"], dtype="datetime64[D]")
    with pytest.raises(ValueError, match="not in the timeline"):
        generate_id_numbers(np.array(["310199"]), one_day, np.array(["M"]), rng)
    with pytest.raises(ValueError, match="6 ASCII digits"):
        generate_id_numbers(np.array(["31010"]), one_day, np.array(["M"]), rng)
    with pytest.raises(ValueError, match="one entry per person"):
        generate_id_numbers(np.array(["310101", "310104"]), one_day, np.array(["M"]), rng)
    with pytest.raises(ValueError, match="'M' or 'F'"):
        generate_id_numbers(np.array(["310101"]), one_day, np.array(["U"]), rng)
    with pytest.raises(ValueError, match="without NaT"):
        generate_id_numbers(
            np.array(["310101"]), np.array(["NaT"], dtype="datetime64[D]"), np.array(["M"]), rng
        )
