"""Person names: full width, stray spaces and middle-dot look-alikes fixed, rare characters kept."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from popbase.config import load_project
from popbase.ops.quarantine import work_database
from popbase.ops.snapshot import current_snapshot
from popbase.population.person_name import (
    MIDDLE_DOT,
    is_valid_name,
    normalize_name,
    normalize_names,
)

CASES = [
    ("张三", "张三", ()),
    ("张 三", "张三", ("spaces",)),
    ("张\u3000三", "张三", ("width", "spaces")),
    (" 李四 ", "李四", ()),
    ("ＡＢＣ", "ABC", ("width",)),
    ("阿依古丽·买买提", "阿依古丽·买买提", ()),
    ("阿依古丽•买买提", "阿依古丽·买买提", ("middle_dot",)),
    ("阿依古丽・买买提", "阿依古丽·买买提", ("middle_dot",)),
    ("阿依古丽 . 买买提", "阿依古丽·买买提", ("middle_dot",)),
    ("阿依古丽．买买提", "阿依古丽·买买提", ("width", "middle_dot")),
    ("王𠮷", "王𠮷", ()),
    ("陳偉", "陳偉", ()),  # traditional characters stay as written
    ("John  Smith", "John Smith", ("spaces",)),
]


@pytest.mark.parametrize(("written", "expected", "fixes"), CASES)
def test_case(written: str, expected: str, fixes: tuple[str, ...]) -> None:
    assert normalize_name(written) == (expected, fixes)


_HAN = "张王李阿依古丽买𠮷彧喆陳偉"
_SEPARATORS = "·•‧・．. \u3000\t"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=_HAN + _SEPARATORS, max_size=12))
def test_normalising_is_idempotent_and_keeps_every_han_character(text: str) -> None:
    name, _ = normalize_name(text)
    assert normalize_name(name) == (name, ())
    assert not any(c.isspace() for c in name)  # no Latin letters here: no space survives
    assert [c for c in name if c != MIDDLE_DOT] == [c for c in text if c in _HAN]


def test_what_a_name_may_hold() -> None:
    assert is_valid_name("阿依古丽·买买提") and is_valid_name("王𠮷")
    assert not is_valid_name("张3") and not is_valid_name("张三!") and not is_valid_name("")


def test_a_column_is_normalised_once_per_value_and_missing_stays_missing() -> None:
    out = normalize_names(pd.Series(["张 三", None, "张 三", "李四"], dtype=object))
    assert out["name_norm"].tolist() == ["张三", None, "张三", "李四"]
    assert out["name_fixes"].tolist() == ["spaces", "", "spaces", ""]


def test_the_build_records_its_name_fixes(built_city: Path) -> None:
    snap = current_snapshot(load_project(built_city).output_dir)
    con = duckdb.connect(str(work_database(snap)), read_only=True)
    try:
        fixes = con.execute("SELECT original, name, fixes FROM name_fixes").df()
        golden = con.execute("SELECT name FROM persons_golden WHERE name IS NOT NULL").df()
    finally:
        con.close()
    # The sample types spaces into some names; each fix keeps the original beside it.
    assert (fixes["fixes"].str.contains("spaces")).any()
    assert (fixes["original"] != fixes["name"]).all()
    assert not golden["name"].str.contains(r"\s").any()
    report = snap.report()["validate"]
    assert report["names_fixed_spaces"] == int(fixes["fixes"].str.contains("spaces").sum())
