"""A fast, minimal XLSX writer for tables of a million rows.

openpyxl and xlsxwriter build one object per cell and write a million-row sheet in
minutes. This writer streams the sheet XML into the zip entry in chunks of rows, writes
every string as an inline string (no shared-string table to hold in memory) and deflates
at level 1, which is what keeps it fast: most of the time goes into formatting XML text.

A sheet may carry title rows (one text cell each, merged across the table) and one or
more header rows, where a group label followed by empty cells becomes a merged cell over
that span, the way department ledgers group fields under "基本信息" or "联系方式".
"""

from __future__ import annotations

import io
import math
import os
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import BinaryIO, cast

from popbase.io.gc_pause import gc_paused
from popbase.io.headers import header_merges

Cell = str | int | float | None

EXCEL_MAX_ROWS = 1_048_576
EXCEL_MAX_COLUMNS = 16_384
EXCEL_MAX_CELL_CHARS = 32_767
_CHUNK_ROWS = 5_000
# Beyond 2 GiB of sheet XML a zip entry needs ZIP64, which must be chosen before the
# entry is written, and Excel is picky about ZIP64: use it only when the first chunk's
# size, extrapolated with a margin, says the sheet may need it.
_ZIP64_BYTES = 2**31 - 1
_ZIP64_MARGIN = 2

# XML 1.0 forbids most C0 controls and U+FFFE/U+FFFF; markup characters need escaping, and
# a carriage return survives XML parsing only as a character reference.
_FORBIDDEN = "".join(chr(c) for c in range(32) if c not in (9, 10, 13)) + "\ufffe\uffff"
_ESCAPES = {ord(c): None for c in _FORBIDDEN} | {
    ord("&"): "&amp;",
    ord("<"): "&lt;",
    ord(">"): "&gt;",
    ord("\r"): "&#13;",
}
# _needs_care() tests a column of a chunk in two byte-level passes over its values joined by
# NUL: delete what needs escaping or removing (controls but tab and newline; markup; CR)
# and see whether the length changed, then map XML whitespace to \x01 and look for it
# next to a separator (a value with whitespace at an edge needs xml:space="preserve").
_CARE_DELETE = bytes(c for c in range(1, 32) if c not in (9, 10)) + b"&<>"
_WHITESPACE_TO_01 = bytes.maketrans(b" \t\n", b"\x01\x01\x01")
_SHEET_NAME_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")

_NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
_NS_R = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_STYLE_HEADER = 1
_STYLE_TITLE = 2
_STYLES = f"""{_HEAD}<styleSheet {_NS}>
<fonts count="3"><font><sz val="11"/><name val="等线"/><family val="2"/><charset val="134"/></font>
<font><b/><sz val="11"/><name val="等线"/><family val="2"/><charset val="134"/></font>
<font><b/><sz val="14"/><name val="等线"/><family val="2"/><charset val="134"/></font></fonts>
<fills count="2"><fill><patternFill patternType="none"/></fill>
<fill><patternFill patternType="gray125"/></fill></fills>
<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>
<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>
<cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>
<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1" applyAlignment="1">\
<alignment horizontal="center" vertical="center" wrapText="1"/></xf>
<xf numFmtId="0" fontId="2" fillId="0" borderId="0" xfId="0" applyFont="1" applyAlignment="1">\
<alignment horizontal="center" vertical="center"/></xf></cellXfs>
<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>
</styleSheet>"""
_ROOT_RELS = f"""{_HEAD}<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">\
<Relationship Id="rId1" \
Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" \
Target="xl/workbook.xml"/></Relationships>"""


