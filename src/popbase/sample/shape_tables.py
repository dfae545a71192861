"""Department tables written again as other departments keep them.

The same rows under other column names (Chinese synonyms, English, pinyin initials), with
dates in another form, in another encoding, header layout and file format. Used by
:mod:`popbase.sample.shapes`; every value other than dates is written as read, so the
sample's truth (keyed by record number) still holds.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from popbase.io.xlsx import Sheet, write_xlsx
from popbase.sample.writer import csv_bytes

ColumnStyle = Literal["as_delivered", "synonyms", "english", "pinyin"]
DateStyle = Literal[
    "as_delivered",
    "iso",
    "compact",
    "slash",
    "dotted",
    "chinese",
    "chinese_numerals",
    "datetime",
    "excel_serial",
    "month_chinese",
    "month_compact",
]
HeaderStyle = Literal["plain", "title", "grouped"]
FileFormat = Literal["csv", "xlsx", "parquet"]

# Column names by canonical field, as other departments name them.
_NAMES: Final[dict[str, tuple[str, str, str]]] = {
    # field: (Chinese synonym, English, pinyin initials)
    "record_no": ("业务流水号", "RECORD_NO", "lsh"),
    "id_number": ("身份证件号码", "ID_CARD_NO", "sfzh"),
    "name": ("居民姓名", "NAME", "xm"),
    "sex": ("性别代码", "GENDER", "xb"),
    "birth_date": ("出生年月日", "BIRTHDAY", "csrq"),
    "ethnicity": ("民族名称", "NATION", "mz"),
    "phone": ("手机号", "MOBILE", "lxdh"),
    "residence_address": ("实际居住地址", "LIVING_ADDRESS", "jzdz"),
    "residence_since": ("入住日期", "LIVING_SINCE", "jzqsrq"),
    "residence_months": ("居住月数", "LIVING_MONTHS", "jzys"),
    "hukou_address": ("户口所在地", "HUKOU_ADDRESS", "hjdz"),
    "hukou_since": ("户口迁入日期", "HUKOU_SINCE", "qrrq"),
    "household_no": ("户编号", "HOUSEHOLD_NO", "hh"),
    "household_status": ("人户一致情况", "HOUSEHOLD_STATUS", "rhzt"),
    "relation": ("家庭关系", "RELATION", "yhzgx"),
    "person_status": ("人口状态", "STATUS", "ryzt"),
    "marital_status": ("婚姻状况代码", "MARITAL_STATUS", "hyzk"),
    "spouse_id_number": ("配偶证件号码", "SPOUSE_ID_CARD_NO", "posfzh"),
    "education": ("文化程度", "EDUCATION", "whcd"),
    "employer_credit_code": ("用人单位信用代码", "EMPLOYER_USCC", "dwxydm"),
    "employer_name": ("用人单位", "EMPLOYER", "dwmc"),
    "event_type": ("事项类别", "EVENT_TYPE", "ywlx"),
    "event_detail": ("备注说明", "EVENT_NOTE", "bz"),
    "event_date": ("业务日期", "EVENT_DATE", "ywrq"),
    "community_name": ("所属居委", "COMMUNITY", "jwh"),
    "text": ("诉求描述", "CONTENT", "sqnr"),
    "lon": ("经度", "LNG", "jd"),
    "lat": ("纬度", "LAT", "wd"),
    "credit_code": ("社会信用代码", "USCC", "tyshxydm"),
    "address": ("地址", "ADDRESS", "dz"),
    "legal_person": ("法人", "LEGAL_PERSON", "fddbr"),
    "founded": ("成立时间", "FOUNDED", "clrq"),
    "industry": ("行业门类", "INDUSTRY", "hy"),
    "status": ("经营状态", "REG_STATUS", "djzt"),
    "room_code": ("房屋代码", "ROOM_CODE", "fwbm"),
    "building_address": ("幢地址", "BUILDING_ADDRESS", "ldz"),
    "room_no": ("房号", "ROOM_NO", "sh"),
    "floor": ("楼层", "FLOOR", "lc"),
    "area": ("面积", "AREA", "mj"),
    "use": ("规划用途", "USE", "yt"),
    "grid_code": ("网格ID", "GRID_ID", "wgbm"),
    "date": ("统计日期", "STAT_DATE", "tjrq"),
    "hour": ("时段", "HOUR", "xs"),
    "residents": ("常住人数", "RESIDENTS", "jzrs"),
    "workers": ("就业人数", "WORKERS", "gzrs"),
    "visitors": ("到访人数", "VISITORS", "fkrs"),
}
# Where a field's name depends on what the table describes: an enterprise's name is not
# a resident's, a room's address is its 坐落.
_KIND_NAMES: Final[dict[tuple[str, str], tuple[str, str, str]]] = {
    ("enterprise", "name"): ("企业名称", "ENTERPRISE_NAME", "qymc"),
    ("enterprise", "address"): ("注册地址", "REG_ADDRESS", "zcdz"),
    ("room", "address"): ("房屋坐落", "LOCATION", "fwzl"),
    ("room", "building_address"): ("楼栋地址", "BUILDING_ADDRESS", "lddz"),
}
_STYLE_INDEX: Final = {"synonyms": 0, "english": 1, "pinyin": 2}

# Fields that hold dates, and those of them that departments often keep to the month.
DATE_FIELDS: Final = frozenset(
    {"birth_date", "residence_since", "hukou_since", "event_date", "founded", "date"}
)
MONTH_FIELDS: Final = frozenset({"residence_since", "hukou_since"})

_READ_FORMATS: Final = (
    "%Y-%m-%d",
    "%Y%m%d",
    "%Y年%m月%d日",
    "%Y/%m/%d",
    "%Y.%m.%d",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d %H:%M:%S",
)
_DIGITS: Final = "〇一二三四五六七八九"
_EXCEL_EPOCH: Final = dt.date(1899, 12, 30)


def column_name(field: str, original: str, style: ColumnStyle, kind: str = "person") -> str:
    """The name a department of ``style`` gives the column of ``field`` in a ``kind`` table.

    >>> column_name("id_number", "公民身份号码", "pinyin")
    'sfzh'
    >>> column_name("id_number", "公民身份号码", "as_delivered")
    '公民身份号码'
    >>> column_name("name", "企业名称", "pinyin", "enterprise")
    'qymc'
    """
    names = _KIND_NAMES.get((kind, field)) or _NAMES.get(field)
    if style == "as_delivered" or names is None:
        return original
    return names[_STYLE_INDEX[style]]


def _numerals(number: int, width: int = 0) -> str:
    """Digits read one by one, as years are (2026 → 二〇二六), or as a count (12 → 十二)."""
    if width:
        return "".join(_DIGITS[int(d)] for d in f"{number:0{width}d}")
    tens, ones = divmod(number, 10)
    return ("" if tens == 0 else ("" if tens == 1 else _DIGITS[tens]) + "十") + (
        _DIGITS[ones] if ones or not tens else ""
    )


def render_date(day: dt.date, style: DateStyle, field: str) -> str:
    """``day`` written in ``style`` (month-only styles keep the day where it matters).

    >>> d = dt.date(2026, 9, 5)
    >>> render_date(d, "chinese_numerals", "birth_date")
    '二〇二六年九月五日'
    >>> render_date(d, "month_chinese", "residence_since"), render_date(d, "excel_serial", "x")
    ('2026年9月', '46270')
    """
    if style in ("month_chinese", "month_compact") and field in MONTH_FIELDS:
        return f"{day.year}年{day.month}月" if style == "month_chinese" else f"{day:%Y%m}"
    forms: dict[str, Callable[[dt.date], str]] = {
        "iso": lambda d: d.isoformat(),
        "compact": lambda d: f"{d:%Y%m%d}",
        "slash": lambda d: f"{d.year}/{d.month}/{d.day}",
        "dotted": lambda d: f"{d.year}.{d.month}.{d.day}",
        "chinese": lambda d: f"{d.year}年{d.month}月{d.day}日",
        "chinese_numerals": lambda d: (
            f"{_numerals(d.year, 4)}年{_numerals(d.month)}月{_numerals(d.day)}日"
        ),
        "datetime": lambda d: f"{d.isoformat()} 00:00:00",
        "excel_serial": lambda d: str((d - _EXCEL_EPOCH).days),
        "month_chinese": lambda d: f"{d.year}年{d.month}月{d.day}日",
        "month_compact": lambda d: f"{d:%Y%m%d}",
    }
    return forms[style](day)


def _read_dates(values: pd.Series) -> pd.Series:
    """The sample's own date texts as dates (NaT where a text is no date)."""
    text = values.astype("string").str.strip()
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[s]")
    for form in _READ_FORMATS:
        missing = out.isna() & text.notna()
        if not missing.any():
            break
        out[missing] = pd.to_datetime(text[missing], format=form, errors="coerce")
    return out


