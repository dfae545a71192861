"""What ``generate_sample`` refuses, before it writes anything."""

from __future__ import annotations

from pathlib import Path

import pytest

from popbase.errors import PopbaseError
from popbase.sample.city import SampleOptions, generate_sample
from popbase.sample.frame import UnknownDistrictError, district_names


def test_unknown_district_is_refused_with_the_valid_codes(tmp_path: Path) -> None:
    out = tmp_path / "city"
    with pytest.raises(UnknownDistrictError, match="'999999'") as caught:
        generate_sample(out, SampleOptions(persons=100, district="999999"))
    message = str(caught.value)
    names = district_names()
    assert len(names) == 16
    for code, name in names.items():
        assert f"{code} {name}" in message
    assert isinstance(caught.value, ValueError)
    assert isinstance(caught.value, PopbaseError)
    assert not out.exists(), "a refused sample left a folder behind"


def test_non_empty_output_folder_is_refused(tmp_path: Path) -> None:
    keep = tmp_path / "notes.txt"
    keep.write_text("mine", encoding="utf-8")
    with pytest.raises(FileExistsError, match="not empty"):
        generate_sample(tmp_path, SampleOptions(persons=100, streets=1, communities_per_street=1))
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]
    assert keep.read_text(encoding="utf-8") == "mine"
