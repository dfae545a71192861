"""Does every road name link? A basemap per list of names, and its addresses written many ways.

A city's roads come in every shape: 冠生园路 and 肇嘉浜路 end in a compound's or a
creek's word before 路, 仪风弄 and 三林老街 are lanes and old streets, 曹路 is also a
town, 中山南二路 carries a direction and an ordinal. A committee is often named after its
road (肇嘉浜路居委会) or its road's stem (冠生园居委会), so the names of the area compete
with the road's. :func:`check_roads` builds, for a list of road names, a small basemap —
on each road one building in a lane and one on the road's own number, in a district
whose committees are named after the roads — and writes each building's room in the forms
the sample and departments use (:data:`LANE_FORMS`, :data:`PLATE_FORMS`). Every address is
then read and matched by the build's own path; a road whose addresses do not link back to
their room is a failure, with the forms that failed.

The bundled real names (``popbase/data/roads_shanghai.csv``) are checked by the tests; the
road names of the public address corpora (read at run time) by the address bench.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources

import pandas as pd

from popbase.address.index import build_index
from popbase.address.match import locate_all, read_addresses

# The area the check's basemap lies in.
DISTRICT = ("310104", "徐汇区")
TOWN = ("310104003", "漕河泾街道")
REGION = "310104"
# The numbers of the lane building and the plate building on every road.
LANE, HOUSE, ROOM = 12, 3, 402
PLATE, PLATE_ROOM = 88, 1502
# A committee code has three digits after its street's: a basemap holds this many roads.
ROADS_PER_BASEMAP = 999
# How departments and residents write a room in a lane (numerals spelt out as the numbers
# above: 十二弄三号四零二室, 八十八号): ``{road}`` is the road's name.
LANE_FORMS: dict[str, str] = {
    "formal": f"上海市徐汇区{{road}}{LANE}弄{HOUSE}号{ROOM}室",
    "no_prefix": f"{{road}}{LANE}弄{HOUSE}号{ROOM}室",
    "with_town": f"徐汇区漕河泾街道{{road}}{LANE}弄{HOUSE}号{ROOM}室",
    "city_doubled": f"上海上海市徐汇区{{road}}{LANE}弄{HOUSE}号{ROOM}室",
    "house_building": f"{{road}}{LANE}弄{HOUSE}号楼{ROOM}室",
    "house_zhuang": f"{{road}}{LANE}弄{HOUSE}幢{ROOM}",
    "dashed": f"{{road}}{LANE}弄{HOUSE}-{ROOM}",
    "spaced": f"上海市 徐汇区 {{road}} {LANE}弄 {HOUSE}号 {ROOM}室",
    "chinese_numerals": "{road}十二弄三号四零二室",
    "full_width": "{road}１２弄３号４０２室",
}
# How a room in a building on the road's own number is written.
PLATE_FORMS: dict[str, str] = {
    "plate_formal": f"上海市徐汇区{{road}}{PLATE}号{PLATE_ROOM}室",
    "plate_no_prefix": f"{{road}}{PLATE}号{PLATE_ROOM}",
    "plate_dashed": f"{{road}}{PLATE}-{PLATE_ROOM}",
    "plate_chinese": f"{{road}}八十八号{PLATE_ROOM}室",
}
# A road's suffix, cut off to give the stem a committee may be named after (冠生园).
_ROAD_END = re.compile("(?:[东南西北中]?[一二三四五六七八九十]?(?:大道|公路|大街|路|街|弄|巷))$")


@dataclass
class RoadCheck:
    """What :func:`check_roads` found.

    Attributes
    ----------
    roads
        Road names checked.
    addresses
        Addresses written (every form of every road).
    failures
        Road → ``(form, address, what it matched or why not)`` of the addresses that did
        not link back to their room.
    """

    roads: int = 0
    addresses: int = 0
    failures: dict[str, list[tuple[str, str, str]]] = field(default_factory=dict)

    @property
    def linked_share(self) -> float:
        """Share of the addresses that linked to their own room."""
        failed = sum(len(v) for v in self.failures.values())
        return 1.0 - failed / self.addresses if self.addresses else 1.0


def bundled_road_names() -> list[str]:
    """The real road and lane names bundled with popbase (``data/roads_shanghai.csv``)."""
    text = resources.files("popbase.data").joinpath("roads_shanghai.csv").read_text("utf-8")
    return [row["name"] for row in csv.DictReader(text.splitlines())]


def road_stem(road: str) -> str:
    """A road's name without its suffix (冠生园路 → 冠生园; 中山南二路 → 中山)."""
    return _ROAD_END.sub("", road)


