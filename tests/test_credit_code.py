"""GB 32100 unified social credit codes: real codes, checksum properties, generation."""

from __future__ import annotations

from dataclasses import astuple

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.cn import uscc

from popbase.population.credit_code import (
    ALPHABET,
    CODE_REASONS,
    WEIGHTS,
    check_char,
    generate_credit_codes,
    organization_check_char,
    validate_credit_code,
    validate_credit_codes,
)

# Codes found online, as listed in python-stdnum's tests/test_cn_uscc.doctest (LGPL-2.1+).
REAL_CODES = (
    "121200004013590816",
    "91110000600037341L",
    "91110000710926094P",
    "91152201078371135X",
    "9115220107837757XE",
    "9131012056010553X5",
    "91310115MA1K3BTP2B",
    "91340600MA2PBM9HXD",
    "91620105L015101280",
    "92340604MA2PENA300",
    "92340621MA2PBNFH07",
    "92340621MA2UK3PJXE",
)
SHANGHAI_DISTRICTS = ("310101", "310104", "310105", "310106", "310107", "310109", "310115")


def generate_one(area: str, seed: int) -> str:
    return str(generate_credit_codes(np.array([area]), np.random.default_rng(seed))[0])


generated_codes = st.builds(
    generate_one, st.sampled_from(SHANGHAI_DISTRICTS), st.integers(0, 2**32 - 1)
)
alphabet_codes = st.text(ALPHABET, min_size=17, max_size=17).map(lambda b: b + check_char(b))
code_like_values = st.one_of(
    st.none(),
    generated_codes,
    alphabet_codes,
    st.sampled_from(REAL_CODES),
    generated_codes.map(str.lower),
    generated_codes.map(lambda c: f" {c[:2]}-{c[2:8]} {c[8:]}\u3000"),
    st.text(ALPHABET + "IOZSVa -", min_size=16, max_size=20),
    st.text(max_size=20),
)


@pytest.mark.parametrize("code", REAL_CODES)
def test_real_codes_are_valid(code: str) -> None:
    assert validate_credit_code(code) == validate_credit_code(code.lower())
    assert validate_credit_code(code).valid
    assert uscc.is_valid(code)


@pytest.mark.parametrize("code", REAL_CODES)
def test_organization_check_char_matches_real_codes(code: str) -> None:
    # Real codes carry a GB 11714 organisation code; X (10) and 0 (11) cases included.
    assert organization_check_char(code[8:16]) == code[16]


def test_organization_check_char_of_the_standard_example() -> None:
    # GB 11714's own example: D2143569 -> 13*3 + 2*7 + 1*9 + 4*10 + 3*5 + 5*8 + 6*4 + 9*2
    # = 199; 11 - 199 mod 11 = 10 -> X.
    assert organization_check_char("D2143569") == "X"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, "code_missing"),
        ("  ", "code_missing"),
        ("12345", "code_bad_length"),
        ("9111000060003IOZSV", "code_bad_chars"),
        ("91110000600037341N", "code_bad_checksum"),
    ],
)
def test_reasons(value: str | None, reason: str) -> None:
    assert reason in CODE_REASONS
    assert validate_credit_code(value).reason == reason
    assert validate_credit_codes(pd.Series([value], dtype=object)).reason.iloc[0] == reason


def test_bad_arguments_raise() -> None:
    with pytest.raises(ValueError, match="17 characters of"):
        check_char("9111000060003734I")
    with pytest.raises(ValueError, match="8 digits or capital letters"):
        organization_check_char("d2143569")


@settings(deadline=None)
@given(st.text("0123456789", min_size=8, max_size=8), st.text(ALPHABET, min_size=10, max_size=10))
def test_check_char_agrees_with_python_stdnum(head: str, tail: str) -> None:
    # stdnum additionally requires the first 8 characters to be digits; we generate those.
    code = head + tail
    assert validate_credit_code(code).valid == uscc.is_valid(code)
    assert check_char(code[:17]) == uscc.calc_check_digit(code[:17])


def test_weighted_sum_modulo_31_detects_single_substitutions_and_transpositions() -> None:
    # 31 is prime and no weight is a multiple of it; alphabet positions differ by 1..30.
    assert all(w * d % 31 for w in WEIGHTS for d in range(1, 31))
    # Weights are 3**i mod 31, so w_i - w_{i+1} = -2 w_i is never 0 mod 31 either.
    assert all((WEIGHTS[i] - WEIGHTS[i + 1]) % 31 for i in range(16))


@settings(deadline=None)
@given(generated_codes | st.sampled_from(REAL_CODES))
def test_every_single_substitution_is_rejected(code: str) -> None:
    variants = [code[:i] + c + code[i + 1 :] for i in range(18) for c in ALPHABET if c != code[i]]
    frame = validate_credit_codes(pd.Series(variants))
    assert (frame.reason == "code_bad_checksum").all()


@settings(deadline=None)
@given(generated_codes | st.sampled_from(REAL_CODES))
def test_every_adjacent_transposition_is_rejected(code: str) -> None:
    swaps = [
        code[:i] + code[i + 1] + code[i] + code[i + 2 :]
        for i in range(17)
        if code[i] != code[i + 1]
    ]
    assert not validate_credit_codes(pd.Series(swaps, dtype=object)).valid.any()


@settings(deadline=None, max_examples=300)
@given(st.lists(code_like_values, max_size=30), st.sampled_from(["object", "str"]))
def test_scalar_and_vectorised_agree(values: list[str | None], dtype: str) -> None:
    frame = validate_credit_codes(pd.Series(values, dtype=dtype))
    assert list(frame.columns) == ["normalized", "valid", "reason"]
    for value, row in zip(values, frame.itertuples(index=False), strict=True):
        assert tuple(row) == astuple(validate_credit_code(value)), value


@settings(deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 300))
def test_generated_codes_are_valid_and_unique(seed: int, n: int) -> None:
    rng = np.random.default_rng(seed)
    areas = rng.choice(np.array(SHANGHAI_DISTRICTS), n)
    codes = generate_credit_codes(areas, rng).tolist()
    assert len(set(codes)) == n
    assert validate_credit_codes(pd.Series(codes)).valid.all()
    assert all(uscc.is_valid(code) for code in codes)
    assert all(
        code[:2] == "91" and code[2:8] == area for code, area in zip(codes, areas, strict=True)
    )
    assert all(organization_check_char(code[8:16]) == code[16] for code in codes)


def test_generated_codes_stay_unique_in_one_area() -> None:
    codes = generate_credit_codes(np.full(50_000, "310115"), np.random.default_rng(3))
    assert len(np.unique(codes)) == 50_000


def test_generation_rejects_bad_area_codes() -> None:
    with pytest.raises(ValueError, match="6 ASCII digits"):
        generate_credit_codes(np.array(["3101150"]), np.random.default_rng(0))


def test_letter_led_codes_are_valid_here_but_not_in_python_stdnum() -> None:
    # Registering authority N (agriculture): stdnum insists on 8 leading digits.
    first17 = "N2310115MA1K3BTP2"
    code = first17 + check_char(first17)
    assert validate_credit_code(code).valid
    assert not uscc.is_valid(code)
