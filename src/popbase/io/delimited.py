"""Read CSV and TSV files fast with pyarrow, in any of the departments' encodings.

``pyarrow.csv`` parses on all cores with every column typed as string; a GB18030 (or
any non-UTF-8) file is transcoded to UTF-8 in a stream as it is read. With ``auto``, a
file whose head is UTF-8 is read as UTF-8 (pyarrow validates every byte); should that
fail further in, or the head not be UTF-8, the file is detected as GB18030 or rejected
with the offset and line of the first bad byte.

Rows are numbered as Excel numbers them when it opens the file: by record, counting
title, header and blank rows, so a quoted line break does not start a new row.
Malformed rows (a wrong number of fields) are set aside with their numbers; pyarrow
numbers them only when reading in one thread, so a file with malformed rows is read a
second time. An unclosed quote, which swallows the rest of the file, is located and
reported instead.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections import Counter
from pathlib import Path
from typing import Literal, NamedTuple, NoReturn

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.csv as pa_csv

from popbase.errors import EmptyFileError, SourceFileError
from popbase.io.encoding import canonical_encoding, check_encoding, detect_encoding
from popbase.io.headers import flatten_header

_HEAD_BYTES = 1 << 16
_SAMPLE_ROWS = 200
_BLOCK_BYTES = 1 << 23
# The largest block tried for a record longer than a block (then: an unclosed quote).
_MAX_BLOCK_BYTES = 1 << 29
# A malformed row whose text spans more lines than this swallowed rows: an unclosed quote.
_MAX_VALUE_LINES = 20


def _head_records(path: Path, encoding: str, delimiter: str, count: int) -> list[list[str]]:
    """Parse the first ``count`` records (and a sample after them) with the csv module."""
    size = _HEAD_BYTES
    while True:
        with open(path, "rb") as file:
            head = file.read(size)
        at_end = len(head) < size
        text = codecs.getincrementaldecoder(encoding)("replace").decode(head, final=at_end)
        if not at_end:
            text = text[: text.rfind("\n") + 1]  # the last line may be cut
        records, cut = _sample_records(text, delimiter)
        if at_end or cut or len(records) > count + _SAMPLE_ROWS:
            if len(records) < count and cut:
                raise SourceFileError(
                    path,
                    f"record {len(records) + 1}, above the data, has a field longer than "
                    f"{csv.field_size_limit():,} characters",
                    "check `skip_rows:`/`header_rows:` for this source in popbase.yaml, or "
                    "re-export the file",
                )
            return records[: count + _SAMPLE_ROWS]
        size *= 4


def _no_header(path: Path, encoding: str, skip_rows: int, width: int) -> None:
    """Raise why a file shows no header: it is empty, or every line is skipped.

    Called when its first records are blank or absent; a file that only begins with blank
    lines is read on.
    """
    data = path.read_bytes()
    text = data.decode(encoding, "replace").lstrip("\ufeff")
    if not text.strip():
        raise EmptyFileError(path, f"{len(data):,} bytes, all blank" if data else "0 bytes")
    if width:
        return
    raise SourceFileError(
        path,
        f"has no header row: all its lines lie among the {skip_rows} rows skipped above it",
        "lower `skip_rows:` for this source in popbase.yaml",
    )


def _sample_records(text: str, delimiter: str) -> tuple[list[list[str]], bool]:
    """Parse ``text`` into records, up to one with a field too long for the csv module.

    Such a field (a pasted document, a broken export) is no header and needs no sample:
    the records before it are returned, with True. pyarrow reads the whole file, long
    fields included, and ingest sets their rows aside (``value_too_long``).
    """
    records: list[list[str]] = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        for record in reader:
            records.append(record)
    except csv.Error as exc:
        if "field larger than field limit" not in str(exc):
            raise
        return records, True
    return records, False


def _arrow_csv(
    path: Path, encoding: str, delimiter: str, skip: int, width: int, threads: bool
) -> tuple[pa.Table, list[tuple[int | None, str, int]]]:
    """Read data records as strings; malformed ones go to the returned list.

    A record longer than a block (a pasted document, a broken export) is read again with
    larger blocks, up to ``_MAX_BLOCK_BYTES``: ingest then sets its row aside
    (``value_too_long``) instead of losing the whole file.
    """
    block = _BLOCK_BYTES
    while True:
        try:
            return _arrow_csv_blocks(path, encoding, delimiter, skip, width, threads, block)
        except pa.ArrowInvalid as exc:
            if "straddling" not in str(exc) or block >= _MAX_BLOCK_BYTES:
                raise
            block *= 8


def _arrow_csv_blocks(
    path: Path, encoding: str, delimiter: str, skip: int, width: int, threads: bool, block: int
) -> tuple[pa.Table, list[tuple[int | None, str, int]]]:
    bad: list[tuple[int | None, str, int]] = []

    def set_aside(row: pa_csv.InvalidRow) -> str:
        bad.append((row.number, row.text, row.actual_columns))
        return "skip"

    names = [f"f{i}" for i in range(width)]
    arrow_encoding = "utf8" if encoding.startswith("utf-8") else encoding
    table = pa_csv.read_csv(
        path,
        read_options=pa_csv.ReadOptions(
            use_threads=threads,
            block_size=block,
            skip_rows=skip,
            column_names=names,
            encoding=arrow_encoding,
        ),
        parse_options=pa_csv.ParseOptions(
            delimiter=delimiter,
            newlines_in_values=True,
            ignore_empty_lines=False,
            invalid_row_handler=set_aside,
        ),
        convert_options=pa_csv.ConvertOptions(
            column_types=dict.fromkeys(names, pa.string()),
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
            null_values=[""],
        ),
    )
    return table, bad


def _csv_width(header: list[list[str]], sample: list[list[str]]) -> int:
    """Return the number of fields per record, following the data where they differ.

    Some exports end every data row with a delimiter but not the header, others the
    header only. The data's usual width wins over the header's, as long as it keeps
    every named header column: the extra empty column is dropped later, instead of
    every row counting as malformed.
    """
    width = max((len(r) for r in header), default=0)
    named = max((i + 1 for r in header for i, v in enumerate(r) if v.strip()), default=0)
    widths = Counter(len(r) for r in sample if r)
    if widths:
        width = max(named, widths.most_common(1)[0][0])
    return width


def _read_arrow_csv(
    path: Path, encoding: str, auto: bool, delimiter: str, skip: int, width: int
) -> tuple[pa.Table, list[tuple[int | None, str, int]], str]:
    """Read with pyarrow; when ``auto``, fall back from UTF-8 to GB18030 if it fails.

    Returns the table, the malformed rows and the encoding that read the file. Decoding
    is strict: on a bad byte the file is scanned to name its offset and line.
    """
    problem = ""
    try:
        table, bad = _arrow_csv(path, encoding, delimiter, skip, width, threads=True)
    except pa.ArrowInvalid as exc:
        if "invalid UTF8" not in str(exc):
            _raise_unclosed_quote(path, encoding, str(exc))
        problem = str(exc)
    except UnicodeDecodeError as exc:  # raised by the transcoder of a non-UTF-8 encoding
        problem = str(exc)
    if problem:
        # Find the first bad byte for the message, outside the except blocks so the
        # error carries no misleading context; the checks raise.
        detected = encoding
        if auto:  # raises, unless a UTF-8 guess broke after the head: then GB18030
            detected = detect_encoding(path)
        else:
            check_encoding(path, encoding)
        if detected == encoding:  # Python and pyarrow disagree; not seen so far
            raise SourceFileError(
                path, f"cannot be read as {encoding} ({problem})", "re-export the file as UTF-8"
            )
        encoding = detected
        table, bad = _arrow_csv(path, encoding, delimiter, skip, width, threads=True)
    if bad:  # the multithreaded reader does not number rows; read again in one thread
        table, bad = _arrow_csv(path, encoding, delimiter, skip, width, threads=False)
        if any(text.count("\n") > _MAX_VALUE_LINES for _, text, _ in bad):
            _raise_unclosed_quote(path, encoding, "a malformed row spans many lines")
    return table, bad, encoding


def _raise_unclosed_quote(path: Path, encoding: str, problem: str) -> NoReturn:
    """Raise naming the record whose quote runs longest, the likely unclosed one.

    An unclosed quote swallows every following line into one value, up to the next
    stray quote or the end of the file. Quote parity per line finds where it starts;
    the byte 0x22 never occurs inside a UTF-8 or GB18030 multibyte character.
    """
    record, span, longest = 1, 0, (0, 0, b"")
    first_line = b""
    inside = False
    with open(path, "rb") as file:
        for line in file:
            if not inside:
                first_line = line
            if line.count(b'"') % 2:
                inside = not inside
            span += 1
            if span > longest[1]:
                longest = (record, span, first_line)
            if not inside:
                record, span = record + 1, 0
    number, lines, text = longest
    if lines <= 1:
        raise SourceFileError(path, f"cannot be parsed as CSV ({problem})", _CSV_FIX)
    shown = text.decode(encoding, "replace").rstrip("\r\n")[:120]
    raise SourceFileError(
        path,
        f'row {number} opens a quote (") that runs over {lines:,} lines, to the next stray '
        f"quote or the end of the file: {shown!r}",
        "close or remove the quote in that row and deliver the file again",
    )


_CSV_FIX = (
    'open the file in a text editor at that row: look for an unclosed quote (") or an '
    "extra delimiter, correct it and deliver the file again"
)


def _guess_encoding(path: Path) -> str:
    """Guess from the file's head: a UTF-8 BOM, else UTF-8 unless the head is not."""
    with open(path, "rb") as file:
        head = file.read(_HEAD_BYTES)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        codecs.getincrementaldecoder("utf-8")("strict").decode(head, final=False)
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8"


