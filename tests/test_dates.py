"""Dates as departments write them: every form read to ISO, the rest flagged unreadable."""

from __future__ import annotations

import datetime as dt
import unicodedata
from pathlib import Path

import duckdb
import openpyxl
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from popbase.io.tables import read_table
from popbase.values.dates import EXCEL_SERIALS, YEARS, iso_date_sql, read_dates

CASES = Path(__file__).parent / "fixtures" / "values" / "dates.tsv"


def _cases() -> list[tuple[str, str]]:
    lines = CASES.read_text(encoding="utf-8").splitlines()
    pairs = [line.split("\t") for line in lines if line and not line.startswith("#")]
    assert all(len(p) == 2 for p in pairs), "each case is text, a tab, and what it reads as"
    return [(text, expected) for text, expected in pairs]


@pytest.mark.parametrize(("text", "expected"), _cases())
def test_each_case_of_the_fixture_file(text: str, expected: str) -> None:
    read = read_dates(pa.array([text]))
    if expected == "unreadable":
        assert read.values[0].as_py() is None
        assert read.unreadable[0].as_py() is True
    else:
        assert read.values[0].as_py() == expected
        assert read.unreadable[0].as_py() is False


def test_a_whole_column_reads_at_once_and_empty_cells_are_not_unreadable() -> None:
    cases = _cases()
    texts = [t for t, _ in cases] + [None, ""]
    read = read_dates(pa.array(texts))
    expected = [None if e == "unreadable" else e for _, e in cases] + [None, None]
    assert read.values.to_pylist() == expected
    flags = [e == "unreadable" for _, e in cases] + [False, False]
    assert read.unreadable.to_pylist() == flags


def test_later_sql_reads_the_iso_text_as_a_date() -> None:
    iso = read_dates(pa.array(["2026年9月", "20260905"])).values.to_pylist()
    con = duckdb.connect()
    got = con.execute(
        f"SELECT {iso_date_sql('d')} FROM (VALUES (?), (?)) t(d)", [iso[0], iso[1]]
    ).fetchall()
    assert got == [(dt.date(2026, 9, 1),), (dt.date(2026, 9, 5),)]


def test_workbook_date_cells_arrive_as_iso_dates(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["居住起始日期", "登记时间", "月份"])
    sheet.append([dt.date(2026, 9, 5), dt.datetime(2026, 9, 5, 12, 0), dt.date(2026, 9, 1)])
    sheet.append([dt.date(1950, 1, 31), dt.datetime(2026, 9, 5, 23, 59, 59, 700000), None])
    sheet["A2"].number_format = "yyyy/m/d"
    sheet["C2"].number_format = 'yyyy"年"m"月"'  # shown as 2026年9月, stored as a date
    path = tmp_path / "ledger.xlsx"
    book.save(path)
    frame = read_table(path).frame
    read = [read_dates(pa.array(frame[c].array)) for c in frame.columns]
    assert [r.values.to_pylist() for r in read] == [
        ["2026-09-05", "1950-01-31"],
        ["2026-09-05", "2026-09-06"],  # 23:59:59.7 rounds to the next second, as Excel shows
        ["2026-09-01", None],
    ]
    assert not any(any(r.unreadable.to_pylist()) for r in read)


# ---- property: any real date written in any form reads back to itself ----

CHINESE = "〇一二三四五六七八九"


def _chinese_number(n: int) -> str:
    """十二, 二十五, 三十 … as written in dates."""
    tens, ones = divmod(n, 10)
    head = "" if tens == 0 else ("十" if tens == 1 else CHINESE[tens] + "十")
    return head + (CHINESE[ones] if ones or not tens else "")


def _chinese_year(year: int) -> str:
    return "".join(CHINESE[int(c)] for c in str(year))


def _full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


FULL_FORMS = {
    "iso": lambda d: d.isoformat(),
    "slash": lambda d: f"{d.year}/{d.month}/{d.day}",
    "slash_padded": lambda d: d.strftime("%Y/%m/%d"),
    "dot": lambda d: f"{d.year}.{d.month}.{d.day}",
    "chinese": lambda d: f"{d.year}年{d.month}月{d.day}日",
    "chinese_hao": lambda d: d.strftime("%Y年%m月%d号"),
    "compact": lambda d: d.strftime("%Y%m%d"),
    "with_minutes": lambda d: d.isoformat() + " 12:00",
    "iso_time": lambda d: d.isoformat() + "T08:30:59",
    "slash_time": lambda d: f"{d.year}/{d.month}/{d.day} 23:59:00",
    "compact_time": lambda d: d.strftime("%Y%m%d") + "120000",
    "chinese_numerals": lambda d: (
        f"{_chinese_year(d.year)}年{_chinese_number(d.month)}月{_chinese_number(d.day)}日"
    ),
    "full_width": lambda d: _full_width(f"{d.year}/{d.month}/{d.day}"),
}
MONTH_FORMS = {
    "chinese": lambda d: f"{d.year}年{d.month}月",
    "dash": lambda d: f"{d.year}-{d.month}",
    "slash_padded": lambda d: d.strftime("%Y/%m"),
    "dot": lambda d: f"{d.year}.{d.month}",
    "compact": lambda d: d.strftime("%Y%m"),
    "chinese_numerals": lambda d: f"{_chinese_year(d.year)}年{_chinese_number(d.month)}月",
}
DAYS = st.dates(dt.date(YEARS[0], 1, 1), dt.date(YEARS[1], 12, 31))


@given(day=DAYS, form=st.sampled_from(sorted(FULL_FORMS)))
def test_any_real_date_in_any_full_form_reads_back_to_itself(day: dt.date, form: str) -> None:
    text = FULL_FORMS[form](day)
    read = read_dates(pa.array([text, f"  {text} "]))
    assert read.values.to_pylist() == [day.isoformat()] * 2, text


@given(day=DAYS, form=st.sampled_from(sorted(MONTH_FORMS)))
def test_a_year_and_month_read_as_the_first_day_of_the_month(day: dt.date, form: str) -> None:
    text = MONTH_FORMS[form](day)
    assert read_dates(pa.array([text])).values.to_pylist() == [day.replace(day=1).isoformat()], text


@given(
    day=st.dates(
        dt.date(1899, 12, 30) + dt.timedelta(EXCEL_SERIALS[0]),
        dt.date(1899, 12, 30) + dt.timedelta(EXCEL_SERIALS[1]),
    ),
    fraction=st.sampled_from(["", ".0", ".5", ".999988426"]),
)
def test_an_excel_serial_in_range_reads_as_its_date(day: dt.date, fraction: str) -> None:
    serial = (day - dt.date(1899, 12, 30)).days
    assert read_dates(pa.array([f"{serial}{fraction}"])).values[0].as_py() == day.isoformat()


@given(st.lists(st.text(max_size=24), max_size=30))
def test_any_text_reads_as_a_real_iso_date_or_is_flagged(texts: list[str]) -> None:
    read = read_dates(pa.array(texts, pa.string()))
    for text, value, bad in zip(
        texts, read.values.to_pylist(), read.unreadable.to_pylist(), strict=True
    ):
        if value is None:
            assert bad or not unicodedata.normalize("NFKC", text).strip(), text
        else:
            assert not bad
            assert dt.date.fromisoformat(value).isoformat() == value
