"""Numbers and months of residence as departments write them."""

from __future__ import annotations

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from popbase.values.numbers import MAX_MONTHS, read_months, read_numbers


@pytest.mark.parametrize(
    ("text", "months"),
    [
        ("24", 24), ("24.0", 24), ("18.5", 18), ("０", 0), ("24个月", 24), ("24月", 24),
        ("24 个月", 24), ("2年", 24), ("1年6个月", 18), ("1年零6个月", 18), ("十八个月", 18),
        ("两年", 24), ("一年三个月", 15), ("1200", 1200),
        ("1201", None), ("-3", None), ("半年多", None), ("长期", None), ("24天", None),
    ],
)  # fmt: skip
def test_months_of_residence(text: str, months: int | None) -> None:
    read = read_months(pa.array([text]))
    assert read.values[0].as_py() == (None if months is None else str(months))
    assert read.unreadable[0].as_py() is (months is None)


@given(st.integers(0, MAX_MONTHS), st.sampled_from(["{}", "{}个月", "{}.0", " {} "]))
def test_any_count_of_months_reads_back(months: int, form: str) -> None:
    assert read_months(pa.array([form.format(months)])).values[0].as_py() == str(months)


@given(st.floats(-180, 180, allow_nan=False))
def test_a_coordinate_keeps_every_digit_it_was_written_with(value: float) -> None:
    text = repr(value)
    assert read_numbers(pa.array([text])).values[0].as_py() == text


def test_numbers_that_are_not_numbers_are_flagged() -> None:
    read = read_numbers(pa.array(["121.4", "１２１．４", "东经121度", "121,4", "", None]))
    assert read.values.to_pylist() == ["121.4", "121.4", None, None, None, None]
    assert read.unreadable.to_pylist() == [False, False, True, True, False, False]
