"""Segment an address into the components of the shared tag set of Chinese address corpora.

``上海市闵行区七莘路1885弄12号301室`` → city 上海市, district 闵行区, road 七莘路, roadno 1885弄,
houseno 12号, roomno 301室. Three steps over the normalised text:

1. **Prefix** — the administrative divisions, outermost first, from the gazetteer
   automaton (provinces, cities, counties; Shanghai's old districts; streets/towns and
   committees), with suffix rules for towns (镇/街道/乡), development zones (开发区,
   工业园区, …) and villages (村, 社区) the gazetteer does not know. A repeated division
   (上海上海市浦东新区上海市浦东新区) adds nothing; 市辖区 is skipped.
2. **Body** — roads (gazetteer, or a name ending in 路/街/大道/公路/巷), villages, compounds
   (a name ending in 小区/花园/苑/新村/…, or known committee stems), and text that no rule
   explains, which is a compound (``poi``) until the numbers of a building begin.
3. **Tail** — numbers with unit words (:mod:`popbase.address.tail`).

Conventions, where the corpora disagree (one is chosen and kept):

- ``上海上海市`` is prov 上海 + city 上海市 (swei412 and CCKS; NAACL tags the first
  ``redundant``); ``上海市`` alone is the city; ``上海`` alone the province (the corpora
  split on it: a lone 上海 is city in 5 lines of NAACL and CCKS train, prov in 4). A division
  written twice in a row (上海市上海市) is read from the second (NAACL tags the first
  ``redundant``, CCKS tags both); repeated later (…上海市闵行区上海市闵行区) from the first.
- A lane is the road's number: ``七莘路1885弄12号`` is road, roadno 1885弄, houseno 12号
  (swei412, CCKS's Shanghai lines, the README; NAACL often tags the lane ``subroad`` and
  the house ``subroadno``, and CCKS tags Zhejiang lanes ``road``).
- Two roads in a row (国权路国权东路99弄): the numbers belong to the last, which is the
  ``road``; the first is kept in ``others`` (the corpora tag both).
- Without a lane the number on the road is ``roadno`` (张杨路100号); after it, a bare
  number is the room (张杨路100号1201).
- ``12-301`` is houseno 12 + roomno 301 and ``12-3-1001`` houseno, cellno, roomno (each
  number its own span, the dashes untagged); ``12-3号`` is one number (a plate's 附号).
- A village's groups are ``village_group`` (3组, 八队; NAACL tags them ``road``) and the
  number after them ``houseno``.
- Compounds named like 泗塘五村/樱桃新村 are ``poi`` (a residential compound), a village
  named X村 is ``community``.

Components keep their normalised text; spans point into the original text.

Two paths give the same result. The general path (:meth:`AddressParser.parse_general`)
runs the gazetteer automaton and the rules of :mod:`popbase.address.reading`. The fast path
reads the common formal shapes (``[省][市][区][街镇]路+弄+号[+室]``, ``路+号[+室]``,
``路+号-室`` and ``[…][街镇]村+组+号``) with one expression. Its head and road (or village)
are read once by the general rules, and kept: a number follows them, and no rule and no
name of a gazetteer without digits looks past a road into its numbers, so every address
with the same head and road reads the same up to there. The numbers after them are the
simple cases of the tail grammar (a property test checks both paths agree).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Literal

from popbase.address.gazetteer import Gazetteer
from popbase.address.normalize import normalize
from popbase.address.reading import TAGS, Address, Reading, confidence

__all__ = ["TAGS", "Address", "AddressParser"]


def formal_pattern(shanghai: bool = True) -> str:
    """The expression of the common formal shapes (see the module docstring).

    Written for both Python's ``re`` and RE2 (which Arrow and DuckDB use): no
    backreferences, no lookbehind, characters as themselves. ``shanghai`` adds a lone
    ``上海`` as the province, which needs a lookahead (上海 not followed by 市) that RE2
    lacks; without it such an address reads another way, which the general rules then
    reject (a kept head must read as the expression's groups).
    """
    cjk = "[一-鿿]"
    prov = f"{cjk}{{1,3}}?省|{cjk}{{2,6}}?自治区" + ("|上海(?!市)" if shanghai else "")
    return (
        f"(?P<prov>{prov})?"
        f"(?P<city>{cjk}{{1,6}}?(?:市|自治州|地区))?"
        f"(?P<district>{cjk}{{1,5}}?(?:新区|区|县|市|旗))?"
        f"(?P<town>{cjk}{{1,6}}?(?:街道|镇|乡))?"
        f"(?:(?P<road>{cjk}{{1,10}}?(?:大道|公路|路|街))(?:"
        "(?P<lane>[0-9]+弄)(?:(?P<house>[0-9]+(?:号楼|号|幢|栋|座))(?:-?(?P<room>[0-9]{1,6}室?))?"
        "|(?P<bare>[0-9]{1,4})(?:-(?P<bare_room>[0-9]{1,6}室?))?)"
        "|(?P<plate>[0-9]+号)(?:-?(?P<proom>[0-9]{1,6}室?))?"
        "|(?P<bplate>[0-9]+)-(?P<broom>[0-9]{3,6}))"
        f"|(?P<village>{cjk}{{1,8}}?村)(?P<group>[0-9]+组)(?P<vhouse>[0-9]+号))"
    )


# The common formal shapes. A number always follows the road (or the village).
_FORMAL = re.compile(formal_pattern())
# The groups that name a head and road (or village), in the order they are written.
HEAD_GROUPS = ("prov", "city", "district", "town", "road", "village")
# The groups of numbers, with the tag each becomes, in the order a parse adds them.
GROUP_TAGS = (
    ("roadno", "lane"), ("houseno", "house"), ("houseno", "bare"), ("roomno", "room"),
    ("roomno", "bare_room"), ("roadno", "plate"), ("roomno", "proom"), ("roadno", "bplate"),
    ("roomno", "broom"), ("village_group", "group"), ("houseno", "vhouse"),
)  # fmt: skip
_TAGS_OF_GROUPS = tuple(tag for tag, _ in GROUP_TAGS)
_NUMBER_GROUPS = tuple(group for _, group in GROUP_TAGS)
_ADMIN_GROUPS = ("prov", "city", "district", "town")
# What a formal address's head and road read to: components, spans, codes, confidence.
Base = tuple[dict[str, str], dict[str, tuple[int, int]], dict[str, str], float]
HeadKey = tuple[str | None, ...]
# Heads and roads read by the general rules, kept for the next address with the same.
_BASES_KEPT = 65536


class AddressParser:
    """Parse addresses with a gazetteer.

    Parameters
    ----------
    gazetteer
        Names of divisions, roads and compounds.
    """

    def __init__(self, gazetteer: Gazetteer) -> None:
        self.gazetteer = gazetteer
        self._bases: dict[HeadKey, Base | Literal[False]] = {}

    def parse(self, text: str) -> Address:
        """Parse one address (see the module docstring).

        Examples
        --------
        >>> from popbase.address.gazetteer import Gazetteer, admin_places
        >>> p = AddressParser(Gazetteer(admin_places()))
        >>> a = p.parse("上海市闵行区七莘路1885弄12号301室")
        >>> for tag, value in a.components.items():
        ...     print(tag, value, a.spans[tag])
        city 上海市 (0, 3)
        district 闵行区 (3, 6)
        road 七莘路 (6, 9)
        roadno 1885弄 (9, 14)
        houseno 12号 (14, 17)
        roomno 301室 (17, 21)
        >>> p.parse("张杨路100号").components
        {'road': '张杨路', 'roadno': '100号'}
        """
        n = normalize(text)
        original = n.original_span if n.starts is not None else None
        out = self._formal(n.norm)
        if out is None:
            return self._general(text, n.norm, original)
        out.text = text
        if original is not None:
            out.spans = {t: original(a, b) for t, (a, b) in out.spans.items()}
        return out

    def parse_general(self, text: str) -> Address:
        """Parse one address by the general path only (the reference for the fast one)."""
        n = normalize(text)
        return self._general(text, n.norm, n.original_span if n.starts is not None else None)

    def _general(
        self, text: str, norm: str, original: Callable[[int, int], tuple[int, int]] | None
    ) -> Address:
        out = Address(text, norm)
        Reading(self.gazetteer, out).run()
        if original is not None:
            out.spans = {t: original(a, b) for t, (a, b) in out.spans.items()}
            out.others = [(t, *original(a, b)) for t, a, b in out.others]
        return out

    def _formal(self, s: str) -> Address | None:
        """Read an address of a common formal shape, or None (see the module docstring)."""
        m = _FORMAL.fullmatch(s)
        if m is None:
            return None
        base = self.base(m.group(*HEAD_GROUPS), s)
        if not base:
            return None
        comps, spans, codes, score = base
        components, where = dict(comps), dict(spans)
        for tag, group, value in zip(
            _TAGS_OF_GROUPS, _NUMBER_GROUPS, m.group(*_NUMBER_GROUPS), strict=True
        ):
            if value is not None:
                components[tag] = value
                where[tag] = m.span(group)
        return Address(s, s, components, where, score, dict(codes))

    def base(self, key: HeadKey, s: str) -> Base | Literal[False]:
        """The reading of a formal address's head and road (or village), kept by ``key``.

        ``key`` holds the text of the :data:`HEAD_GROUPS` (None where absent) that
        ``s``, an address of a formal shape, begins with. False unless the general rules
        read them as those groups, and nothing else.
        """
        base = self._bases.get(key)
        if base is None:
            base = self._read_base(s, key)
            # With digits in its names the gazetteer could see past a road: no keeping.
            if self.gazetteer.digit_free:
                if len(self._bases) >= _BASES_KEPT:
                    self._bases.clear()
                self._bases[key] = base
        return base

    def _read_base(self, s: str, key: HeadKey) -> Base | Literal[False]:
        """Read a formal address's head and road (or village) by the general rules."""
        spans: dict[str, tuple[int, int]] = {}
        end = 0
        for group, value in zip(HEAD_GROUPS, key, strict=True):
            if value:
                spans[group] = (end, end + len(value))
                end += len(value)
        out = Address(s, s)
        reading = Reading(self.gazetteer, out, None)
        pos = reading.prefix()
        expected = {t: spans[t] for t in _ADMIN_GROUPS if t in spans}
        if "village" in spans:
            expected["community"] = spans["village"]
            if pos != spans["village"][1]:
                return False
        elif "road" in spans:
            pos_road, end_road = spans["road"]
            if pos != pos_road or reading.name(pos) != end_road:
                return False
            expected["road"] = (pos_road, end_road)
        else:
            return False
        if out.spans != expected or reading.leftover:
            return False
        # Every shape ends with a road's number or a house: score as if it were read.
        number = "houseno" if "village" in spans else "roadno"
        out.components[number] = "0"
        score = confidence(out, reading.known_road)
        del out.components[number]
        return out.components, out.spans, out.codes, score