def has_lanes(road: str) -> bool:
    """Whether lanes branch off the road: a lane (仪风弄) or alley (胡巷) has only plates."""
    return not road.endswith(("弄", "巷", "胡同"))


def check_divisions(roads: Sequence[str]) -> pd.DataFrame:
    """``code, name`` of the check's area: a district, a street, a committee per road.

    Committees are named after their road (X路居委会) or its stem (X居委会), as Shanghai's
    are, so that the names of the area compete with the roads' names.
    """
    rows = [DISTRICT, TOWN]
    for i, road in enumerate(roads):
        stem = road_stem(road)
        name = f"{stem}居委会" if i % 2 and len(stem) >= 3 else f"{road}居委会"
        rows.append((f"{TOWN[0]}{i + 1:03d}", name))
    return pd.DataFrame(rows, columns=["code", "name"])


def check_buildings(roads: Sequence[str]) -> pd.DataFrame:
    """The basemap's buildings: on each road one in a lane and one on the road's number."""
    rows = []
    for i, road in enumerate(roads):
        committee = f"{TOWN[0]}{i + 1:03d}"
        if has_lanes(road):
            rows.append(
                (f"L{i}", f"上海市徐汇区{road}{LANE}弄{HOUSE}号", "residential", 6, committee)
            )
        rows.append((f"P{i}", f"上海市徐汇区{road}{PLATE}号", "residential", 20, committee))
    return pd.DataFrame(rows, columns=["building_id", "address", "use", "floors", "community_code"])


def written_addresses(roads: Iterable[str]) -> list[tuple[str, str, str, str]]:
    """``(road, form, text, room_id)`` of every form of every road's two rooms."""
    out = []
    for i, road in enumerate(roads):
        for form, pattern in LANE_FORMS.items() if has_lanes(road) else ():
            out.append((road, form, pattern.format(road=road), f"L{i}-{ROOM}"))
        for form, pattern in PLATE_FORMS.items():
            out.append((road, form, pattern.format(road=road), f"P{i}-{PLATE_ROOM}"))
    return out


def check_roads(roads: Iterable[str]) -> RoadCheck:
    """Write every road's rooms in every form, match them, and report what fails.

    Parameters
    ----------
    roads
        Road names (duplicates are checked once).

    Examples
    --------
    >>> check = check_roads(["冠生园路", "肇嘉浜路", "柿子湾路"])
    >>> check.roads, check.addresses, check.failures
    (3, 42, {})
    """
    names = list(dict.fromkeys(r for r in roads if r))
    check = RoadCheck(roads=len(names))
    for first in range(0, len(names), ROADS_PER_BASEMAP):
        _check_basemap(names[first : first + ROADS_PER_BASEMAP], check)
    return check


def _check_basemap(names: list[str], check: RoadCheck) -> None:
    """Check one basemap's roads (at most one committee code per road), into ``check``."""
    index = build_index(check_divisions(names), check_buildings(names))
    index.region = REGION
    written = written_addresses(names)
    located = locate_all(read_addresses([t for _, _, t, _ in written], index), index)
    found: dict[str, tuple[str | None, str | None, str | None]] = {
        str(t): (b, r, why)
        for t, b, r, why in zip(
            located["text"],
            located["building_id"],
            located["room_no"],
            located["reason"],
            strict=True,
        )
    }
    check.addresses += len(written)
    for road, form, text, room_id in written:
        building, room, reason = found.get(text, (None, None, "not read"))
        got = f"{building}-{room}" if building and room else None
        if got != room_id:
            check.failures.setdefault(road, []).append((form, text, got or str(reason)))