class DelimitedRead(NamedTuple):
    """What :func:`read_delimited` read, before cleaning."""

    names: list[str]
    columns: list[pa.ChunkedArray]
    row_numbers: npt.NDArray[np.int64]
    encoding: str
    bad_rows: list[tuple[int, str]]


def read_delimited(
    path: Path,
    delimiter: str = ",",
    encoding: str = "auto",
    skip_rows: int = 0,
    header_rows: int = 1,
    errors: Literal["quarantine", "raise"] = "quarantine",
) -> DelimitedRead:
    """Read a CSV or TSV file's header and data as strings.

    Parameters
    ----------
    path
        The file.
    delimiter
        ``","``, or a tab for TSV.
    encoding
        ``"auto"`` (UTF-8 with or without BOM, else GB18030), or a name used strictly.
    skip_rows
        Records above the header.
    header_rows
        Records flattened into the header names.
    errors
        ``"quarantine"`` returns malformed rows in ``bad_rows``; ``"raise"`` raises.

    Returns
    -------
    DelimitedRead
        Flattened header names, one string column per field, each row's record number,
        the encoding read and the malformed rows.

    Raises
    ------
    SourceFileError
        Unknown encoding; an unclosed quote; a malformed row with ``errors="raise"``.
    UndecodableFileError
        The file is not valid text in its encoding.
    """
    auto = encoding == "auto"
    if auto:
        encoding = _guess_encoding(path)
    else:
        try:
            encoding = canonical_encoding(encoding)
        except LookupError:
            raise SourceFileError(
                path,
                f"the encoding {encoding!r} is unknown",
                "set `encoding:` to auto, utf-8, gbk or gb18030 for this source in popbase.yaml",
            ) from None
    records = _head_records(path, encoding, delimiter, skip_rows + header_rows)
    header = records[skip_rows : skip_rows + header_rows]
    width = _csv_width(header, records[skip_rows + header_rows :])
    skip = skip_rows + header_rows
    if width == 0 or not any(v.strip() for r in records for v in r):
        _no_header(path, encoding, skip_rows, width)
    table, bad, used = _read_arrow_csv(path, encoding, auto, delimiter, skip, width)
    if errors == "raise" and bad:
        number, text, fields = bad[0]
        more = f" ({len(bad) - 1} more malformed rows follow)" if len(bad) > 1 else ""
        raise SourceFileError(
            path,
            f"row {number} has {fields} fields where the header has {width}: {text[:120]!r}{more}",
            _CSV_FIX,
        )
    first = skip + 1
    numbers = np.arange(first, first + table.num_rows + len(bad), dtype=np.int64)
    if bad:
        keep = np.ones(len(numbers), dtype=bool)
        keep[[int(n or 0) - first for n, _, _ in bad]] = False
        numbers = numbers[keep]
    padded = [[v.strip() for v in r][:width] + [""] * (width - len(r)) for r in header]
    names = flatten_header(padded or [[""] * width])
    bad_rows = [(int(n or 0), text) for n, text, _ in bad]
    return DelimitedRead(names, table.columns, numbers, used, bad_rows)