@dataclass(frozen=True)
class Sheet:
    """One worksheet to write.

    Parameters
    ----------
    name
        Sheet name: at most 31 characters, none of ``[ ] : * ? /`` or a backslash.
    rows
        Data rows, consumed once while writing; cells are ``str``, ``int``, ``float``
        or ``None`` (an empty cell). Other values are written as their ``str``. Text
        longer than Excel's limit of 32,767 characters is cut to it, and characters
        XML cannot hold (most control characters) are dropped.
    header
        Header rows. In every row but the last, a label followed by ``""`` cells is
        merged over that span (within its parent group), and a label with only ``""``
        below it is merged down to the last header row.
    title_rows
        Text lines above the header, each one cell merged across the table's width.
    column_widths
        Widths in Excel character units, from column A on.
    """

    name: str
    rows: Iterable[Sequence[Cell]]
    header: list[list[str]] = field(default_factory=list)
    title_rows: list[str] = field(default_factory=list)
    column_widths: list[float] | None = None


def column_letter(index: int) -> str:
    """Return the Excel letters of a 0-based column index (0 → ``A``, 26 → ``AA``)."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _ref(r0: int, c0: int, r1: int, c1: int) -> str:
    return f"{column_letter(c0)}{r0 + 1}:{column_letter(c1)}{r1 + 1}"


def _escape(value: str) -> str:
    """Cut a string to Excel's cell limit, escape it and drop what XML forbids."""
    return value[:EXCEL_MAX_CELL_CHARS].translate(_ESCAPES)


def _text(value: str) -> str:
    """Escape one string as the ``<t>`` element of an inline-string cell."""
    text = _escape(value)
    if text[:1].isspace() or text[-1:].isspace():
        return f'<t xml:space="preserve">{text}</t>'
    return f"<t>{text}</t>"


def _cell(ref: str, value: object) -> str:
    """Format one cell of any type; the slow path, used for columns of mixed types."""
    if value is None or (isinstance(value, str) and not value):
        return ""
    if isinstance(value, bool):
        return f'<c r="{ref}" t="b"><v>{int(value)}</v></c>'
    if isinstance(value, int):
        return f'<c r="{ref}"><v>{value}</v></c>'
    if isinstance(value, float):
        return f'<c r="{ref}"><v>{value!r}</v></c>' if math.isfinite(value) else ""
    text = _text(str(value))
    return f'<c r="{ref}" t="inlineStr"><is>{text}</is></c>' if text != "<t></t>" else ""


def _needs_care(texts: list[str]) -> bool:
    """Tell whether any of ``texts`` needs escaping, cleaning, cutting or preserved space."""
    if max(map(len, texts), default=0) > EXCEL_MAX_CELL_CHARS:
        return True
    joined = "\0".join(texts).encode("utf-8", "surrogatepass")
    if len(joined.translate(None, _CARE_DELETE)) != len(joined) or b"\xef\xbf\xbe" in joined:
        return True
    if b"\xef\xbf\xbf" in joined or joined.count(b"\0") != max(len(texts) - 1, 0):
        return True  # U+FFFE/U+FFFF, or a NUL inside a value
    marked = joined.translate(_WHITESPACE_TO_01)
    return b"\x01\0" in marked or b"\0\x01" in marked or b"\x01" in marked[:1] + marked[-1:]


# Each column of a chunk becomes a fragment of the chunk's row template that consumes two
# arguments, the row number and the cell's text; an empty cell's text is "", and the
# fragment's "empty" form is then rewritten to a bare ``<c r=".."/>``.
_EMPTY_FORMS = {
    "str": b'" t="inlineStr"><is><t></t></is></c>',
    "text": b'" t="inlineStr"><is><t xml:space="preserve"></t></is></c>',
    "num": b'"><v></v></c>',
    "bool": b'" t="b"><v></v></c>',
}


