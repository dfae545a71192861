"""The address parser: fixture cases, and the fast path against the general one."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from popbase.address.gazetteer import Gazetteer, Place, admin_places, bundled_places
from popbase.address.parse import AddressParser

CASES = Path(__file__).parent / "fixtures" / "addresses" / "cases.tsv"


def read_cases() -> list[tuple[str, dict[str, str]]]:
    cases = []
    for line in CASES.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            text, expected = line.split("\t")
            cases.append((text, json.loads(expected)))
    return cases


@cache
def parser() -> AddressParser:
    return AddressParser(Gazetteer(bundled_places()))


@pytest.mark.parametrize(("text", "expected"), read_cases(), ids=lambda v: str(v)[:24])
def test_case(text: str, expected: dict[str, str]) -> None:
    address = parser().parse(text)
    assert address.components == expected
    assert address == parser().parse_general(text)
    for tag, (start, end) in address.spans.items():
        assert 0 <= start < end <= len(text), tag


def test_the_fixture_covers_the_tricky_forms() -> None:
    texts = "\n".join(text for text, _ in read_cases())
    forms = (
        "１ 〇 零 十 百 千 # - 号楼 幢 栋 单元 层 上海上海市 區 ， 村 组 支弄 卢湾区 闸北区 南汇区"
    )
    for form in [*forms.split(), " "]:
        assert form in texts, form
    assert len(read_cases()) >= 60


def test_spans_point_into_the_original_text() -> None:
    text = "上海市 闵行区 七莘路一千八百八十五弄１２#三零一室"
    a = parser().parse(text)
    assert text[slice(*a.spans["road"])] == "七莘路"
    assert text[slice(*a.spans["roadno"])] == "一千八百八十五弄"
    assert text[slice(*a.spans["houseno"])] == "１２#"
    assert a.components["houseno"] == "12号"
    assert text[slice(*a.spans["roomno"])] == "三零一室"


def test_codes_of_old_districts_are_todays() -> None:
    assert parser().parse("上海市卢湾区瑞金二路129弄5号").codes["district"] == "310101"
    assert parser().parse("上海市闸北区共和新路1820号").codes["district"] == "310106"
    assert parser().parse("上海市南汇区惠南镇人民东路2000号").codes["district"] == "310115"


def test_a_known_road_gives_its_district() -> None:
    places = [*admin_places(), ("金科路", Place("road", "金科路", "", ("310115001",)))]
    a = AddressParser(Gazetteer(places)).parse("金科路1000弄3号")
    assert a.codes == {"district": "310115", "town": "310115001"}
    assert a.confidence == 1.0
    assert AddressParser(Gazetteer(admin_places())).parse("金科路1000弄3号").confidence < 1.0


def test_the_first_of_two_roads_is_kept_beside() -> None:
    a = parser().parse("上海市杨浦区国权路国权东路99弄24号702室")
    assert a.components["road"] == "国权东路"
    assert a.components["roadno"] == "99弄"
    assert a.others == [("road", 6, 9)]
    # Spans of the others point into the original text too.
    b = parser().parse("上海市 金汇路 金汇路515弄16号")
    assert [b.text[x:y] for _, x, y in b.others] == ["金汇路"]


def test_as_json_is_stable() -> None:
    out = parser().parse("张杨路100号").as_json()
    assert list(out) == [
        "text", "normalized", "components", "spans", "others", "codes", "confidence"
    ]  # fmt: skip
    assert out["spans"] == {"road": [0, 3], "roadno": [3, 7]}


# Formal addresses made up from the gazetteer's divisions and invented road names: both
# paths of the parser must read them the same.
_SHANGHAI = [
    n for n, ps in Gazetteer(bundled_places()).names.items() if ps[0].code.startswith("31")
]
_NAME_CHARS = "东西南北中新华金银春秋长宁安平康乐泰和昌盛兴龙凤江河湖海山林园桥浦汇沙宝莘梅虹"
_ROAD_SUFFIXES = ("路", "大道", "公路", "街", "东路", "南路", "支路")


@st.composite
def formal_addresses(draw: st.DrawFn) -> str:
    head = draw(st.sampled_from(["", "上海", "上海市", "上海上海市"]))
    head += draw(st.sampled_from(["", *[n for n in _SHANGHAI if n.endswith(("区", "县"))]]))
    head += draw(st.sampled_from(["", *[n for n in _SHANGHAI if n.endswith(("镇", "街道"))]]))
    name = "".join(draw(st.lists(st.sampled_from(_NAME_CHARS), min_size=1, max_size=4)))
    numbers = draw(
        st.sampled_from(
            [
                "{a}弄{b}号",
                "{a}号",
                "{a}弄{b}号{c}室",
                "{a}号{c}室",
                "{a}弄{b}-{c}",
                "{a}弄{b}号楼{c}",
                "{a}-{c}",
                "{a}号-{c}",
                "{a}弄{b}幢{c}室",
                "{a}弄{b}",
            ]
        )
    )
    ints = st.integers(min_value=1, max_value=99999)
    tail = numbers.format(a=draw(ints), b=draw(ints), c=draw(ints))
    if draw(st.booleans()):
        village = "".join(draw(st.lists(st.sampled_from(_NAME_CHARS), min_size=1, max_size=3)))
        return f"{head}{village}村{draw(ints)}组{draw(ints)}号"
    return head + name + draw(st.sampled_from(_ROAD_SUFFIXES)) + tail


@settings(max_examples=400, deadline=None)
@given(formal_addresses())
def test_fast_and_general_paths_agree(text: str) -> None:
    assert parser().parse(text) == parser().parse_general(text)


@settings(max_examples=100, deadline=None)
@given(
    st.text(
        alphabet="上海市闵行区七莘路镇村组弄号楼室单元层幢栋-# 0123456789一二十百〇ABC()",
        max_size=30,
    )
)
def test_any_text_parses_and_both_paths_agree(text: str) -> None:
    address = parser().parse(text)
    assert address == parser().parse_general(text)
    assert set(address.components) == set(address.spans)
