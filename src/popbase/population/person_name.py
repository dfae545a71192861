"""Person names as departments type them, made comparable without losing what they are.

- Full-width forms and the ideographic space become their plain forms (NFKC), except
  characters outside the Basic Multilingual Plane (𠮷), which are kept as written.
- Spaces inside a Chinese name are typing artefacts (张 三, 张　三): removed. Between two
  Latin words (a foreign name) one space is kept.
- The middle dot of minority and foreign names has many look-alikes (•, ‧, ・, ･, ．, .):
  all become U+00B7 ``·`` (阿依古丽·买买提), the form of the national standard.
- Nothing else changes: traditional characters and rare characters stay as written (a
  name is what its bearer writes; matching may fold them, the record does not).

Each fix is named, so a build can count what it changed.
"""

from __future__ import annotations

import re
import unicodedata

import pandas as pd

MIDDLE_DOT = "\u00b7"
_DOT_LIKE = "•‧・･．.\u2027\u30fb\uff65\u2022\u0387\u16eb\u2219\u22c5\u2e31\u00b7"
# A run of dots and spaces between two parts of a name is one middle dot.
_DOTS = re.compile(f"\\s*[{re.escape(_DOT_LIKE)}][{re.escape(_DOT_LIKE)}\\s]*")
_SPACES = re.compile(r"\s+")
_LATIN_GAP = re.compile(r"(?<=[A-Za-z])\s+(?=[A-Za-z])")
# What a name may hold once normalised: Han characters (all planes), Latin letters,
# the middle dot and single spaces between Latin words.
_VALID = re.compile(r"^[\u3400-\u9fff\uf900-\ufaff\U00020000-\U0003134fA-Za-z·]+(?: [A-Za-z·]+)*$")

NAME_FIXES = ("width", "spaces", "middle_dot")
_PLAIN_HAN = re.compile("[\u4e00-\u9fff]+")


def _nfkc_bmp(text: str) -> str:
    """NFKC, leaving characters outside the Basic Multilingual Plane untouched."""
    if text.isascii():
        return text
    return "".join(c if ord(c) > 0xFFFF else unicodedata.normalize("NFKC", c) for c in text)


def normalize_name(text: str) -> tuple[str, tuple[str, ...]]:
    """The normalised name and the fixes made (see the module docstring).

    Examples
    --------
    >>> normalize_name("张　三")
    ('张三', ('width', 'spaces'))
    >>> normalize_name("阿依古丽 • 买买提")
    ('阿依古丽·买买提', ('middle_dot',))
    >>> normalize_name("王𠮷")
    ('王𠮷', ())
    >>> normalize_name("John  Smith")
    ('John Smith', ('spaces',))
    """
    fixes: list[str] = []
    out = _nfkc_bmp(text)
    if out != text:
        fixes.append("width")
    dotted = _DOTS.sub(MIDDLE_DOT, out.strip())
    if dotted != out.strip() and MIDDLE_DOT in dotted:
        fixes.append("middle_dot")
    joined = _LATIN_GAP.sub("\x00", dotted)
    joined = _SPACES.sub("", joined).replace("\x00", " ")
    if joined != dotted:
        fixes.append("spaces")
    return joined, tuple(dict.fromkeys(fixes))


def is_valid_name(name: str) -> bool:
    """Whether a normalised name holds only what names hold (no digits, no punctuation).

    Examples
    --------
    >>> [is_valid_name(n) for n in ("张三", "阿依古丽·买买提", "王𠮷", "张3", "", "John Smith")]
    [True, True, True, False, False, True]
    """
    return bool(_VALID.match(name))


def normalize_names(names: pd.Series) -> pd.DataFrame:
    """``name_norm`` and ``name_fixes`` (comma-joined) for a column of names, once per value.

    Missing names stay missing.
    """
    values = names.astype(object).tolist()
    # A name of basic Han characters only is its own normal form: the rest are read.
    done = {
        v: (v, ()) if _PLAIN_HAN.fullmatch(v) else normalize_name(v)
        for v in dict.fromkeys(values)
        if isinstance(v, str)
    }
    return pd.DataFrame(
        {
            "name_norm": [done[v][0] if isinstance(v, str) else None for v in values],
            "name_fixes": [",".join(done[v][1]) if isinstance(v, str) else "" for v in values],
        },
        index=names.index,
        dtype=object,
    )