def _column_fragment(
    letter: str, values: Sequence[object], numbers: list[str]
) -> tuple[str, Sequence[object], str]:
    """Return a column's template fragment, its cells' texts, and its kind.

    The fast paths format nothing per cell beyond what ``%`` formatting does in C; only
    columns of mixed types, or strings that need escaping, touch each cell in Python.
    """
    kinds = set(map(type, values)) - {type(None)}
    if len(kinds) == 1 and not kinds <= {str, int, float, bool}:
        # One other type, such as dates: write each value's text.
        values = [None if v is None else str(v) for v in values]
        kinds = {str}
    ref = f'<c r="{letter}%s'
    if kinds <= {str}:
        texts = cast("list[str]", [v for v in values if v])
        if not _needs_care(texts):
            cells = values if len(texts) == len(values) else [v or "" for v in values]
            return f'{ref}" t="inlineStr"><is><t>%s</t></is></c>', cells, "str"
        cells = [_escape(cast(str, v)) if v else "" for v in values]
        return f'{ref}" t="inlineStr"><is><t xml:space="preserve">%s</t></is></c>', cells, "text"
    if kinds <= {int, float}:
        numbers_only = cast("Sequence[float | None]", values)
        cells = ["" if v is None or not math.isfinite(v) else v for v in numbers_only]
        return f'{ref}"><v>%s</v></c>', cells, "num"
    if kinds <= {bool}:
        cells = ["" if v is None else int(cast(bool, v)) for v in values]
        return f'{ref}" t="b"><v>%s</v></c>', cells, "bool"
    cells = [_cell(f"{letter}{n}", v) for n, v in zip(numbers, values, strict=True)]
    return "%.0s%s", cells, "mixed"


def _rows_xml(rows: list[Sequence[Cell]], first: int, letters: list[str]) -> bytes:
    """Return the ``<row>`` elements of a chunk of rows, the first numbered ``first``."""
    width = max(map(len, rows))
    if width > len(letters):
        raise ValueError(f"a row has {width} cells, more than Excel's {EXCEL_MAX_COLUMNS}")
    if all(len(r) == width for r in rows):
        columns: list[Sequence[object]] = list(zip(*rows, strict=True))
    else:
        columns = [[r[j] if j < len(r) else None for r in rows] for j in range(width)]
    numbers = [str(n) for n in range(first, first + len(rows))]
    template = ['<row r="%s">']
    arguments: list[Iterable[object]] = [numbers]
    kinds = set()
    for letter, values in zip(letters, columns, strict=False):
        fragment, cells, kind = _column_fragment(letter, values, numbers)
        template.append(fragment)
        arguments += [numbers, cells]
        kinds.add(kind)
    template.append("</row>")
    pattern = "".join(template)
    xml = "".join([pattern % args for args in zip(*arguments, strict=True)])
    # Replacing in UTF-8 bytes is several times faster than in a str that holds a
    # character beyond the BMP (such as 𠮷), which Python stores with 4 bytes each.
    block = xml.encode("utf-8", "replace")
    for kind in kinds & _EMPTY_FORMS.keys():
        block = block.replace(_EMPTY_FORMS[kind], b'"/>')
    return block


def _check_name(name: str, seen: set[str]) -> None:
    problem = ""
    if not name or len(name) > 31:
        problem = "must have 1 to 31 characters"
    elif _SHEET_NAME_FORBIDDEN.search(name):
        problem = "must not contain any of []:*?/\\"
    elif name.startswith("'") or name.endswith("'"):
        problem = "must not start or end with an apostrophe"
    elif name.casefold() in seen:
        problem = "is used twice (Excel ignores case)"
    if problem:
        raise ValueError(f"sheet name {name!r} {problem}; choose another name")
    seen.add(name.casefold())


