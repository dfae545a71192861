"""Exact-key address parsing: the door-plate key of a building and the room number.

``上海市闵行区七莘路1885弄12号301室`` → building key ``七莘路1885弄12号``, room ``301``;
``马桥镇同心村3组45号`` → key ``同心村3组45号``, no room. Text is NFKC-normalised (full-width
digits become ASCII), spaces removed, and the leading city, district and street/town
names dropped. Addresses written otherwise (Chinese numerals, ``12-301``, ``12号楼``,
typos) do not parse here and are reported with the reason ``address_unparsed``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

URBAN = re.compile(
    r"^(?P<road>[^\d]+?(?:路|街|大道|公路|支路|巷))"
    r"(?:(?P<lane>\d+)弄)?(?P<house>\d+)号(?:(?P<room>\d+)室?)?(?:\d+层|\d+楼)?$"
)
VILLAGE = re.compile(r"^(?P<village>[^\d]+?村)(?P<group>\d+)组(?P<house>\d+)号(?:(?P<room>\d+)室?)?$")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class ParsedAddress:
    """A parsed address: its building key, room number, and the reason if it failed."""

    building_key: str | None
    room_no: str | None
    reason: str | None


def prefix_pattern(place_names: Iterable[str]) -> re.Pattern[str]:
    """A pattern matching any leading run of country, city and place names.

    Parameters
    ----------
    place_names
        Names that may lead an address: districts, streets/towns (``闵行区``, ``莘庄镇``).
    """
    names = sorted({n for n in place_names if n}, key=len, reverse=True)
    alternatives = "|".join(re.escape(n) for n in ["中国", "上海市", "上海", *names])
    return re.compile(f"^(?:{alternatives})+")


def normalise(text: str, prefix: re.Pattern[str]) -> str:
    """NFKC, no spaces, no leading place names."""
    out = _SPACES.sub("", unicodedata.normalize("NFKC", text))
    return prefix.sub("", out)


def parse_address(text: str | None, prefix: re.Pattern[str]) -> ParsedAddress:
    """Parse one address into its building key and room number.

    Examples
    --------
    >>> p = prefix_pattern(["闵行区", "马桥镇"])
    >>> parse_address("上海市闵行区七莘路１８８５弄12号 301室", p)
    ParsedAddress(building_key='七莘路1885弄12号', room_no='301', reason=None)
    >>> parse_address("马桥镇同心村3组45号", p)
    ParsedAddress(building_key='同心村3组45号', room_no=None, reason=None)
    >>> parse_address("七莘路一千八百八十五弄十二号", p).reason
    'address_unparsed'
    """
    if text is None or text != text or not str(text).strip():
        return ParsedAddress(None, None, "address_missing")
    norm = normalise(str(text), prefix)
    m = URBAN.match(norm)
    if m:
        lane = f"{int(m['lane'])}弄" if m["lane"] else ""
        room = str(int(m["room"])) if m["room"] else None
        return ParsedAddress(f"{m['road']}{lane}{int(m['house'])}号", room, None)
    m = VILLAGE.match(norm)
    if m:
        room = str(int(m["room"])) if m["room"] else None
        return ParsedAddress(f"{m['village']}{int(m['group'])}组{int(m['house'])}号", room, None)
    return ParsedAddress(None, None, "address_unparsed")
