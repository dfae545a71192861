from __future__ import annotations

import datetime as dt
import zipfile
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
from python_calamine import CalamineWorkbook

from popbase.io import xlsx
from popbase.io.xlsx import Cell, Sheet, column_letter, write_xlsx

TITLE = "江川路街道居民台账（2026年10月）"
HEADER = [
    ["序号", "基本信息", "", "", "联系方式", ""],
    ["", "姓名", "性别", "身份证号", "电话", "地址"],
]
ROWS: list[list[Cell]] = [
    [1, "阿依古丽·买买提", "女", "31011219900101123X", "13800000000", "江川路1弄2号301室"],
    [2, "𠮷彧", "男", "310112199001011234", None, "东川路800号"],
    [3, "张三", "", "310112199001011250", "13900000000", None],
]


def read_openpyxl(path: Path) -> list[tuple[object, ...]]:
    sheet = openpyxl.load_workbook(path).active
    assert sheet is not None
    return list(sheet.iter_rows(values_only=True))


def test_column_letters() -> None:
    assert [column_letter(i) for i in (0, 25, 26, 51, 52, 701, 702, 16383)] == [
        "A",
        "Z",
        "AA",
        "AZ",
        "BA",
        "ZZ",
        "AAA",
        "XFD",
    ]


def test_ledger_round_trips_through_openpyxl(tmp_path: Path) -> None:
    path = tmp_path / "台账.xlsx"
    sheet = Sheet("台账", ROWS, header=HEADER, title_rows=[TITLE], column_widths=[6, 12])
    write_xlsx(path, [sheet])

    rows = read_openpyxl(path)
    assert rows[0] == (TITLE, None, None, None, None, None)
    assert rows[1] == ("序号", "基本信息", None, None, "联系方式", None)
    assert rows[2] == (None, "姓名", "性别", "身份证号", "电话", "地址")
    assert rows[3:] == [tuple(r) for r in [[None if v == "" else v for v in r] for r in ROWS]]

    book = openpyxl.load_workbook(path)
    ws = book["台账"]
    merged = {str(r) for r in ws.merged_cells.ranges}
    assert merged == {"A1:F1", "A2:A3", "B2:D2", "E2:F2"}
    assert ws.freeze_panes == "A4"
    assert ws.column_dimensions["B"].width == 12
    assert ws["B2"].font.b


def test_ledger_round_trips_through_calamine(tmp_path: Path) -> None:
    path = tmp_path / "台账.xlsx"
    write_xlsx(path, [Sheet("台账", ROWS, header=HEADER, title_rows=[TITLE])])
    sheet = CalamineWorkbook.from_path(path).get_sheet_by_index(0)
    rows = sheet.to_python(skip_empty_area=False)
    assert rows[3] == [1.0, *ROWS[0][1:]]
    assert rows[4][4] == ""  # None is an empty cell
    assert sorted(sheet.merged_cell_ranges or []) == [
        ((0, 0), (0, 5)),
        ((1, 0), (2, 0)),
        ((1, 1), (1, 3)),
        ((1, 4), (1, 5)),
    ]


def test_values_are_escaped_cleaned_and_typed(tmp_path: Path) -> None:
    path = tmp_path / "values.xlsx"
    rows: list[list[Cell]] = [
        ["a&b<c>d", " lead", "trail ", "x\x01y\x0bz\x00", "l1\r\nl2", "tab\there", "\ufffe"],
        [1, 2.5, True, False, float("nan"), 10**16, -0.125],
        ["𠮷", "\n", None, "", "ok", float("inf"), 3],
    ]
    write_xlsx(path, [Sheet("s", rows)])
    got = read_openpyxl(path)
    assert got[0] == ("a&b<c>d", " lead", "trail ", "xyz", "l1\r\nl2", "tab\there", None)
    assert got[1] == (1, 2.5, True, False, None, 10**16, -0.125)
    assert got[2] == ("𠮷", "\n", None, None, "ok", None, 3)
    assert isinstance(got[1][0], int)


