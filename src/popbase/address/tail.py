"""The tail grammar: numbers and their unit words after a road, village or compound.

A number with a unit word takes the tag the word names, given what came before:

========================  =======================================================
unit                      tag
========================  =======================================================
弄                         ``roadno`` (a lane is the road's number); a second: ``subroadno``
支弄                       ``subroadno``
号                         ``roadno`` right after a road (张杨路100号); ``houseno`` after a
                          lane, a compound, a village or its group (1885弄12号, 3组45号);
                          ``roomno`` after a floor or a house (5楼502号)
号楼, 幢, 栋, 座              ``houseno``
单元                       ``cellno``
层, 楼, F                   ``floorno``
室, 户, 房, 房间               ``roomno``
组, 队                      ``village_group``
期                         ``subpoi`` (a compound's phase, 二期)
========================  =======================================================

Bare numbers joined by dashes are read as a group: after a road without a number, the
first is the road's number (张杨路100-3); in a compound or after a lane, ``12-301`` is
house and room and ``12-3-1001`` house, unit and room, as the corpora annotate them. A
lone bare number is the road's number after a road, the house after a lane, a compound or
a village, and the room otherwise. A number with a sub-number before 号 (12-3号, a plate's
附号) is one number.
"""

from __future__ import annotations

import re
from collections.abc import Callable

NUMBER = re.compile(
    r"(?P<num>[A-Z]?\d+(?:-\d+(?=号(?!楼)))?(?:(?!F(?![A-Z]))[A-Z](?![A-Z]))?"
    r"|[A-Z](?=号楼|栋|座|幢|单元))"
    r"(?P<unit>号楼|支弄|单元|房间|大队|号|弄|幢|栋|座|层|楼|室|户|房|组|队|期|区|村|F(?![A-Z]))?"
)
_UNIT_TAGS = {
    "号楼": "houseno", "幢": "houseno", "栋": "houseno", "座": "houseno", "单元": "cellno",
    "层": "floorno", "楼": "floorno", "F": "floorno", "室": "roomno", "户": "roomno",
    "房": "roomno", "房间": "roomno", "组": "village_group", "队": "village_group",
    "大队": "village_group", "期": "subpoi", "支弄": "subroadno",
}  # fmt: skip
# Parts of a building's address, after which no number is the road's.
_BUILDING = ("houseno", "cellno", "floorno", "roomno")
# A room number has three digits or more (301, 1203); a house number rarely does.
_ROOM_DIGITS = 3
# Longer digit runs are telephone or ID numbers, not parts of an address.
_LONGEST_NUMBER = 6

Put = Callable[[str, int, int], bool]


class Tail:
    """Reads the numbered parts of one address, in order.

    Parameters
    ----------
    comps, spans
        The components read so far (tag → text, tag → span of the normalised text),
        shared with the parser and updated through ``put``.
    put
        ``put(tag, start, end)`` records a component at a span of the normalised text and
        returns False when the tag is already taken.
    """

    def __init__(self, comps: dict[str, str], spans: dict[str, tuple[int, int]], put: Put) -> None:
        self.comps = comps
        self.spans = spans
        self.put = put
        self.group: list[tuple[int, int]] = []  # bare numbers joined by dashes
        self.leftover: list[tuple[int, int]] = []

    # Context -----------------------------------------------------------------------
    def _lane(self) -> bool:
        return self.comps.get("roadno", "").endswith("弄")

    def _needs_roadno(self) -> bool:
        """Whether the next number is the road's: nothing came between road and number."""
        c = self.comps
        if "road" not in c or "roadno" in c or any(t in c for t in _BUILDING):
            return False
        road = self.spans["road"][0]
        # A compound or village after the road (漕宝路樱桃新村15号) owns the number.
        return not any(t in c and self.spans[t][0] > road for t in ("poi", "community", "subpoi"))

    def _house_slot(self) -> bool:
        """Whether the next number names a building: after a lane, compound or village."""
        c = self.comps
        if any(t in c for t in _BUILDING):
            return False
        return (
            self._lane()
            or ("poi" in c and "roadno" not in c)
            or "community" in c
            or "village_group" in c
        )

    # Tokens ------------------------------------------------------------------------
    def number(self, value: str, unit: str | None, start: int, end: int) -> None:
        """Read a number token ``value`` (with ``unit``, or bare) at ``[start, end)``."""
        if unit is None:
            self.group.append((start, end))
            return
        self.flush()
        tag = self._unit_tag(unit)
        if tag is None or not self.put(tag, start, end):
            self.leftover.append((start, end))

    def dash(self) -> None:
        """A dash: the bare numbers on either side belong to one group."""

    def flush(self) -> None:
        """Assign the pending group of bare numbers."""
        group, self.group = self.group, []
        if not group:
            return
        if len(group) == 1:
            start, end = group[0]
            if end - start > _LONGEST_NUMBER:
                self.leftover.append((start, end))  # a telephone or ID number
                return
            tag = self._bare_tag()
            if tag in ("houseno", "roadno") and end - start > _ROOM_DIGITS + 1:
                # 2100弄15602, 张杨路35401: a number and a room written together.
                self._put_or_leave(tag, (start, end - _ROOM_DIGITS))
                self._put_or_leave("roomno", (end - _ROOM_DIGITS, end))
                return
            self._put_or_leave(tag, group[0])
            return
        tags: list[str]
        if self._needs_roadno():
            second = "roomno" if group[1][1] - group[1][0] >= _ROOM_DIGITS else "houseno"
            tags = ["roadno", second] if len(group) == 2 else ["roadno", "houseno", "roomno"]
        elif "houseno" in self.comps:
            tags = ["cellno", "roomno"] if len(group) == 2 else ["cellno", "floorno", "roomno"]
        else:
            tags = ["houseno", "roomno"] if len(group) == 2 else ["houseno", "cellno", "roomno"]
        for tag, span in zip(tags, group, strict=False):
            self._put_or_leave(tag, span)
        self.leftover.extend(group[len(tags) :])

    def _put_or_leave(self, tag: str, span: tuple[int, int]) -> None:
        if not self.put(tag, *span):
            self.leftover.append(span)

    def _bare_tag(self) -> str:
        if self._needs_roadno():
            return "roadno"
        if self._house_slot():
            return "houseno"
        return "roomno"

    def _unit_tag(self, unit: str) -> str | None:
        c = self.comps
        if unit == "弄":
            return "roadno" if "roadno" not in c else "subroadno"
        if unit == "号":
            if "floorno" in c or "cellno" in c:
                return "roomno"
            if self._needs_roadno():
                return "roadno"
            if "houseno" in c:
                return "roomno"
            if self._house_slot() or "roadno" in c:
                return "houseno"
            return "roadno" if not c.keys() & {"poi", "community", "village_group"} else "houseno"
        if unit in ("区", "村"):
            return "subpoi" if "poi" in c else "poi"
        return _UNIT_TAGS.get(unit)


def split_number(token: str) -> tuple[str, str | None]:
    """A number token's value and unit word (``12号楼`` → ``("12", "号楼")``).

    Examples
    --------
    >>> split_number("12号楼"), split_number("301"), split_number("B栋")
    (('12', '号楼'), ('301', None), ('B', '栋'))
    """
    m = NUMBER.fullmatch(token)
    if m is None:
        raise ValueError(f"not a number token: {token!r}")
    return m["num"], m["unit"]
