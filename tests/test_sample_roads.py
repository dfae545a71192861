"""The sample's roads carry real road names, different in each district."""

from __future__ import annotations

import csv
from importlib import resources
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from popbase.sample.city import SampleOptions, generate_sample
from popbase.sample.roads import (
    DERIVED_INFIXES,
    committee_roads,
    draw_road_names,
    homophone_typos,
    road_kind,
)

pytest_plugins = ["sample_fixtures"]


def _bundled_names() -> set[str]:
    """The bundled list, read as a user of the package would read the file."""
    text = resources.files("popbase.data").joinpath("roads_shanghai.csv").read_text("utf-8-sig")
    return {r["name"] for r in csv.DictReader(text.splitlines())}


def _roads(root: Path) -> list[str]:
    return list(gpd.read_file(root / "basemap" / "roads.geojson")["name"])


@pytest.fixture(scope="module")
def two_districts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two tiny cities of different districts (黄浦, 闵行), same seed."""
    out = {}
    for code in ("310101", "310112"):
        root = tmp_path_factory.mktemp(f"roads_{code}")
        opts = SampleOptions(
            persons=400, seed=5, district=code, streets=2, communities_per_street=3
        )
        generate_sample(root, opts)
        out[code] = root
    return out


def test_every_road_has_a_real_name_of_varied_shapes(two_districts: dict[str, Path]) -> None:
    real = _bundled_names()
    every: list[str] = []
    for root in two_districts.values():
        roads = _roads(root)
        assert len(roads) == len(set(roads)), "a district named two roads alike"
        invented = [r for r in roads if r not in real]
        assert not invented, invented
        every += roads
    # Not one invented shape: several kinds of road word, several name lengths.
    assert len({road_kind(r) for r in every}) >= 3, sorted({road_kind(r) for r in every})
    assert len({len(r) for r in every}) >= 3


def test_districts_differ_in_their_roads(two_districts: dict[str, Path]) -> None:
    a, b = (set(_roads(root)) for root in two_districts.values())
    assert len(a & b) / len(a | b) < 0.5, sorted(a & b)


def test_buildings_are_addressed_on_the_named_roads(two_districts: dict[str, Path]) -> None:
    for root in two_districts.values():
        buildings = pd.read_parquet(root / "truth" / "buildings.parquet")
        on_roads = buildings.loc[buildings["road"] != "", "road"]
        assert set(on_roads) <= set(_roads(root))
        # A named lane (仪风弄) numbers its houses itself: never 仪风弄12弄3号.
        lanes = buildings[buildings["road"].str.endswith(("弄", "巷"))]
        assert (lanes["lane_no"] == 0).all(), lanes[["road", "lane_no"]].head()


def test_committees_named_after_a_road_have_that_road(two_districts: dict[str, Path]) -> None:
    root = two_districts["310101"]
    divisions = gpd.read_file(root / "basemap" / "divisions.geojson")
    committees = divisions[divisions["level"] == "community"]
    named_after = committee_roads(committees["name"])
    assert named_after, "黄浦's first committees are named after roads (云南中路居委会…)"
    assert set(named_after.values()) <= set(_roads(root))
    # Their compounds front that road: most such committees have buildings numbered on it.
    buildings = pd.read_parquet(root / "truth" / "buildings.parquet")
    on_it = [
        (buildings.loc[buildings["community_code"] == code, "road"] == named_after[name]).any()
        for code, name in zip(committees["code"], committees["name"], strict=True)
        if name in named_after
    ]
    assert sum(on_it) > len(on_it) / 2, on_it


def test_further_names_are_made_from_real_ones_when_the_list_runs_out() -> None:
    real = _bundled_names()
    names = draw_road_names(len(real) + 300, np.random.default_rng(1))
    assert len(set(names)) == len(names)
    assert set(names[: len(real)]) == real
    infixes = [i for tier in DERIVED_INFIXES for i in tier]
    for name in names[len(real) :]:
        made_from = [
            name[: -len(infix + kind)] + kind
            for infix in infixes
            for kind in ("路", "街")
            if name.endswith(infix + kind)
        ]
        assert any(m in real for m in made_from), f"{name} is not made from a real name"


def test_a_city_never_names_two_roads_alike() -> None:
    taken: set[str] = set()
    first = draw_road_names(200, np.random.default_rng(1), taken=taken)
    taken.update(first)
    second = draw_road_names(200, np.random.default_rng(2), taken=taken)
    assert not set(first) & set(second)
    with pytest.raises(ValueError, match="Fix:"):
        draw_road_names(10_000, np.random.default_rng(3))


def test_road_typos_keep_the_road_word_and_never_spell_another_road() -> None:
    roads = np.array(["肇嘉浜路", "三林老街", "仪风弄", "中山东一路"] * 50, dtype=object)
    hit = np.ones(len(roads), dtype=bool)
    known = {*roads.tolist(), "中山冬一路"}
    typos = homophone_typos(roads, hit, np.random.default_rng(0), known)
    changed = typos != roads
    assert changed.mean() > 0.5
    for before, after in zip(roads, typos, strict=True):
        assert road_kind(after) == road_kind(before)
        assert sum(x != y for x, y in zip(before, after, strict=True)) <= 1
        assert after == before or after not in known