def test_text_is_cut_to_excels_cell_limit(tmp_path: Path) -> None:
    path = tmp_path / "long.xlsx"
    long = "长" * (xlsx.EXCEL_MAX_CELL_CHARS + 10)
    write_xlsx(path, [Sheet("s", [[long, "short"], [1, long]])])
    got = read_openpyxl(path)
    assert got[0] == ("长" * xlsx.EXCEL_MAX_CELL_CHARS, "short")
    assert got[1] == (1, "长" * xlsx.EXCEL_MAX_CELL_CHARS)


def test_mixed_and_other_types(tmp_path: Path) -> None:
    path = tmp_path / "mixed.xlsx"
    rows = [["text", dt.date(2020, 1, 2)], [7, dt.date(2021, 3, 4)], [None, None], ["x"]]
    write_xlsx(path, [Sheet("s", rows)])  # type: ignore[arg-type]
    assert read_openpyxl(path) == [
        ("text", "2020-01-02"),
        (7, "2021-03-04"),
        (None, None),
        ("x", None),
    ]


def test_streamed_rows_across_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(xlsx, "_CHUNK_ROWS", 7)

    def rows() -> Iterator[list[Cell]]:
        for i in range(50):
            yield [i, f"行{i}", None if i % 3 else "x&y"]

    path = tmp_path / "stream.xlsx"
    write_xlsx(path, [Sheet("s", rows(), header=[["n", "name", "note"]])])
    got = read_openpyxl(path)
    assert len(got) == 51
    assert got[1:] == [(i, f"行{i}", None if i % 3 else "x&y") for i in range(50)]


def test_several_sheets_and_names(tmp_path: Path) -> None:
    path = tmp_path / "two.xlsx"
    write_xlsx(path, [Sheet("一", [["a"]]), Sheet("R&D <2>", [["b"]]), Sheet("empty", [])])
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["一", "R&D <2>", "empty"]
    assert book["R&D <2>"]["A1"].value == "b"
    assert CalamineWorkbook.from_path(path).sheet_names == ["一", "R&D <2>", "empty"]


@pytest.mark.parametrize(
    ("names", "match"),
    [
        (["a" * 32], "1 to 31 characters"),
        (["a/b"], "must not contain"),
        (["台账", "台账"], "used twice"),
        (["Sheet", "SHEET"], "used twice"),
        (["'quoted'"], "apostrophe"),
    ],
)
def test_bad_sheet_names_raise(tmp_path: Path, names: list[str], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        write_xlsx(tmp_path / "x.xlsx", [Sheet(n, []) for n in names])


def test_too_many_rows_raise_and_leave_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(xlsx, "EXCEL_MAX_ROWS", 20)
    monkeypatch.setattr(xlsx, "_CHUNK_ROWS", 5)
    path = tmp_path / "big.xlsx"
    with pytest.raises(ValueError, match="split the rows across several sheets"):
        write_xlsx(path, [Sheet("s", [[i] for i in range(30)])])
    assert list(tmp_path.iterdir()) == []


def test_failed_write_keeps_the_previous_file(tmp_path: Path) -> None:
    path = tmp_path / "out.xlsx"
    write_xlsx(path, [Sheet("s", [["old"]])])

    def rows() -> Iterator[list[Cell]]:
        yield ["new"]
        raise RuntimeError("source failed")

    with pytest.raises(RuntimeError, match="source failed"):
        write_xlsx(path, [Sheet("s", rows())])
    assert read_openpyxl(path) == [("old",)]
    assert [p.name for p in tmp_path.iterdir()] == ["out.xlsx"]


def test_package_parts(tmp_path: Path) -> None:
    path = tmp_path / "p.xlsx"
    write_xlsx(path, [Sheet("s", [["a"]])])
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
        names = set(archive.namelist())
        styles = archive.read("xl/styles.xml").decode()
    assert {"[Content_Types].xml", "xl/workbook.xml", "xl/styles.xml"} <= names
    assert "<cellXfs" in styles
