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
VILLAGE = re.compile(
    r"^(?P<village>[^\d]+?村)(?P<group>\d+)组(?P<house>\d+)号(?:(?P<room>\d+)室?)?$"
)
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class ParsedAddress:
    """A parsed address: its building key, room number, and the reason if it failed."""

    building_key: str | None
    room_no: str | None
    reason: str | None


class PlaceNames:
    """Leading place names an address may repeat: country, city, district, street/town.

    Parameters
    ----------
    names
        Names that may lead an address (``闵行区``, ``莘庄镇``); ``中国`` and ``上海``
        forms are always known.
    """

    def __init__(self, names: Iterable[str]) -> None:
        self.names = {n for n in ["中国", "上海市", "上海", *names] if n}
        self.lengths = sorted({len(n) for n in self.names}, reverse=True)

    def strip(self, text: str) -> str:
        """Drop every leading place name (longest first), repeatedly."""
        found = True
        while found:
            found = False
            for k in self.lengths:
                if text[:k] in self.names:
                    text = text[k:]
                    found = True
                    break
        return text


def normalise(text: str, places: PlaceNames) -> str:
    """NFKC, no spaces, no leading place names."""
    return places.strip(_SPACES.sub("", unicodedata.normalize("NFKC", text)))


def parse_address(text: str | None, places: PlaceNames) -> ParsedAddress:
    """Parse one address into its building key and room number.

    Examples
    --------
    >>> p = PlaceNames(["闵行区", "马桥镇"])
    >>> parse_address("上海市闵行区七莘路１８８５弄12号 301室", p)
    ParsedAddress(building_key='七莘路1885弄12号', room_no='301', reason=None)
    >>> parse_address("马桥镇同心村3组45号", p)
    ParsedAddress(building_key='同心村3组45号', room_no=None, reason=None)
    >>> parse_address("七莘路一千八百八十五弄十二号", p).reason
    'address_unparsed'
    """
    if text is None or text != text or not str(text).strip():
        return ParsedAddress(None, None, "address_missing")
    norm = normalise(str(text), places)
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
