"""Is an address outside the area the base covers? Read from its leading division names.

Matching only needs to know that ``安徽省阜阳市颍州区…`` or ``上海市徐汇区…`` lies outside a
base of 闵行区: the first names settle it, and the full reading (which a city's many
unique out-of-town hukou addresses would each need) can be skipped. A name that could
belong to the region, or none at all, leaves the address to the full parser.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from popbase.address.gazetteer import china_divisions
from popbase.address.names import county_road


class RegionGate:
    """Decide from leading division names that an address is outside ``region``.

    Parameters
    ----------
    region
        Division code of the covered area (``"310112"``, ``"3101"``).
    names
        (tag, name, code) of divisions whose names may lead an address (by default
        China's provinces, cities and counties).

    Examples
    --------
    >>> gate = RegionGate("310112")
    >>> gate.outside("安徽省阜阳市颍州区西湖镇永新村3组12号"), gate.outside("上海市徐汇区漕溪路1号")
    (True, True)
    >>> gate.outside("上海市闵行区七莘路1885弄12号"), gate.outside("七莘路1885弄12号")
    (False, False)
    >>> gate.outside("闵行区吉林支路1549弄1号401室"), gate.outside("北京西路1号")
    (False, False)
    """

    def __init__(self, region: str, names: Iterable[tuple[str, str, str]] | None = None) -> None:
        self.region = region
        self.codes: dict[str, set[str]] = {}
        # Full names only: a short form (吉林, 北京) also starts road names (吉林支路,
        # 北京西路), which the full parser tells apart and this gate cannot.
        for _, name, code in names if names is not None else china_divisions():
            self.codes.setdefault(name, set()).add(code)
        # Names by their first two characters, longest first: one lookup per position.
        self.by_start: dict[str, list[tuple[str, bool]]] = {}
        for name in sorted(self.codes, key=len, reverse=True):
            ok = any(self._compatible(c) for c in self.codes[name])
            self.by_start.setdefault(name[:2], []).append((name, ok))

    def _compatible(self, code: str) -> bool:
        return code.startswith(self.region) or self.region.startswith(code)

    def _division_at(self, text: str, pos: int) -> bool:
        return any(text.startswith(n, pos) for n, _ in self.by_start.get(text[pos : pos + 2], ()))

    def outside(self, text: str) -> bool:
        """True when the leading division names place ``text`` outside the region."""
        pos = 0
        while True:
            for name, ok in self.by_start.get(text[pos : pos + 2], ()):
                if text.startswith(name, pos):
                    after = pos + len(name)
                    if county_road(text, after) and not self._division_at(text, after):
                        return False  # a road named after it (黄县路): the parser decides
                    if not ok:
                        return True
                    pos += len(name)
                    break
            else:
                return False


@lru_cache(maxsize=8)
def region_gate(region: str) -> RegionGate:
    """The gate of ``region`` over China's divisions, made once (it sorts thousands of names)."""
    return RegionGate(region)