def rewrite_dates(values: pd.Series, style: DateStyle, field: str) -> pd.Series:
    """Each date of ``values`` in ``style``; a text that is no date is left as it was."""
    if style == "as_delivered":
        return values
    read = _read_dates(values)
    out = values.astype(object).where(values.notna(), None)
    known = read.notna().to_numpy()
    days = read[known].dt.date
    # Few distinct dates: render each once.
    rendered = {d: render_date(d, style, field) for d in set(days)}
    out[known] = np.array([rendered[d] for d in days], dtype=object)
    return out


@dataclass(frozen=True)
class TableLayout:
    """How a table's file is laid out."""

    file_format: FileFormat = "csv"
    encoding: str = "utf-8"
    header: HeaderStyle = "plain"

    @property
    def skip_rows(self) -> int:
        """Title rows above the header."""
        return 1 if self.header == "title" else 0

    @property
    def header_rows(self) -> int:
        """Rows the header spans."""
        return 2 if self.header == "grouped" else 1

    @property
    def suffix(self) -> str:
        """The file's suffix."""
        return f".{self.file_format}"


def _groups(columns: list[str], mapped: set[str]) -> list[list[str]]:
    """A two-row header: the mapped columns under 主要信息, the rest under 其他信息."""
    top, seen = [], set()
    for column in columns:
        group = "主要信息" if column in mapped else "其他信息"
        top.append("" if group in seen else group)
        seen.add(group)
    return [top, columns]


