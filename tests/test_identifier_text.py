"""Cleaning identifier text: one value and a whole column give the same result."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from popbase.population._identifier_text import (
    SEPARATORS,
    ascii_digits,
    ascii_matrix,
    clean_text,
    clean_texts,
    matrix_strings,
)

messy_text = st.text(st.sampled_from(SEPARATORS) | st.characters(), max_size=20)


def test_clean_text() -> None:
    assert clean_text(" ３１０１-0３\u3000x\u200b") == "310103X"
    assert clean_text(None) == clean_text(float("nan")) == clean_text(pd.NA) == ""
    assert clean_text(123) == "123"
    assert clean_text("straße") == "straße"  # non-ASCII text keeps its case
    assert clean_text("\udcff1") == "\ufffd1"  # a lone surrogate cannot reach Arrow


@settings(deadline=None)
@given(st.lists(st.none() | messy_text, max_size=20), st.sampled_from(["object", "str"]))
def test_column_cleaning_matches_scalar(values: list[str | None], dtype: str) -> None:
    # Lone surrogates fit in an object column only (Arrow strings must be valid UTF-8).
    assume(dtype == "object" or not any(v and re.search("[\ud800-\udfff]", v) for v in values))
    column = clean_texts(pd.Series(values, dtype=dtype))
    assert column.tolist() == [clean_text(v) for v in values]


def test_matrix_round_trip() -> None:
    texts = pd.Series(["abc", "toolong", "xyz"])
    matrix = ascii_matrix(texts, np.array([0, 2]), 3)
    assert matrix.shape == (2, 3)
    assert matrix_strings(matrix).tolist() == ["abc", "xyz"]
    assert ascii_matrix(texts, np.array([], dtype=np.intp), 3).shape == (0, 3)
    assert matrix_strings(ascii_digits(np.array([7, 123]), 4)).tolist() == ["0007", "0123"]