def _sheet_head(sheet: Sheet, top: int, selected: bool) -> str:
    """Return the sheet XML up to and including ``<sheetData>``."""
    pane = (
        f'<pane ySplit="{top}" topLeftCell="A{top + 1}" activePane="bottomLeft" state="frozen"/>'
        if sheet.header
        else ""
    )
    selected_attr = ' tabSelected="1"' if selected else ""
    parts = [
        f"{_HEAD}<worksheet {_NS} {_NS_R}>",
        f'<sheetViews><sheetView workbookViewId="0"{selected_attr}>',
        f"{pane}</sheetView></sheetViews>",
        '<sheetFormatPr defaultRowHeight="15"/>',
    ]
    if sheet.column_widths:
        parts.append("<cols>")
        parts += [
            f'<col min="{i}" max="{i}" width="{w:g}" customWidth="1"/>'
            for i, w in enumerate(sheet.column_widths, start=1)
        ]
        parts.append("</cols>")
    parts.append("<sheetData>")
    return "".join(parts)


def _top_rows(sheet: Sheet, width: int) -> tuple[str, list[tuple[int, int, int, int]]]:
    """Return the title and header rows' XML and every merged range of the sheet."""
    parts: list[str] = []
    merges: list[tuple[int, int, int, int]] = []
    for r, title in enumerate(sheet.title_rows):
        parts.append(f'<row r="{r + 1}"><c r="A{r + 1}" s="{_STYLE_TITLE}" t="inlineStr">')
        parts.append(f"<is>{_text(title)}</is></c></row>")
        if width > 1:
            merges.append((r, 0, r, width - 1))
    top = len(sheet.title_rows)
    for r, row in enumerate(sheet.header, start=top + 1):
        style = f's="{_STYLE_HEADER}" t="inlineStr"'
        cells = "".join(
            f'<c r="{column_letter(c)}{r}" {style}><is>{_text(v)}</is></c>'
            for c, v in enumerate(row)
            if v
        )
        parts.append(f'<row r="{r}">{cells}</row>')
    merges += [(r0 + top, c0, r1 + top, c1) for r0, c0, r1, c1 in header_merges(sheet.header)]
    return "".join(parts), merges


def _chunks(rows: Iterable[Sequence[Cell]]) -> Iterator[list[Sequence[Cell]]]:
    it = iter(rows)
    while chunk := list(islice(it, _CHUNK_ROWS)):
        yield chunk


def _write_sheet(archive: zipfile.ZipFile, index: int, sheet: Sheet) -> None:
    widths = [len(r) for r in sheet.header] + [len(sheet.column_widths or ())]
    width = max([*widths, 1 if sheet.title_rows else 0])
    top = len(sheet.title_rows) + len(sheet.header)
    letters = [column_letter(i) for i in range(EXCEL_MAX_COLUMNS)]
    top_xml, merges = _top_rows(sheet, width)
    head = (_sheet_head(sheet, top, index == 1) + top_xml).encode()
    chunks = _chunks(sheet.rows)
    first = next(chunks, [])
    first_xml = _rows_xml(first, top + 1, letters) if first else b""
    rows_left = len(sheet.rows) if isinstance(sheet.rows, Sequence) else EXCEL_MAX_ROWS - top
    estimate = len(head) + len(first_xml) / max(len(first), 1) * rows_left * _ZIP64_MARGIN
    name = f"xl/worksheets/sheet{index}.xml"
    with (
        archive.open(name, "w", force_zip64=estimate > _ZIP64_BYTES) as out,
        ThreadPoolExecutor(1, thread_name_prefix="xlsx-deflate") as deflate,
    ):
        # Deflating releases the GIL: compress one chunk while the next is formatted.
        pending: list[Future[int]] = [deflate.submit(out.write, head + first_xml)]
        next_row = top + 1 + len(first)
        for chunk in chunks:
            if next_row + len(chunk) - 1 > EXCEL_MAX_ROWS:
                raise ValueError(
                    f"sheet {sheet.name!r} has more than {EXCEL_MAX_ROWS:,} rows, Excel's "
                    "limit; split the rows across several sheets"
                )
            block = _rows_xml(chunk, next_row, letters)
            next_row += len(chunk)
            pending.append(deflate.submit(out.write, block))
            if len(pending) > 2:
                pending.pop(0).result()
        for future in pending:
            future.result()
        tail = "</sheetData>"
        if merges:
            refs = "".join(f'<mergeCell ref="{_ref(*m)}"/>' for m in merges)
            tail += f'<mergeCells count="{len(merges)}">{refs}</mergeCells>'
        out.write(f"{tail}</worksheet>".encode())


