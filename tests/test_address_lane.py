"""The column lane of the address engine reads and matches exactly as one by one does."""

from __future__ import annotations

import json
import re
import unicodedata
from typing import TYPE_CHECKING

import geopandas as gpd
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from popbase.address.fuzzy import RoadCorrector
from popbase.address.index import BuildingIndex, build_index
from popbase.address.lane import read_formal
from popbase.address.match import locate, locate_all, parse_for_matching, read_addresses
from popbase.address.normalize import NEEDS_NORMALIZING, normal_form, normalize
from popbase.address.parse import _FORMAL, HEAD_GROUPS, formal_pattern
from popbase.config import load_project
from popbase.io.tables import read_table
from test_address_parse import formal_addresses, parser

if TYPE_CHECKING:
    from sample_fixtures import SampleCity

pytest_plugins = ["sample_fixtures"]

# Characters an address is made of, and the ones normalisation works on.
_ALPHABET = (
    "上海市闵行区七莘路镇村组弄号楼室幢栋单元层號區樓一二三十百千〇零两"
    "0123456789０１２３abcAB#＃-－— _/()（）,，"
)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=_ALPHABET, max_size=24))
def test_a_text_the_pattern_passes_is_its_own_normal_form(text: str) -> None:
    if not re.search(NEEDS_NORMALIZING, text):
        assert normalize(text).norm == text
    folded = unicodedata.normalize("NFKC", text)
    if not re.search(NEEDS_NORMALIZING, folded):
        assert normalize(text).norm == folded


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=_ALPHABET, max_size=24))
def test_the_normal_form_is_the_normalised_text(text: str) -> None:
    assert normal_form(text) == normalize(text).norm


def test_the_pattern_catches_what_normalisation_changes() -> None:
    for text in ("七莘路三号", "12号三零一", "號", "12 301", "路-12号", "12--301", "１２号", "A座"):
        assert re.search(NEEDS_NORMALIZING, text), text
    for text in ("七莘路1885弄12号301室", "七莘路1885弄12-301", "三林路12号"):
        assert not re.search(NEEDS_NORMALIZING, text), text


@settings(max_examples=400, deadline=None)
@given(formal_addresses())
def test_re2_and_python_read_the_same_groups(text: str) -> None:
    ours = _FORMAL.fullmatch(text)
    found = pc.extract_regex(pa.array([text]), "^" + formal_pattern(shanghai=False) + "$")
    theirs = found[0].as_py()
    if ours is None:
        assert theirs is None
        return
    if ours["prov"] == "上海":  # RE2 has no lookahead: a lone 上海 reads another way
        return
    assert theirs is not None
    assert {k: v or None for k, v in theirs.items()} == ours.groupdict()


@settings(max_examples=300, deadline=None)
@given(st.lists(formal_addresses(), min_size=1, max_size=12, unique=True))
def test_the_lane_reads_as_the_parser(texts: list[str]) -> None:
    frame = read_formal(texts, parser()).to_pandas()
    for row in frame.itertuples():
        address = parser().parse(row.text)
        assert json.loads(str(row.components)) == address.components
        assert json.loads(str(row.codes)) == address.codes
        assert row.confidence == pytest.approx(address.confidence)


def _addresses(city: SampleCity) -> list[str]:
    """Every address string of the city's sources, distinct."""
    project = load_project(city.root)
    texts: list[str] = []
    for source in project.config.sources:
        columns = [c for field, c in source.columns.items() if field.endswith("address")]
        path = project.path(source.path)
        for file in sorted(path.glob(source.pattern)) if path.is_dir() else [path]:
            table = read_table(
                file,
                encoding=source.encoding,
                skip_rows=source.skip_rows,
                header_rows=source.header_rows,
            )
            for column in columns:
                texts += [v for v in table.frame[column].tolist() if isinstance(v, str) and v]
    return list(dict.fromkeys(texts))


def _index(city: SampleCity) -> BuildingIndex:
    divisions = gpd.read_file(city.root / "basemap" / "divisions.geojson")
    buildings = pd.DataFrame(
        gpd.read_file(city.root / "basemap" / "buildings.gpkg").drop(columns="geometry")
    )
    codes = city.truth("grids_of_buildings")[["building_id", "community_code"]]
    index = build_index(divisions[["code", "name"]], buildings.merge(codes, on="building_id"))
    index.region = city.options.district
    return index


def test_the_lane_matches_as_one_by_one(any_city: SampleCity) -> None:
    texts = _addresses(any_city)
    index = _index(any_city)
    read = read_addresses(texts, index)
    # The lane takes most addresses: they are written in the formal shapes.
    assert len(read.formal) > 0.8 * len(texts)
    located = locate_all(read, index)
    assert sorted(located["text"]) == sorted(texts)
    got = {r.text: (r.building_id, r.room_no, r.reason) for r in located.itertuples()}
    # Misspelt roads are corrected in the lane too.
    assert located["road_corrected"].astype(bool).any()

    reference = _index(any_city)
    parsed, outside = parse_for_matching(texts, reference)
    roads = RoadCorrector(reference.roads)
    expected = {t: locate(a, reference, roads) for t, a in parsed.items()}
    expected |= {t: (None, None, "outside_region") for t in outside}
    assert got == expected

    table = read.table().set_index("text")
    for text, address in parsed.items():
        row = table.loc[text]
        if row["outside_region"]:
            assert expected[text][2] == "outside_region"
            continue
        assert json.loads(str(row["components"])) == address.components, text
        assert json.loads(str(row["codes"])) == address.codes, text
    assert set(HEAD_GROUPS) <= set(_FORMAL.groupindex)