def write_table(
    frame: pd.DataFrame, path: Path, layout: TableLayout, title: str, mapped: set[str]
) -> Path:
    """Write ``frame`` (text cells) at ``path`` with ``layout``'s suffix; return the path.

    With a grouped header, the mapped columns come first, under one group label.
    """
    path = path.with_suffix(layout.suffix)
    # Text cells, None where empty, whatever dtypes the frame was read with.
    frame = frame.astype(object).where(frame.notna(), None)
    columns = list(frame.columns)
    if layout.header == "grouped":
        columns = [c for c in columns if c in mapped] + [c for c in columns if c not in mapped]
        frame = frame[columns]
    if layout.file_format == "parquet":
        table = pa.table({c: pa.array(frame[c].astype(object), pa.string()) for c in columns})
        pq.write_table(table, path)
        return path
    header = _groups(columns, mapped) if layout.header == "grouped" else [columns]
    titles = [title] if layout.header == "title" else []
    if layout.file_format == "xlsx":
        values = frame.to_numpy(dtype=object)
        sheet = Sheet(name="数据", rows=values.tolist(), header=header, title_rows=titles)
        write_xlsx(path, [sheet])
        return path
    body = csv_bytes(frame, header=False, encoding=layout.encoding)
    head = "".join(
        ",".join(_quoted(c) for c in row) + "\n" for row in [*([t] for t in titles), *header]
    )
    bom = b"\xef\xbb\xbf" if layout.encoding == "utf-8-sig" else b""
    encoding = "utf-8" if layout.encoding == "utf-8-sig" else layout.encoding
    path.write_bytes(bom + head.encode(encoding) + body)
    return path


def _quoted(cell: str) -> str:
    if re.search(r'[,"\n]', cell):
        return '"' + cell.replace('"', '""') + '"'
    return cell