def _package_parts(names: list[str]) -> dict[str, str]:
    """Return the workbook's fixed parts: content types, relationships, workbook, styles."""
    n = len(names)
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        for i in range(1, n + 1)
    )
    types = (
        f'{_HEAD}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/styles.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        f"{overrides}</Types>"
    )
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    workbook_rels = (
        f'{_HEAD}<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        + "".join(
            f'<Relationship Id="rId{i}" Type="{rel}/worksheet" Target="worksheets/sheet{i}.xml"/>'
            for i in range(1, n + 1)
        )
        + f'<Relationship Id="rId{n + 1}" Type="{rel}/styles" Target="styles.xml"/>'
        + "</Relationships>"
    )
    sheets = "".join(
        f'<sheet name="{name.translate(_ESCAPES).replace(chr(34), "&quot;")}" sheetId="{i}" '
        f'r:id="rId{i}"/>'
        for i, name in enumerate(names, start=1)
    )
    workbook = (
        f"{_HEAD}<workbook {_NS} {_NS_R}><bookViews><workbookView/></bookViews>"
        f"<sheets>{sheets}</sheets></workbook>"
    )
    return {
        "[Content_Types].xml": types,
        "_rels/.rels": _ROOT_RELS,
        "xl/workbook.xml": workbook,
        "xl/_rels/workbook.xml.rels": workbook_rels,
        "xl/styles.xml": _STYLES,
    }


def _check_sheets(sheets: list[Sheet]) -> None:
    if not sheets:
        raise ValueError("a workbook needs at least one sheet; pass a Sheet with no rows")
    seen: set[str] = set()
    for sheet in sheets:
        _check_name(sheet.name, seen)


def _write_workbook(target: Path | BinaryIO, sheets: list[Sheet]) -> None:
    """Write the package parts and the sheets into a zip at ``target`` (a path or a file)."""
    with (
        gc_paused(),
        zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive,
    ):
        for part, xml in _package_parts([s.name for s in sheets]).items():
            # A fixed date keeps the bytes of a workbook independent of when it was written.
            info = zipfile.ZipInfo(part, date_time=(1980, 1, 1, 0, 0, 0))
            archive.writestr(info, xml, compress_type=zipfile.ZIP_DEFLATED, compresslevel=1)
        for index, sheet in enumerate(sheets, start=1):
            _write_sheet(archive, index, sheet)


def write_xlsx(path: Path | str, sheets: list[Sheet]) -> None:
    """Write sheets to an XLSX workbook, streaming rows.

    The file appears at ``path`` only when complete: it is written next to it under a
    temporary name and renamed at the end, so a failed write leaves no half workbook.

    Parameters
    ----------
    path
        The workbook to write; replaced if it exists.
    sheets
        The sheets, in order; the first is the one shown when the file opens.

    Raises
    ------
    ValueError
        A sheet name Excel rejects, a sheet with more than 1,048,576 rows or a row with
        more than 16,384 cells.
    """
    path = Path(path)
    _check_sheets(sheets)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        _write_workbook(tmp, sheets)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def xlsx_bytes(sheets: list[Sheet]) -> bytes:
    """The bytes of an XLSX workbook of ``sheets``, made in memory (nothing touches disk).

    For answers that must not leave a copy behind, such as an API's extracts; the sheets
    are checked as by :func:`write_xlsx`.

    Raises
    ------
    ValueError
        As :func:`write_xlsx`.
    """
    _check_sheets(sheets)
    buffer = io.BytesIO()
    _write_workbook(buffer, sheets)
    return buffer.getvalue()
