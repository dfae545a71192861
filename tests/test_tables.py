from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from popbase import MissingColumnError, SourceFileError, UndecodableFileError
from popbase.errors import EmptyFileError
from popbase.io.tables import RawTable, read_table
from popbase.io.xlsx import Sheet, write_xlsx

TITLE = "江川路街道居民台账（2026年10月）"
NOTES = "说明：数据截至2026年10月31日"
FLAT = [
    "序号",
    "基本信息/姓名",
    "基本信息/性别",
    "基本信息/身份证号",
    "联系方式/电话",
    "联系方式/地址",
]
PEOPLE = "序号,姓名,地址\n1,阿依古丽·买买提,江川路1号\n2,彧,东川路800号\n3,𠮷野,剑川路\n"


def write_csv(tmp_path: Path, text: str, codec: str = "utf-8", name: str = "t.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(codec))
    return path


def values(table: RawTable) -> list[list[str | None]]:
    """The frame's cells, missing ones as None."""
    frame = table.frame.astype(object).where(table.frame.notna(), None)
    return frame.to_numpy().tolist()


# --- CSV: encodings ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("codec", "expected"),
    [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("gbk", "gb18030"), ("gb18030", "gb18030")],
)
def test_csv_encodings_round_trip(tmp_path: Path, codec: str, expected: str) -> None:
    text = PEOPLE.replace("𠮷", "吉") if codec == "gbk" else PEOPLE
    table = read_table(write_csv(tmp_path, text, codec))
    assert table.encoding == expected
    assert table.columns == ["序号", "姓名", "地址"]
    assert values(table) == [
        [cell or None for cell in line.split(",")] for line in text.splitlines()[1:]
    ]
    assert table.row_numbers.tolist() == [2, 3, 4]
    assert all(str(dtype) == "str" for dtype in table.frame.dtypes)


def test_csv_declared_encoding(tmp_path: Path) -> None:
    path = write_csv(tmp_path, PEOPLE.replace("𠮷", "吉"), "gbk")
    assert read_table(path, encoding="GBK").encoding == "gbk"
    with pytest.raises(SourceFileError, match="encoding 'gkb' is unknown"):
        read_table(path, encoding="gkb")


def test_csv_declared_encoding_is_strict(tmp_path: Path) -> None:
    path = write_csv(tmp_path, PEOPLE, "gb18030")  # 𠮷 is not in GBK
    with pytest.raises(UndecodableFileError, match=r"not valid GBK text.*\(line 4\)"):
        read_table(path, encoding="gbk")
    with pytest.raises(UndecodableFileError, match=r"not valid UTF-8 text.*offset 0 \(line 1\)"):
        read_table(path, encoding="utf-8")


def test_gb_bytes_far_into_an_ascii_file(tmp_path: Path) -> None:
    # The head is plain ASCII, so the file is first read as UTF-8; pyarrow rejects the
    # GBK bytes further on and the file is then detected as GB18030.
    text = "id,name\n" + "".join(f"{i},name{i}\n" for i in range(20_000)) + "20000,张三\n"
    table = read_table(write_csv(tmp_path, text, "gbk"))
    assert table.encoding == "gb18030"
    assert values(table)[-1] == ["20000", "张三"]
    assert table.row_numbers[-1] == 20_002


def test_undecodable_csv_names_its_line(tmp_path: Path) -> None:
    text = "id,name\n" + "".join(f"{i},名{i}\n" for i in range(20_000))
    path = tmp_path / "t.csv"
    path.write_bytes(text.encode("utf-8") + b"20000,\xff\xfe\n")
    with pytest.raises(UndecodableFileError, match=r"read as UTF-8.*\(line 20002\)"):
        read_table(path)


# --- CSV: layout -------------------------------------------------------------------------

LEDGER_CSV = (
    f"{TITLE},,,,,\n"
    "\n"
    "序号,基本信息,,,联系方式,\n"
    ",姓名,性别,身份证号,电话,地址\n"
    "1, 阿依古丽·买买提 ,女,31011219900101123X,13800000000,江川路1号\n"
    '2,彧,男,"310112199001011234",,"江川路\n2号"\n'
    "\n"
    ",,,,,\n"
    "3,𠮷,, 007 ,1.50,\n"
)


def test_csv_title_rows_two_row_header_and_row_numbers(tmp_path: Path) -> None:
    table = read_table(write_csv(tmp_path, LEDGER_CSV), skip_rows=2, header_rows=2)
    assert table.columns == FLAT
    assert values(table) == [
        ["1", "阿依古丽·买买提", "女", "31011219900101123X", "13800000000", "江川路1号"],
        ["2", "彧", "男", "310112199001011234", None, "江川路\n2号"],
        ["3", "𠮷", None, "007", "1.50", None],
    ]
    # Records as Excel numbers them: the quoted line break starts no row; the blank
    # and the all-empty rows are dropped but still counted.
    assert table.row_numbers.tolist() == [5, 6, 9]
    assert table.bad_rows == []


