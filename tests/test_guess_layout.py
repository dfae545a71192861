"""Where a delivered table's header is, and reading its first rows as a build will."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from popbase import UndecodableFileError
from popbase.guess.layout import header_layout, read_heads
from popbase.io.tables import read_table
from popbase.io.xlsx import Sheet, write_xlsx

ROWS = [
    ["310112199001011233", "张三", "男", "13800138000"],
    ["11010519491231002X", "李四", "女", "13900139000"],
]


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        # A plain header.
        ([["身份证号", "姓名", "性别"], ROWS[0][:3]], (0, 1)),
        # A title merged over the table (its text in the first cell only).
        (
            [["居民台账（截至2026年10月）", "", ""], ["身份证号", "姓名", "性别"], ROWS[0][:3]],
            (1, 1),
        ),
        # Title, then group labels over field names; 序号 merged down keeps its first cell.
        (
            [
                ["江川路街道社区居民台账", "", "", ""],
                ["序号", "基本信息", "", "联系方式"],
                ["", "姓名", "身份证号", "联系电话"],
                ["1", "张三", ROWS[0][0], ROWS[0][3]],
            ],
            (1, 2),
        ),
        # Notes rows (填报单位：…) are not group labels.
        (
            [
                ["填报单位：江川路街道", "填报日期：2026-10-31", "", ""],
                ["身份证号", "姓名", "性别", "联系电话"],
                ROWS[0],
            ],
            (1, 1),
        ),
        # Field names nobody knows: the first row of text across the table.
        ([["表一", "", ""], ["col_a", "col_b", "col_c"], ["1", "2", "3"]], (1, 1)),
        # Pinyin initials of a database export.
        ([["gmsfhm", "xm", "xb", "csrq"], ROWS[0]], (0, 1)),
    ],
)
def test_header_layout(rows: list[list[str]], expected: tuple[int, int]) -> None:
    assert header_layout(rows) == expected


def test_a_gbk_csv_with_a_title_row_reads_like_the_build_reads_it(tmp_path: Path) -> None:
    path = tmp_path / "公安户籍.csv"
    columns = ["公民身份号码", "姓名", "性别", "联系电话"]
    body = pd.DataFrame(ROWS, columns=columns).to_csv(index=False)
    path.write_bytes(("公安户籍人口（截至2026年10月31日）,,,\n" + body).encode("gbk"))
    (head,) = read_heads(path)
    assert (head.encoding, head.skip_rows, head.header_rows) == ("gb18030", 1, 1)
    assert head.title == "公安户籍人口（截至2026年10月31日）"
    assert head.samples["姓名"] == ["张三", "李四"]
    built = read_table(path, skip_rows=head.skip_rows, header_rows=head.header_rows)
    assert built.columns == head.columns


def test_a_utf8_bom_csv_header_has_no_bom(tmp_path: Path) -> None:
    path = tmp_path / "卫健.csv"
    path.write_text("身份证号,姓名\n" + "\n".join(",".join(r[:2]) for r in ROWS), "utf-8-sig")
    (head,) = read_heads(path)
    assert head.encoding == "utf-8-sig"
    assert head.columns == ["身份证号", "姓名"]


def test_a_workbook_with_a_title_and_two_header_rows(tmp_path: Path) -> None:
    path = tmp_path / "台账.xlsx"
    header = [["编号", "基本信息", "", "联系方式"], ["", "姓名", "身份证号", "联系电话"]]
    rows = [["1", "张三", ROWS[0][0], ROWS[0][3]], ["2", "李四", ROWS[1][0], ROWS[1][3]]]
    write_xlsx(path, [Sheet("台账", rows, header, ["古美街道居民台账（截至2026年9月）"])])
    (head,) = read_heads(path)
    assert (head.skip_rows, head.header_rows, head.sheet) == (1, 2, None)
    assert head.columns == ["编号", "基本信息/姓名", "基本信息/身份证号", "联系方式/联系电话"]
    assert head.samples["基本信息/身份证号"] == [ROWS[0][0], ROWS[1][0]]
    built = read_table(path, skip_rows=1, header_rows=2)
    assert built.columns == head.columns


def test_each_sheet_of_a_workbook_is_read_with_its_name(tmp_path: Path) -> None:
    path = tmp_path / "民政.xlsx"
    notes = Sheet("说明", [["本表由民政局提供"]], [["说明"]])
    data = Sheet("低保", [r[:2] for r in ROWS], [["身份证号", "姓名"]])
    write_xlsx(path, [notes, data])
    heads = {h.sheet: h for h in read_heads(path)}
    assert set(heads) == {"说明", "低保"}
    assert heads["低保"].columns == ["身份证号", "姓名"]


def test_repeated_and_unnamed_columns_are_named_as_the_readers_name_them(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("姓名,姓名,\n张三,张三丰,x\n", encoding="utf-8")
    (head,) = read_heads(path)
    assert head.columns == read_table(path).columns == ["姓名", "姓名_2", "column_3"]


def test_an_undecodable_csv_raises_naming_the_byte(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(b"\xff\xfe\xfa\xfb,\x81\n")
    with pytest.raises(UndecodableFileError, match="byte offset"):
        read_heads(path)
