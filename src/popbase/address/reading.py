"""Reading one address: the administrative prefix, then roads, villages, compounds and numbers.

:class:`Reading` holds the state of one parse: the normalised text, the gazetteer's names
found in it, and the components read so far. :meth:`Reading.prefix` reads divisions from
the start; :meth:`Reading.body` reads the rest left to right, handing numbers to the tail
grammar (:mod:`popbase.address.tail`). The order of the rules is the parser's meaning;
:mod:`popbase.address.parse` documents the conventions they implement.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from popbase.address.gazetteer import ADMIN_TAGS, Gazetteer, Place
from popbase.address.names import (
    ADMIN_SUFFIXES,
    DISTRICT,
    FILLERS,
    NOTE,
    Hits,
    match_name,
    name_hits,
    repeats,
    road_end,
    short_district,
)
from popbase.address.tail import NUMBER, Tail

TAGS = (
    "prov", "city", "district", "devzone", "town", "community", "village_group", "road",
    "roadno", "subroad", "subroadno", "poi", "subpoi", "houseno", "cellno", "floorno", "roomno",
)  # fmt: skip
ADMIN_RANK = {t: i for i, t in enumerate(ADMIN_TAGS)}
_BUILDING = frozenset(("houseno", "cellno", "floorno", "roomno"))
_NUMBERED = _BUILDING | {"roadno"}
_UPPER_LEVELS = ("prov", "city", "district")


@dataclass(slots=True)
class Address:
    """A parsed address.

    Attributes
    ----------
    text
        The address as given.
    normalized
        Its normalised form (see :mod:`popbase.address.normalize`).
    components
        Tag → normalised text of the component (``{"road": "七莘路", "roadno": "1885弄"}``).
    spans
        Tag → ``(start, end)`` of the component in ``text``.
    confidence
        0–1: how completely and surely the address was read.
    codes
        Division codes found or inferred: ``prov``, ``city``, ``district``, ``town``,
        ``community``.
    rest
        Normalised text that no component explains.
    others
        ``(tag, start, end)`` in ``text`` of further components whose tag is taken: the
        first of two roads named in a row (国权路国权东路99弄, 金汇路金汇路515弄), whose
        numbers belong to the last.
    """

    text: str
    normalized: str
    components: dict[str, str] = field(default_factory=dict)
    spans: dict[str, tuple[int, int]] = field(default_factory=dict)
    confidence: float = 0.0
    codes: dict[str, str] = field(default_factory=dict)
    rest: str = ""
    others: list[tuple[str, int, int]] = field(default_factory=list)

    def number(self, tag: str) -> int | None:
        """The number in a component (``1885弄`` → 1885), or None."""
        value = self.components.get(tag)
        if not value:
            return None
        digits = re.search(r"\d+", value)
        return int(digits.group()) if digits else None

    def as_json(self) -> dict[str, object]:
        """The stable JSON shape of ``popbase address parse``."""
        return {
            "text": self.text,
            "normalized": self.normalized,
            "components": {t: self.components[t] for t in TAGS if t in self.components},
            "spans": {t: list(self.spans[t]) for t in TAGS if t in self.spans},
            "others": [list(o) for o in self.others],
            "codes": self.codes,
            "confidence": round(self.confidence, 3),
        }


class Reading:
    """The state of reading one address.

    Parameters
    ----------
    gazetteer
        Names of divisions, roads and compounds.
    out
        The address to fill; its ``normalized`` text is read. Spans are left in positions
        of the normalised text.
    hits
        The gazetteer's names in the text (:func:`~popbase.address.names.name_hits`),
        when already known.
    """

    def __init__(self, gazetteer: Gazetteer, out: Address, hits: Hits | None = None) -> None:
        self.out = out
        self.s = out.normalized
        self.hits = name_hits(gazetteer, self.s) if hits is None else hits
        self.known_road = False
        self.leftover: list[tuple[int, int]] = []
        self.inner = ""  # the deepest division code read

    def put(self, tag: str, start: int, end: int) -> bool:
        """Record a component; False when the tag is already taken."""
        if tag in self.out.components:
            return False
        self.out.components[tag] = self.s[start:end]
        self.out.spans[tag] = (start, end)
        return True

    def run(self) -> None:
        """Read the whole address."""
        self.body(self.prefix())
        self.finish()

    def finish(self) -> None:
        """Set what is left over and the confidence."""
        out = self.out
        out.rest = "".join(self.s[a:b] for a, b in sorted(self.leftover))
        out.confidence = confidence(out, self.known_road)

    # The administrative prefix ------------------------------------------------------
    def prefix(self) -> int:
        """Read divisions from the start, outermost first; return where they end."""
        s, out = self.s, self.out
        pos, rank = 0, -1
        while pos < len(s):
            hit = self.hits.get(pos)
            if hit is not None:
                end, places = hit
                if rank < 0 and end not in self.hits and short_district(places, s[pos:end]):
                    break  # a county's short form alone (萧山商城) names a compound
                written_out = s.endswith(ADMIN_SUFFIXES, pos, end)
                place = self.pick_admin(places, rank, written_out)
                if place is None and repeats(out.codes, places, s[pos:end], end in self.hits):
                    # A repeated division adds nothing (上海上海市…上海市); written twice in a
                    # row (上海市上海市) the second is the one read, as NAACL and CCKS tag it.
                    for tag, (start, stop) in list(out.spans.items()):
                        if stop == pos and s[start:stop] == s[pos:end]:
                            out.spans[tag] = (pos, end)
                    pos = end
                    continue
                # Then levels out of order (七宝镇上海市闵行区…), each once; a province
                # or city only written out (吉林 in a road's name is no province).
                if place is None:
                    place = self.pick_admin(places, -1, written_out)
                    if (
                        place
                        and place.tag in ("prov", "city")
                        and not s.endswith(ADMIN_SUFFIXES, pos, end)
                    ):
                        place = None
                if place is not None:
                    self.put(place.tag, pos, end)
                    out.codes[place.tag] = place.code
                    if len(place.code) > len(self.inner):
                        self.inner = place.code
                    rank, pos = max(rank, ADMIN_RANK[place.tag]), end
                    continue
                if s.endswith(ADMIN_SUFFIXES, pos, end) and any(
                    p.tag in _UPPER_LEVELS for p in places
                ):
                    # Another chain of divisions (…闵行区江苏省华士镇) explains nothing.
                    self.leftover.append((pos, end))
                    pos = end
                    continue
            if rank >= ADMIN_RANK["city"] and s.startswith(FILLERS, pos):
                pos += next(len(f) for f in FILLERS if s.startswith(f, pos))
                continue
            if rank == ADMIN_RANK["city"] and "district" not in out.components:
                m = DISTRICT.match(s, pos)
                if (
                    m is not None
                    and m.end() not in self.hits
                    and self.put("district", pos, m.end())
                ):
                    rank, pos = ADMIN_RANK["district"], m.end()
                    continue
            kind, end = match_name(s, pos)
            if kind not in ("town", "devzone", "community"):
                break
            if kind != "devzone" and rank >= ADMIN_RANK[kind]:
                break
            if not self.put(kind, pos, end):
                break
            if kind != "devzone":
                rank = ADMIN_RANK[kind]
            pos = end
        return pos

    def pick_admin(
        self, places: tuple[Place, ...], rank: int, written_out: bool = True
    ) -> Place | None:
        """The division a name stands for: below ``rank``, new, inside what was read.

        A short form (``written_out`` False) of a division outside what was read is none:
        after 上海市, 金沙江路 and 共和新路 are roads, not 金沙县 and 共和县 (only a name
        written out with its suffix says the address contradicts itself).
        """
        inner = self.inner
        best: Place | None = None
        best_fits = False
        for p in places:
            if ADMIN_RANK.get(p.tag, -1) <= rank or p.tag in self.out.components:
                continue
            fits = not inner or not p.code or p.code.startswith(inner[: len(p.code)])
            if not fits and (p.tag in ("town", "community") or not written_out):
                continue  # a town of another district is another town
            if best is None or (fits and not best_fits):
                best, best_fits = p, fits
            elif (
                fits == best_fits and best.tag == "prov" and p.tag == "city" and p.name == best.name
            ):
                best = p  # 上海市 is a province and a city: read it as the city, as corpora do
        return best

    # The body: roads, villages, compounds, and numbers -------------------------------
    def body(self, pos: int) -> None:
        """Read from ``pos`` to the end."""
        s = self.s
        tail = Tail(self.out.components, self.out.spans, self.put)
        text_start = -1
        while pos < len(s):
            ch = s[pos]
            if ch in "()-":
                # Brackets separate (海农公路)碧桂园; a dash joins numbers (12-301).
                self._text(text_start, pos)
                text_start = -1
                close = s.find(")", pos)
                if ch == "(" and close > 0 and self.out.components.keys() & _NUMBERED:
                    # After the numbers, brackets hold a note: (近武定西路), (电联).
                    tail.flush()
                    self.leftover.append((pos, close + 1))
                    pos = close + 1
                    continue
                if ch == "-":
                    tail.dash()
                else:
                    tail.flush()
                pos += 1
                continue
            m = NUMBER.match(s, pos)
            if m is not None and (ch.isdigit() or m["unit"] or m["num"] != ch):
                self._text(text_start, pos)
                text_start = -1
                tail.number(m["num"], m["unit"], pos, m.end())
                pos = m.end()
                continue
            tail.flush()
            if text_start < 0 or pos in self.hits:
                self._text(text_start, pos)
                text_start = -1
                end = self.name(pos)
                if end > 0:
                    pos = end
                    continue
                text_start = pos
            pos = self._text_end(pos)
        self._text(text_start, len(s))
        tail.flush()
        self.leftover.extend(tail.leftover)

    def name(self, pos: int) -> int:
        """Read a road, village or compound at ``pos``; return its end, or -1."""
        comps = self.out.components
        hit = self.hits.get(pos)
        if hit is not None:
            end, places = hit
            for tag in ("road", "poi", "community"):
                place = next((p for p in places if p.tag == tag), None)
                if place is not None and (tag == "road" or tag not in comps):
                    self._place(tag, pos, end, place)
                    # A part of the road (东段, 辅路) is on its numbering: read past it.
                    return road_end(self.s, end) if tag == "road" else end
            if self.s.endswith(ADMIN_SUFFIXES, pos, end) and any(
                p.tag in _UPPER_LEVELS for p in places
            ):
                # A division written out after the prefix repeats or contradicts it.
                self.leftover.append((pos, end))
                return end
        kind, end = match_name(self.s, pos)
        if end < 0:
            return -1
        if kind in ("town", "devzone") and (kind in comps or "road" in comps):
            kind = "poi"
        if kind == "road":
            self._road(pos, end)
            return road_end(self.s, end)
        if kind == "community" and "community" in comps:
            kind = "poi"
        if kind == "poi" and "poi" in comps:
            kind = "subpoi"
        return end if self.put(kind, pos, end) else -1

    def _road(self, start: int, end: int) -> None:
        comps, spans = self.out.components, self.out.spans
        if "roadno" in comps and "subroad" not in comps:
            self.put("subroad", start, end)
            return
        # With two roads (政修路政立路120弄) the numbers belong to the last one.
        if "road" in spans and spans["road"][1] <= start:
            self.out.others.append(("road", *spans["road"]))
        comps["road"] = self.s[start:end]
        spans["road"] = (start, end)
        self.known_road = False

    def _place(self, tag: str, start: int, end: int, place: Place) -> None:
        if tag == "road":
            self._road(start, end)
            self.known_road = True
        else:
            self.put(tag, start, end)
        infer(self.out, place)

    def _text_end(self, pos: int) -> int:
        """End of a run of text no rule explains: the next number, dash or known name."""
        s = self.s
        end = pos + 1
        while end < len(s) and not (s[end].isdigit() or s[end] == "-" or end in self.hits):
            end += 1
        return end

    def _text(self, start: int, end: int) -> None:
        """Unexplained text: a compound before the building's numbers, else left over."""
        if start < 0 or end <= start:
            return
        compound = not (self.out.components.keys() & _BUILDING) and not NOTE.match(self.s, start)
        if compound and (self.put("poi", start, end) or self.put("subpoi", start, end)):
            return
        self.leftover.append((start, end))


def infer(out: Address, place: Place) -> None:
    """Infer divisions from a road or compound that lies in only one."""
    within = place.within
    if not within:
        return
    for tag, size in (("district", 6), ("town", 9), ("community", 12)):
        codes = {c[:size] for c in within if len(c) >= size}
        if tag not in out.codes and len(codes) == 1:
            out.codes[tag] = next(iter(codes))


def confidence(out: Address, road_known: bool) -> float:
    """How completely and surely an address was read, 0–1."""
    comps = out.components
    score = 1.0
    if "road" in comps and not road_known:
        score -= 0.25
    if not ({"road", "community", "poi"} & comps.keys()):
        score -= 0.5
    if not ({"roadno", "houseno"} & comps.keys()):
        score -= 0.2
    if out.rest:
        score -= min(0.3, 0.05 * len(out.rest))
    return max(0.0, score)
