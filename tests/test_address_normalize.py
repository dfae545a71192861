"""Properties of the address normaliser, and of the spans the parser reports through it."""

from __future__ import annotations

import itertools
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from popbase.address.gazetteer import Gazetteer, bundled_places
from popbase.address.normalize import _fold, _numerals, chinese_to_int, normalize
from popbase.address.parse import AddressParser

DIGITS = "零一二三四五六七八九"


def chinese(n: int) -> str:
    """Write 0–9999 the way it is spoken: 1885 一千八百八十五, 105 一百零五, 10 十."""
    if n == 0:
        return "零"
    out = ""
    zero = False
    for value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        d = n // value % 10
        if d == 0:
            zero = bool(out)
            continue
        if zero:
            out += "零"
            zero = False
        out += ("" if (value == 10 and d == 1 and not out) else DIGITS[d]) + unit
    return out


def digit_by_digit(n: int, zero: str = "零") -> str:
    """Write a number digit by digit, as room numbers are: 301 三零一 (or 三〇一)."""
    return "".join(zero if c == "0" else DIGITS[int(c)] for c in str(n))


@cache
def parser() -> AddressParser:
    return AddressParser(Gazetteer(bundled_places()))


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (1885, "一千八百八十五"),
        (105, "一百零五"),
        (10, "十"),
        (20, "二十"),
        (110, "一百一十"),
        (3008, "三千零八"),
        (1001, "一千零一"),
    ],
)
def test_the_writer_writes_as_people_do(n: int, text: str) -> None:
    assert chinese(n) == text


@given(st.integers(min_value=0, max_value=9999))
def test_numerals_round_trip(n: int) -> None:
    assert chinese_to_int(chinese(n)) == n
    assert normalize(chinese(n) + "号").norm == f"{n}号"


@given(st.integers(min_value=0, max_value=99999), st.sampled_from(["零", "〇"]))
def test_digit_by_digit_numerals_round_trip(n: int, zero: str) -> None:
    assert chinese_to_int(digit_by_digit(n, zero)) == n
    assert normalize(digit_by_digit(n, zero) + "室").norm == f"{n}室"


ADDRESS_CHARS = (
    "上海市闵行区浦東新區七莘路張楊號樓弄幢栋座单元层室组村镇街道"
    "0123456789０１２３４５６７８９一二三四五六七八九十百千零〇两"
    "abcABCａｂ-－—~_#＃ 　,，。()（）/"
)


@settings(max_examples=300)
@given(st.text(alphabet=ADDRESS_CHARS, max_size=40))
def test_normalisation_is_idempotent(text: str) -> None:
    once = normalize(text).norm
    assert normalize(once).norm == once


@settings(max_examples=300)
@given(st.text(alphabet=ADDRESS_CHARS, max_size=40))
def test_every_normalised_character_comes_from_the_text(text: str) -> None:
    n = normalize(text)
    for i in range(len(n.norm)):
        a, b = n.original_span(i, i + 1)
        assert 0 <= a < b <= len(text)
    starts = [n.original_span(i, i + 1)[0] for i in range(len(n.norm))]
    assert starts == sorted(starts)


@st.composite
def dirty_addresses(draw: st.DrawFn) -> str:
    """A formal address written with the habits people have (never a corpus line)."""
    ints = st.integers(min_value=1, max_value=2999)
    lane, house, room = draw(ints), draw(ints), draw(ints)

    def number(n: int) -> str:
        style = draw(st.sampled_from(["ascii", "full", "chinese", "digits"]))
        if style == "full":
            return str(n).translate(str.maketrans("0123456789", "０１２３４５６７８９"))
        if style == "chinese":
            return chinese(n)
        return digit_by_digit(n) if style == "digits" else str(n)

    sep = draw(st.sampled_from(["", " ", "　", ","]))
    head = draw(st.sampled_from(["", "上海市", "上海上海市", "上海市閔行區", "闵行区莘庄镇"]))
    road = draw(st.sampled_from(["七莘路", "張楊路", "春申路", "莘松路"]))
    house_word = draw(st.sampled_from(["号", "號", "#", "号楼", "幢"]))
    return (
        head + sep + road + sep + number(lane) + "弄" + sep + number(house) + house_word
        + sep + number(room) + "室"
    )  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(dirty_addresses())
def test_spans_lie_in_the_text_and_do_not_overlap(text: str) -> None:
    address = parser().parse(text)
    spans = sorted(address.spans.values())
    for start, end in spans:
        assert 0 <= start < end <= len(text)
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert end <= start


@settings(max_examples=300, deadline=None)
@given(dirty_addresses())
def test_a_span_of_the_text_normalises_to_its_component(text: str) -> None:
    address = parser().parse(text)
    assert {"road", "roadno", "houseno", "roomno"} <= address.components.keys()
    for tag, (start, end) in address.spans.items():
        assert normalize(text[start:end]).norm == address.components[tag], tag


def _slow_path(text: str) -> tuple[str, list[int], list[int]]:
    chars, starts, ends = _fold(text)
    return _numerals("".join(chars), starts, ends)


@settings(max_examples=300)
@given(st.text(alphabet="七莘路1２3弄号-－楼单元室號區ab ", max_size=30))
def test_the_one_step_fold_reads_as_the_character_by_character_one(text: str) -> None:
    n = normalize(text)
    norm, starts, ends = _slow_path(text)
    assert n.norm == norm
    if n.starts is None:
        # Positions line up one to one, as the slow path's spans say.
        assert starts == list(range(len(norm))) and ends == list(range(1, len(norm) + 1))


@pytest.mark.parametrize(
    ("text", "norm", "components"),
    [
        # A lane's building and room written with a dash, in numerals either side.
        ("秀山路7弄六-403", "秀山路7弄6-403", {"houseno": "6", "roomno": "403"}),
        ("秀山路7弄六－四零三", "秀山路7弄6-403", {"houseno": "6", "roomno": "403"}),
        ("秀山路7弄6-四零三", "秀山路7弄6-403", {"houseno": "6", "roomno": "403"}),
        ("三门路十二号-三零一", "三门路12号-301", {"roadno": "12号", "roomno": "301"}),
        # Numerals before every unit word.
        ("秀山路7弄十二幢三单元二十一楼", "秀山路7弄12幢3单元21楼", {"floorno": "21楼"}),
    ],
)
def test_chinese_numerals_in_every_position(
    text: str, norm: str, components: dict[str, str]
) -> None:
    assert normalize(text).norm == norm
    parsed = parser().parse(text).components
    assert {k: parsed.get(k) for k in components} == components


@pytest.mark.parametrize("text", ["秀山路7弄六403", "十六铺码头", "五角场镇"])
def test_numerals_that_are_no_number_or_run_into_one_stay(text: str) -> None:
    """Without a dash, 六403 could be building 6 room 403 or 6,403: left as written."""
    assert normalize(text).norm == text
