"""Detect and check the text encoding of department CSV files.

Departments deliver CSV in UTF-8, UTF-8 with a byte-order mark, GBK or GB18030. GB18030
is a superset of GBK and GB2312, so one decoder reads all three. The order of the tests
matters: a GB decoder accepts most UTF-8 bytes and silently turns them into the wrong
characters, while UTF-8 rejects almost every GB file at its first Chinese character. So
UTF-8 is tried first, strictly, on the **whole** file, and GB18030 only when it fails.

Files are streamed in chunks through incremental decoders, which carry a character split
across two chunks over to the next, so a chunk boundary never looks like a bad byte.
"""

from __future__ import annotations

import codecs
from pathlib import Path

from popbase.errors import UndecodableFileError

DETECTED_ENCODINGS = ("utf-8-sig", "utf-8", "gb18030")
"""What :func:`detect_encoding` may return."""

CHUNK_BYTES = 1 << 23
_UTF8_BOM = codecs.BOM_UTF8
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_UTF16_FIX = (
    "the file starts with a UTF-16 byte-order mark (Excel's 'Unicode Text' export); set "
    "`encoding: utf-16` for this source in popbase.yaml, or re-export the file as UTF-8"
)


def canonical_encoding(name: str) -> str:
    """Return Python's canonical name of an encoding (``"GBK"`` → ``"gbk"``).

    Parameters
    ----------
    name
        Any name or alias Python knows, such as ``utf8``, ``UTF-8-SIG``, ``cp936``.

    Raises
    ------
    LookupError
        When Python knows no such encoding.
    """
    return codecs.lookup(name).name


def first_undecodable(
    path: Path | str, encoding: str, chunk_bytes: int = CHUNK_BYTES
) -> int | None:
    """Return the byte offset of the first byte ``encoding`` cannot decode, or ``None``.

    Parameters
    ----------
    path
        The file, read in chunks.
    encoding
        The encoding to test, strictly.
    chunk_bytes
        Size of each chunk read.

    Returns
    -------
    int or None
        The 0-based offset of the first bad byte, or ``None`` when the whole file decodes.
    """
    encoding = canonical_encoding(encoding)
    offset = 0
    with open(path, "rb") as file:
        if encoding == "utf-8-sig":
            # The BOM-aware decoder reports offsets past the BOM; skip it ourselves.
            encoding = "utf-8"
            offset = len(_UTF8_BOM) if file.read(len(_UTF8_BOM)) == _UTF8_BOM else 0
            file.seek(offset)
        decoder = codecs.getincrementaldecoder(encoding)("strict")
        while True:
            chunk = file.read(chunk_bytes)
            # Bytes held back from the previous chunk (an unfinished character) are
            # decoded first; the error's start counts from them.
            held = decoder.getstate()[0]
            pending = len(held) if isinstance(held, bytes) else 0
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                return offset - pending + exc.start
            if not chunk:
                return None
            offset += len(chunk)


def _line_at(path: Path | str, encoding: str, offset: int, chunk_bytes: int) -> int:
    """Return the 1-based line of the byte at ``offset``, all bytes before it decodable."""
    decoder = codecs.getincrementaldecoder(encoding)("replace")
    lines = 1
    with open(path, "rb") as file:
        while offset > 0:
            chunk = file.read(min(chunk_bytes, offset))
            if not chunk:
                break
            lines += decoder.decode(chunk).count("\n")
            offset -= len(chunk)
    return lines


def _bytes_at(path: Path | str, offset: int, count: int = 4) -> bytes:
    with open(path, "rb") as file:
        file.seek(offset)
        return file.read(count)


def _starts_with(path: Path | str, prefixes: tuple[bytes, ...]) -> bool:
    with open(path, "rb") as file:
        head = file.read(4)
    return any(head.startswith(p) for p in prefixes)


def check_encoding(path: Path | str, encoding: str, chunk_bytes: int = CHUNK_BYTES) -> None:
    """Raise unless the whole file decodes strictly with ``encoding``.

    Parameters
    ----------
    path
        The file.
    encoding
        The encoding declared for it, e.g. ``gbk`` from the source's ``encoding:``.
    chunk_bytes
        Size of each chunk read.

    Raises
    ------
    UndecodableFileError
        Naming the byte offset and line of the first bad byte.
    """
    offset = first_undecodable(path, encoding, chunk_bytes)
    if offset is None:
        return
    name = canonical_encoding(encoding)
    fix = UndecodableFileError.DEFAULT_FIX
    if name.startswith("utf-8") and _starts_with(path, _UTF16_BOMS):
        fix = _UTF16_FIX
    raise UndecodableFileError(
        path,
        name.upper(),
        offset,
        _line_at(path, name, offset, chunk_bytes),
        _bytes_at(path, offset),
        fix=fix,
    )


def detect_encoding(path: Path | str, chunk_bytes: int = CHUNK_BYTES) -> str:
    r"""Detect whether a text file is UTF-8 (with or without BOM) or GB18030.

    A UTF-8 byte-order mark means ``"utf-8-sig"``. Otherwise the whole file is decoded
    strictly as UTF-8, and only if that fails, as GB18030 (which also reads GBK and
    GB2312 files).

    Parameters
    ----------
    path
        The file.
    chunk_bytes
        Size of each chunk read; the file is streamed, never read whole.

    Returns
    -------
    str
        One of ``"utf-8-sig"``, ``"utf-8"``, ``"gb18030"``.

    Raises
    ------
    UndecodableFileError
        When neither decodes the file. The message names the byte offset and line where
        the encoding that reads further (the likelier one) fails.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "居民.csv"
    >>> _ = path.write_bytes("姓名\n阿依古丽·买买提\n".encode("gbk"))
    >>> detect_encoding(path)
    'gb18030'
    """
    if _starts_with(path, (_UTF8_BOM,)):
        check_encoding(path, "utf-8-sig", chunk_bytes)
        return "utf-8-sig"
    utf8_error = first_undecodable(path, "utf-8", chunk_bytes)
    if utf8_error is None:
        return "utf-8"
    gb_error = first_undecodable(path, "gb18030", chunk_bytes)
    if gb_error is None:
        return "gb18030"
    likelier, offset = ("UTF-8", utf8_error) if utf8_error >= gb_error else ("GB18030", gb_error)
    fix = _UTF16_FIX if _starts_with(path, _UTF16_BOMS) else UndecodableFileError.DEFAULT_FIX
    raise UndecodableFileError(
        path,
        likelier,
        offset,
        _line_at(path, likelier.lower(), offset, chunk_bytes),
        _bytes_at(path, offset),
        tried=("UTF-8", "GB18030"),
        fix=fix,
    )
