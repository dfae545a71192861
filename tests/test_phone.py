"""Mainland mobile numbers: cleaning, validation and generation."""

from __future__ import annotations

from dataclasses import astuple

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from popbase.population.phone import (
    PHONE_REASONS,
    generate_phones,
    validate_phone,
    validate_phones,
)

mobiles = st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True)
phone_like_values = st.one_of(
    st.none(),
    mobiles,
    mobiles.map(lambda m: f"+86 {m[:3]}-{m[3:7]}-{m[7:]}"),
    mobiles.map(lambda m: "0086" + m),
    mobiles.map(lambda m: m.translate(str.maketrans("0123456789", "０１２３４５６７８９"))),
    mobiles.map(lambda m: "86" + m),
    st.text("0123456789+- \u3000", max_size=16),
    st.text(max_size=16),
)


@pytest.mark.parametrize(
    "value",
    [
        "13800138000",
        "+8613800138000",
        "+86 138 0013 8000",
        "0086-138-0013-8000",
        "１３８００１３８０００",
        " 138\u20130013\u20138000\u200b",
    ],
)
def test_accepted_forms(value: str) -> None:
    assert validate_phone(value) == validate_phone("13800138000")
    assert validate_phone(value).normalized == "13800138000"
    assert validate_phones(pd.Series([value])).normalized.iloc[0] == "13800138000"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, "phone_missing"),
        ("", "phone_missing"),
        (" - ", "phone_missing"),
        ("12800138000", "phone_bad_format"),  # second digit must be 3-9
        ("1380013800", "phone_bad_format"),
        ("138001380001", "phone_bad_format"),
        ("021-62345678", "phone_bad_format"),  # a Shanghai landline
        ("8613800138000", "phone_bad_format"),  # bare 86 is not a prefix we strip
        ("+86", "phone_bad_format"),
        ("1380013800O", "phone_bad_format"),
    ],
)
def test_reasons(value: str | None, reason: str) -> None:
    assert reason in PHONE_REASONS
    assert validate_phone(value).reason == reason
    assert validate_phones(pd.Series([value], dtype=object)).reason.iloc[0] == reason


@settings(deadline=None, max_examples=300)
@given(st.lists(phone_like_values, max_size=30), st.sampled_from(["object", "str"]))
def test_scalar_and_vectorised_agree(values: list[str | None], dtype: str) -> None:
    frame = validate_phones(pd.Series(values, dtype=dtype, index=range(5, 5 + len(values))))
    assert list(frame.columns) == ["normalized", "valid", "reason"]
    assert list(frame.index) == list(range(5, 5 + len(values)))
    for value, row in zip(values, frame.itertuples(index=False), strict=True):
        assert tuple(row) == astuple(validate_phone(value)), value


@settings(deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(0, 2000))
def test_generated_phones_are_valid_and_unique(seed: int, n: int) -> None:
    phones = generate_phones(n, np.random.default_rng(seed))
    assert len(phones) == len(set(phones.tolist())) == n
    assert validate_phones(pd.Series(phones, dtype=object)).valid.all()


def test_generation_rejects_a_negative_count() -> None:
    with pytest.raises(ValueError, match="n must be between 0 and"):
        generate_phones(-1, np.random.default_rng(0))
