"""Correcting road names: same-sounding characters and one-character typos.

Typists confuse characters that sound alike (莘 xin / 辛 xin, 虹 hong / 洪 hong), and drop
or swap one. A written road that the basemap does not know is compared with the roads
that could be meant — those of the district or street the address names or implies, and
that have the building number it gives — first by pinyin (a homophone is the likeliest
error), then by edit distance 1. Only a unique candidate corrects the name; two or more
leave the address ``ambiguous``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import lru_cache

from rapidfuzz.distance import Levenshtein

_SUFFIXES = ("大道", "公路", "支路", "大街", "路", "街", "巷", "弄")


def _stem(road: str) -> tuple[str, str]:
    for suffix in _SUFFIXES:
        if road.endswith(suffix) and len(road) > len(suffix):
            return road[: -len(suffix)], suffix
    return road, ""


@lru_cache(maxsize=20_000)
def readings(ch: str) -> frozenset[str]:
    """Every toneless reading of a character (莘: shen, xin), itself if it has none."""
    from pypinyin import Style, pinyin

    found = pinyin(ch, style=Style.NORMAL, heteronym=True, errors="default")
    return frozenset(found[0]) if found and found[0] else frozenset({ch})


def sound_alike(a: str, b: str) -> bool:
    """Whether two names can be read the same, character by character.

    Many characters have several readings (莘 is shen in 莘县 and xin in 莘庄), so two
    characters sound alike when any of their readings agree.

    Examples
    --------
    >>> sound_alike("七莘路", "七辛路"), sound_alike("虹梅路", "洪梅路")
    (True, True)
    >>> sound_alike("七莘路", "七宝路")
    False
    """
    return len(a) == len(b) and all(
        x == y or readings(x) & readings(y) for x, y in zip(a, b, strict=True)
    )


class RoadCorrector:
    """Find the known road a misspelt one stands for.

    Parameters
    ----------
    roads
        Known road names with the division codes they run through (committee codes).
    """

    def __init__(self, roads: dict[str, set[str]]) -> None:
        self.roads = roads
        # A misspelt road recurs in every address written with it: look each up once.
        self._found: dict[tuple[str, tuple[str, ...]], list[str]] = {}
        self._by_shape: dict[tuple[int, str], list[str]] = {}
        for road in roads:
            stem, suffix = _stem(road)
            self._by_shape.setdefault((len(stem), suffix), []).append(road)

    def candidates(self, road: str, within: Iterable[str] = ()) -> list[str]:
        """Known roads ``road`` may stand for, inside the divisions ``within`` if given.

        Homophones first; if none, roads one edit away with the same suffix.
        """
        scope = tuple(c for c in within if c)
        found = self._found.get((road, scope))
        if found is None:
            found = self._found[(road, scope)] = self._candidates(road, scope)
        return list(found)

    def _candidates(self, road: str, scope: tuple[str, ...]) -> list[str]:
        def inside(name: str) -> bool:
            return not scope or any(code.startswith(s) for s in scope for code in self.roads[name])

        stem, suffix = _stem(road)
        sound = [
            r
            for r in self._by_shape.get((len(stem), suffix), [])
            if r != road and sound_alike(road, r) and inside(r)
        ]
        if sound:
            return sound
        return [
            r
            for r in self.roads
            if r.endswith(suffix)
            and abs(len(r) - len(road)) <= 1
            and r != road
            and Levenshtein.distance(r, road, score_cutoff=1) <= 1
            and inside(r)
        ]

    def correct(
        self, road: str, within: Iterable[str] = (), has: Callable[[str], bool] | None = None
    ) -> tuple[str | None, str | None]:
        """The road meant, or a reason why none: ``unknown_road`` or ``ambiguous_road``.

        Parameters
        ----------
        road
            The road as written.
        within
            Division codes the address names or implies (district, street).
        has
            Keeps only candidates that have the building number the address gives.
        """
        if road in self.roads:
            return road, None
        found = self.candidates(road, within)
        if has is not None and len(found) > 1:
            found = [r for r in found if has(r)] or found
        if len(found) == 1:
            return found[0], None
        return None, "ambiguous_road" if found else "unknown_road"
