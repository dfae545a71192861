"""The division tree: levels and parents from codes, historical names, name resolution."""

from __future__ import annotations

import time

import pandas as pd
import pytest

from popbase.space.divisions import (
    division_tree,
    historical_aliases,
    name_index,
    parent_code,
    resolve_division_name,
)

SHANGHAI = pd.DataFrame(
    {
        "code": [
            "310101",
            "310106",
            "310112",
            "310113",
            "310114",
            "310115",
            "310116",
            "310117",
            "310118",
            "310120",
            "310151",
            "310112001",
            "310112001001",
        ],
        "name": [
            "黄浦区",
            "静安区",
            "闵行区",
            "宝山区",
            "嘉定区",
            "浦东新区",
            "金山区",
            "松江区",
            "青浦区",
            "奉贤区",
            "崇明区",
            "江川路街道",
            "北街居委会",
        ],
    }
)


@pytest.mark.parametrize(
    ("code", "parent"),
    [
        ("310115005001", "310115005"),
        ("310115005", "310115"),
        ("310115", "3101"),
        ("3101", "31"),
        ("31", None),
        ("310115005001007", "310115005001"),
    ],
)
def test_parent_by_code_prefix(code: str, parent: str | None) -> None:
    assert parent_code(code) == parent


def test_levels_and_parents_from_codes() -> None:
    tree = division_tree(SHANGHAI).set_index("code")
    assert tree.loc["310112", "level"] == "district"
    assert tree.loc["310112001", "level"] == "street"
    assert tree.loc["310112001001", "level"] == "community"
    assert tree.loc["310112001001", "parent_code"] == "310112001"
    assert tree.loc["310112", "parent_code"] == "3101"


def test_given_levels_and_parents_win_and_chinese_level_words_are_understood() -> None:
    frame = pd.DataFrame(
        {
            "code": ["310112", "310112001"],
            "name": ["闵行区", "江川路街道"],
            "level": ["区", "街道"],
            "parent": [None, "310112"],
        }
    )
    tree = division_tree(frame)
    assert tree["level"].tolist() == ["district", "street"]
    assert tree["parent_code"].tolist() == ["3101", "310112"]


EXPECTED = {
    # alias: (today's code, year the name ceased)
    "卢湾区": ("310101", 2011),
    "闸北区": ("310106", 2015),
    "南汇区": ("310115", 2009),
    "南市区": ("310101", 2000),
    "吴淞区": ("310113", 1988),
    "上海县": ("310112", 1992),
    "嘉定县": ("310114", 1992),
    "宝山县": ("310113", 1988),
    "川沙县": ("310115", 1993),
    "松江县": ("310117", 1998),
    "金山县": ("310116", 1997),
    "青浦县": ("310118", 1999),
    "奉贤县": ("310120", 2001),
    "南汇县": ("310115", 2001),
    "崇明县": ("310151", 2016),
}


def test_shanghai_aliases_cover_every_merge_and_county_rename() -> None:
    aliases = historical_aliases()
    assert list(aliases.columns) == ["alias", "code", "valid_until", "note"]
    shanghai = aliases[aliases["code"].str.startswith("31")].set_index("alias")
    assert set(shanghai.index) == set(EXPECTED)
    for alias, (code, year) in EXPECTED.items():
        assert shanghai.loc[alias, "code"] == code, alias
        assert shanghai.loc[alias, "valid_until"] == year, alias
        assert shanghai.loc[alias, "note"], alias


def test_derived_aliases_elsewhere_point_to_todays_districts() -> None:
    aliases = historical_aliases().set_index("alias")
    assert aliases.loc["崇文区", "code"] == "110101"  # curated: merged into 东城区
    assert aliases.loc["密云县", "code"] == "110118"  # derived: 密云区 since 2015
    assert "黄山市" not in aliases.index  # a city today: not an alias of 黄山区
    assert aliases.index.is_unique


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("卢湾区", "310101"),
        ("闸北区", "310106"),
        ("南汇区", "310115"),
        ("南汇县", "310115"),
        ("川沙县", "310115"),
        ("上海县", "310112"),
        ("崇明县", "310151"),
        ("黄浦区", "310101"),
        ("浦东", "310115"),
        ("卢湾", "310101"),
        (" 江川路街道 ", "310112001"),
        ("江川路", "310112001"),
        ("北街居委会", "310112001001"),
        ("火星区", None),
    ],
)
def test_names_resolve(name: str, code: str | None) -> None:
    assert resolve_division_name(name, SHANGHAI, historical_aliases()) == code


def test_repeated_names_are_ambiguous_unless_narrowed() -> None:
    divisions = pd.DataFrame(
        {"code": ["310112001001", "310112006001"], "name": ["新村居委会", "新村居委会"]}
    )
    assert resolve_division_name("新村居委会", divisions, None) is None
    assert (
        resolve_division_name("新村居委会", divisions, None, within="310112006") == "310112006001"
    )


def test_resolution_is_fast_with_tables_or_an_index() -> None:
    aliases = historical_aliases()
    index = name_index(SHANGHAI, aliases)
    names = ["卢湾区", "浦东", "闵行区", "嘉定县", "江川路街道"] * 2000
    start = time.perf_counter()
    by_table = [resolve_division_name(n, SHANGHAI, aliases) for n in names]
    by_index = [resolve_division_name(n, index) for n in names]
    elapsed = time.perf_counter() - start
    assert by_table == by_index
    assert elapsed < 0.5, f"{len(names) * 2} look-ups took {elapsed:.2f} s"