def test_csv_malformed_rows_are_set_aside(tmp_path: Path) -> None:
    text = "a,b,c\n1,2,3\n4,5\n6,7,8\n9,10,11,12\n13,14,15\n"
    table = read_table(write_csv(tmp_path, text))
    assert values(table) == [["1", "2", "3"], ["6", "7", "8"], ["13", "14", "15"]]
    assert table.row_numbers.tolist() == [2, 4, 6]
    assert table.bad_rows == [(3, "4,5"), (5, "9,10,11,12")]


def test_csv_malformed_row_raises_when_asked(tmp_path: Path) -> None:
    text = "a,b,c\n1,2,3\n4,5\n6,7,8,9\n"
    with pytest.raises(SourceFileError, match=r"row 3 has 2 fields where the header has 3.*1 more"):
        read_table(write_csv(tmp_path, text), errors="raise")


def test_csv_unclosed_quote_is_located(tmp_path: Path) -> None:
    lines = [f"{i},名字{i},地址{i}" for i in range(100)]
    lines[40] = '40,"名字40,地址40'
    path = write_csv(tmp_path, "序号,姓名,地址\n" + "\n".join(lines) + "\n")
    with pytest.raises(SourceFileError, match=r"row 42 opens a quote .* over 60 lines"):
        read_table(path)


def test_csv_duplicate_and_missing_header_names(tmp_path: Path) -> None:
    text = "姓名,电话,姓名,,姓名\n张三,1,张3,x,zhang\n"
    table = read_table(write_csv(tmp_path, text))
    assert table.columns == ["姓名", "电话", "姓名_2", "column_4", "姓名_3"]


def test_csv_trailing_delimiters_on_data_rows(tmp_path: Path) -> None:
    text = "a,b\n1,2,\n3,4,\n5,6,\n"
    table = read_table(write_csv(tmp_path, text))
    assert table.columns == ["a", "b"]
    assert values(table) == [["1", "2"], ["3", "4"], ["5", "6"]]
    assert table.bad_rows == []


def test_csv_trailing_delimiter_on_the_header_only(tmp_path: Path) -> None:
    table = read_table(write_csv(tmp_path, "a,b,\n1,2\n3,4\n"))
    assert table.columns == ["a", "b"]
    assert values(table) == [["1", "2"], ["3", "4"]]
    assert table.bad_rows == []


def test_tab_separated_text(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "姓名\t地址\n张三\t江川路, 1号\n", name="t.txt")
    table = read_table(path)
    assert values(table) == [["张三", "江川路, 1号"]]


def test_header_only_and_empty_files(tmp_path: Path) -> None:
    table = read_table(write_csv(tmp_path, "a,b\n"))
    assert table.columns == ["a", "b"]
    assert len(table.frame) == 0
    # Not a table without columns, whose every mapped column would be "missing".
    with pytest.raises(EmptyFileError, match=r"the file is empty \(0 bytes"):
        read_table(write_csv(tmp_path, "", name="empty.csv"))


def test_missing_or_unknown_files(tmp_path: Path) -> None:
    with pytest.raises(SourceFileError, match=r"does not exist\. Fix: check the source's `path:`"):
        read_table(tmp_path / "nope.csv")
    with pytest.raises(SourceFileError, match="is a folder"):
        read_table(tmp_path)
    path = write_csv(tmp_path, "a\n1\n", name="t.dat")
    with pytest.raises(SourceFileError, match=r"suffix '\.dat'.*Fix: set `format:`"):
        read_table(path)
    assert read_table(path, format="csv").columns == ["a"]


# --- workbooks ---------------------------------------------------------------------------

DATA_ROWS: list[list[object]] = [
    [1, " 阿依古丽·买买提 ", "女", "31011219900101123X", 13800000000, "江川路1号"],
    [2.0, "彧", "男", 3.10112199001011e17, 13900000000.0, dt.date(2020, 1, 2)],
    [None, None, None, None, None, None],
    [3, "𠮷", None, "310112199001011234", None, dt.datetime(2020, 1, 2, 12, 30)],
]
EXPECTED = [
    ["1", "阿依古丽·买买提", "女", "31011219900101123X", "13800000000", "江川路1号"],
    ["2", "彧", "男", "310112199001011000", "13900000000", "2020-01-02"],
    ["3", "𠮷", None, "310112199001011234", None, "2020-01-02 12:30:00"],
]


