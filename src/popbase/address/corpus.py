"""Readers for the public annotated address corpora, in one shape: text and tagged spans.

Three formats, each read at run time from a path the user gives (the corpora carry no
licence, so they are never copied into the project):

``naacl``
    Li et al., NAACL 2019: one token a line, ``token B-tag``/``I-tag`` (BIO), a blank line
    between addresses. A token is one character or a run of digits/latin letters; ``_``
    stands for a space in the original.
``bmes``
    swei412/address-matching: the same layout with BMES tags (``B``/``M``/``E`` begin,
    middle, end; ``S`` single). Its ``village`` is our ``community`` (a natural village,
    as the NAACL guide defines community) and its ``group`` our ``village_group``
    (村民小组, 3组). Tokens are BERT word pieces: ``##5`` continues the previous token
    (joined without the ``##``) and ``[UNK]`` is one unknown character (read as U+FFFD).
``ccks``
    CCKS 2021 中文地址要素解析: JSON lines ``{"text": …, "tags": [...]}``, BIOES, one tag
    per character; digits are masked to ``0``.

Tag names are lower-cased (``devZone`` → ``devzone``, ``subRoad`` → ``subroad``). Tags
outside the shared set (assist, redundant, person, distance, intersection, …) are kept,
so that a reader loses nothing; scoring looks only at the shared set.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from popbase.errors import SourceFileError

CorpusFormat = Literal["naacl", "bmes", "ccks"]
FORMATS: tuple[CorpusFormat, ...] = ("naacl", "bmes", "ccks")
# The corpora's own names for tags of the shared set.
TAG_ALIASES = {"village": "community", "group": "village_group"}
# Stands for a character a corpus could not store (swei412's ``[UNK]``).
UNKNOWN_CHAR = "\ufffd"


@dataclass(frozen=True, slots=True)
class GoldAddress:
    """One annotated address.

    Attributes
    ----------
    text
        The address as the corpus gives it (tokens joined).
    spans
        ``(tag, start, end)`` of each annotated component, in characters of ``text``.
    line
        Line of the file where the address starts (1-based), for messages.
    """

    text: str
    spans: tuple[tuple[str, int, int], ...]
    line: int = 0

    def component(self, tag: str) -> str | None:
        """The text of the first component with ``tag``, or None."""
        for t, a, b in self.spans:
            if t == tag:
                return self.text[a:b]
        return None


def canonical_tag(tag: str) -> str:
    """The shared-set name of a corpus tag (``devZone`` → ``devzone``).

    Examples
    --------
    >>> [canonical_tag(t) for t in ("devZone", "subRoad", "village", "group", "road")]
    ['devzone', 'subroad', 'community', 'village_group', 'road']
    """
    low = tag.lower()
    return TAG_ALIASES.get(low, low)


def spans_from_tags(
    tokens: list[str], tags: list[str], *, where: str = ""
) -> tuple[str, tuple[tuple[str, int, int], ...]]:
    """Join tokens and read their BIO/BIOES/BMES tags into character spans.

    A span starts at ``B``/``S``, or at an ``I``/``M``/``E`` whose tag differs from the open
    span's (annotators' slips); it ends after ``E``/``S``, at ``O``, or where the next
    starts.

    Examples
    --------
    >>> tags = ["B-road", "I-road", "E-road", "B-roadno", "E-roadno"]
    >>> spans_from_tags(["张", "杨", "路", "100", "号"], tags)
    ('张杨路100号', (('road', 0, 3), ('roadno', 3, 7)))
    """
    if len(tokens) != len(tags):
        raise ValueError(f"{where}{len(tokens)} tokens but {len(tags)} tags")
    spans: list[tuple[str, int, int]] = []
    open_tag: str | None = None
    open_start = 0
    pos = 0
    for token, raw in zip(tokens, tags, strict=True):
        prefix, _, name = raw.partition("-")
        tag = canonical_tag(name) if name else None
        if prefix not in ("B", "I", "M", "E", "S", "O") or (prefix != "O" and not name):
            raise ValueError(f"{where}tag {raw!r} is neither O nor B/I/M/E/S-<tag>")
        starts = prefix in ("B", "S") or prefix == "O" or tag != open_tag
        if starts and open_tag is not None:
            spans.append((open_tag, open_start, pos))
            open_tag = None
        if prefix != "O" and open_tag is None:
            open_tag, open_start = tag, pos
        pos += len(token)
        if prefix in ("E", "S") and open_tag is not None:
            spans.append((open_tag, open_start, pos))
            open_tag = None
    if open_tag is not None:
        spans.append((open_tag, open_start, pos))
    return "".join(tokens), tuple(spans)


def _token_lines(path: Path) -> Iterator[GoldAddress]:
    """Addresses of a one-token-a-line file (naacl and bmes)."""
    tokens: list[str] = []
    tags: list[str] = []
    first = 0
    with path.open(encoding="utf-8-sig") as handle:
        for number, raw in enumerate(handle, start=1):
            line = raw.rstrip("\r\n")
            if not line.strip():
                if tokens:
                    yield _gold(path, tokens, tags, first)
                tokens, tags = [], []
                continue
            parts = line.split()
            if len(parts) != 2:
                raise SourceFileError(
                    path,
                    f"line {number} is {line!r}, expected 'token TAG'",
                    "give a file in the naacl or bmes format (one token and its tag a line)",
                )
            if not tokens:
                first = number
            tokens.append(_token_text(parts[0]))
            tags.append(parts[1])
    if tokens:
        yield _gold(path, tokens, tags, first)


def _token_text(token: str) -> str:
    # swei412 is stored as BERT word pieces: ``##5`` continues the previous token and
    # ``[UNK]`` stands for one character outside the vocabulary.
    if token == "[UNK]":
        return UNKNOWN_CHAR
    return token[2:] if token.startswith("##") and len(token) > 2 else token


def _gold(path: Path, tokens: list[str], tags: list[str], line: int) -> GoldAddress:
    try:
        text, spans = spans_from_tags(tokens, tags, where=f"address at line {line}: ")
    except ValueError as exc:
        raise SourceFileError(path, str(exc), "check the corpus format (--format)") from None
    return GoldAddress(text, spans, line)


def _json_lines(path: Path) -> Iterator[GoldAddress]:
    with path.open(encoding="utf-8-sig") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                row = json.loads(raw)
                text, tags = row["text"], row["tags"]
            except (json.JSONDecodeError, KeyError, TypeError):
                raise SourceFileError(
                    path,
                    f"line {number} is not a JSON object with 'text' and 'tags'",
                    "give a file in the ccks format (JSON lines)",
                ) from None
            yield _gold(path, list(text), list(tags), number)


def read_corpus(path: Path | str, format: CorpusFormat) -> list[GoldAddress]:
    """Read an annotated address corpus.

    Parameters
    ----------
    path
        The corpus file.
    format
        ``naacl``, ``bmes`` or ``ccks`` (see the module docstring).

    Returns
    -------
    list of GoldAddress
        In file order.
    """
    path = Path(path)
    if format not in FORMATS:
        raise ValueError(f"corpus format was {format!r}, expected one of {', '.join(FORMATS)}")
    if not path.is_file():
        raise SourceFileError(path, "no such corpus file", "give the path of a corpus file")
    reader = _json_lines if format == "ccks" else _token_lines
    return list(reader(path))
