from __future__ import annotations

from pathlib import Path

import pytest

from popbase import MissingColumnError
from popbase.io.headers import (
    carry_group_labels,
    flatten_header,
    header_merges,
    resolve_column,
    unique_names,
)

LEDGER = [
    ["序号", "基本信息", "", "", "联系方式", ""],
    ["", "姓名", "性别", "身份证号", "电话", "地址"],
]
FLAT = [
    "序号",
    "基本信息/姓名",
    "基本信息/性别",
    "基本信息/身份证号",
    "联系方式/电话",
    "联系方式/地址",
]


def test_flatten_carries_group_labels() -> None:
    assert flatten_header(LEDGER) == FLAT


def test_flatten_with_merges_filled_in() -> None:
    filled = [
        ["序号", "基本信息", "基本信息", "基本信息", "联系方式", "联系方式"],
        ["序号", "姓名", "性别", "身份证号", "电话", "地址"],
    ]
    assert flatten_header(filled, merged=True) == FLAT


def test_label_with_nothing_below_opens_no_group() -> None:
    rows = [["备注", "", "联系", ""], ["", "编号", "电话", "地址"]]
    # "备注" is a field merged downwards; "编号" does not belong to it.
    assert flatten_header(rows) == ["备注", "编号", "联系/电话", "联系/地址"]


def test_groups_stop_at_upper_group_boundaries() -> None:
    rows = [
        ["人员", "", "", "", "房屋", ""],
        ["本人", "", "配偶", "", "地址", ""],
        ["姓名", "电话", "姓名", "电话", "街道", "门牌"],
    ]
    assert carry_group_labels(rows)[1] == ["本人", "本人", "配偶", "配偶", "地址", "地址"]
    assert flatten_header(rows) == [
        "人员/本人/姓名",
        "人员/本人/电话",
        "人员/配偶/姓名",
        "人员/配偶/电话",
        "房屋/地址/街道",
        "房屋/地址/门牌",
    ]


def test_header_merges_are_what_flatten_reads() -> None:
    assert sorted(header_merges(LEDGER)) == [(0, 0, 1, 0), (0, 1, 0, 3), (0, 4, 0, 5)]
    three = [["A", "", "", ""], ["a1", "", "a2", ""], ["x", "y", "z", "w"]]
    assert sorted(header_merges(three)) == [(0, 0, 0, 3), (1, 0, 1, 1), (1, 2, 1, 3)]
    assert header_merges([["a", "", "b"]]) == []  # the last row is never merged


def test_unique_names() -> None:
    assert unique_names(["姓名", "姓名", "姓名_2", "姓名"]) == [
        "姓名",
        "姓名_3",
        "姓名_2",
        "姓名_4",
    ]


def test_resolve_exact_and_last_part() -> None:
    assert resolve_column(FLAT, "基本信息/姓名") == "基本信息/姓名"
    assert resolve_column(FLAT, "地址") == "联系方式/地址"
    assert resolve_column(FLAT, "序号") == "序号"


def test_resolve_ignores_line_breaks_in_headers() -> None:
    columns = ["公民身份\n号码", "基本信息/出生\n日期"]
    assert resolve_column(columns, "公民身份号码") == "公民身份\n号码"
    assert resolve_column(columns, "出生日期") == "基本信息/出生\n日期"


def test_resolve_ambiguous_last_part_raises_listing_matches() -> None:
    columns = ["申请人/姓名", "配偶/姓名", "电话"]
    with pytest.raises(MissingColumnError, match="matches 2 headers: 申请人/姓名, 配偶/姓名"):
        resolve_column(columns, "姓名", path=Path("t.csv"))
    assert resolve_column(columns, "配偶/姓名") == "配偶/姓名"


def test_resolve_missing_lists_available_names() -> None:
    with pytest.raises(
        MissingColumnError, match=r"t\.csv: column '身份证' .* only: 序号, "
    ) as info:
        resolve_column(FLAT, "身份证", path="t.csv")
    assert isinstance(info.value, KeyError)
    with pytest.raises(MissingColumnError, match=r"^column '身份证'"):
        resolve_column(FLAT, "身份证")