def ledger_by_openpyxl(path: Path) -> Path:
    book = openpyxl.Workbook()
    ws = book.active
    assert ws is not None
    ws.title = "台账"
    ws.append([TITLE])
    ws.merge_cells("A1:F1")
    ws.append([NOTES])
    ws.append(["序号", "基本信息", None, None, "联系方式", None])
    ws.append([None, "姓名", "性别", "身份证号", "电话", "地址"])
    ws.merge_cells("A3:A4")
    ws.merge_cells("B3:D3")
    ws.merge_cells("E3:F3")
    for row in DATA_ROWS:
        ws.append(row)
    ws["H8"] = " "  # a stray space far right: no column, no row
    book.create_sheet("说明").append(["本表仅供内部使用"])
    book.save(path)
    return path


def ledger_by_writer(path: Path) -> Path:
    header = [
        ["序号", "基本信息", "", "", "联系方式", ""],
        ["", "姓名", "性别", "身份证号", "电话", "地址"],
    ]
    rows = [[v if not isinstance(v, dt.date) else str(v) for v in r] for r in DATA_ROWS]
    sheet = Sheet("台账", rows, header=header, title_rows=[TITLE, NOTES])  # type: ignore[arg-type]
    write_xlsx(path, [sheet])
    return path


def test_workbook_by_openpyxl(tmp_path: Path) -> None:
    table = read_table(ledger_by_openpyxl(tmp_path / "t.xlsx"), skip_rows=2, header_rows=2)
    assert table.columns == FLAT
    assert values(table) == EXPECTED
    assert table.row_numbers.tolist() == [5, 6, 8]
    assert table.encoding is None


def test_workbook_by_our_writer_reads_the_same(tmp_path: Path) -> None:
    table = read_table(ledger_by_writer(tmp_path / "t.xlsx"), skip_rows=2, header_rows=2)
    assert table.columns == FLAT
    assert values(table)[0] == EXPECTED[0]
    assert values(table)[1][:5] == EXPECTED[1][:5]
    assert table.row_numbers.tolist() == [5, 6, 8]


def test_workbook_sheets_by_name_and_index(tmp_path: Path) -> None:
    path = ledger_by_openpyxl(tmp_path / "t.xlsx")
    assert read_table(path, sheet="说明").columns == ["本表仅供内部使用"]
    assert read_table(path, sheet=1).columns == ["本表仅供内部使用"]
    with pytest.raises(
        SourceFileError, match="no sheet named '台帐'; its sheets are '台账', '说明'"
    ):
        read_table(path, sheet="台帐")
    with pytest.raises(SourceFileError, match="no sheet number 5"):
        read_table(path, sheet=5)


def test_workbook_merged_data_cells_are_filled(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    ws = book.active
    assert ws is not None
    for row in (
        ["户号", "姓名"],
        ["H001", "张三"],
        [None, "李四"],
        [None, "王五"],
        ["H002", "赵六"],
    ):
        ws.append(row)
    ws.merge_cells("A2:A4")
    book.save(tmp_path / "h.xlsx")
    table = read_table(tmp_path / "h.xlsx")
    assert table.frame["户号"].tolist() == ["H001", "H001", "H001", "H002"]


def test_unreadable_workbook(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "not a workbook", name="t.xlsx")
    with pytest.raises(SourceFileError, match=r"not a readable workbook.*save it again as \.xlsx"):
        read_table(path)


# --- Parquet and columns -----------------------------------------------------------------


def test_parquet_as_text(tmp_path: Path) -> None:
    table = pa.table(
        {
            "id": pa.array(["007", None]),
            "n": pa.array([12, None], pa.int64()),
            "x": pa.array([12.0, 3.10112199001011e17]),
            "d": pa.array([dt.date(2020, 1, 2), None]),
            "t": pa.array([dt.datetime(2020, 1, 2), dt.datetime(2020, 1, 2, 8, 5)]),
            "b": pa.array([True, None]),
        }
    )
    pq.write_table(table, tmp_path / "t.parquet")
    read = read_table(tmp_path / "t.parquet")
    assert values(read) == [
        ["007", "12", "12", "2020-01-02", "2020-01-02", "TRUE"],
        [None, None, "310112199001011000", None, "2020-01-02 08:05:00", None],
    ]
    assert read.row_numbers.tolist() == [1, 2]


def test_raw_table_resolves_columns(tmp_path: Path) -> None:
    table = read_table(write_csv(tmp_path, LEDGER_CSV), skip_rows=2, header_rows=2)
    assert table.column("身份证号") == "基本信息/身份证号"
    assert table.frame[table.column("姓名")].iloc[0] == "阿依古丽·买买提"
    with pytest.raises(MissingColumnError, match=r"t\.csv: column '户号'"):
        table.column("户号")
    assert isinstance(table.frame, pd.DataFrame)
