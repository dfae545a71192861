"""Writing room addresses the many ways people and departments write them.

A formal address is ``上海市闵行区七莘路1885弄12号301室`` (or ``上海市闵行区马桥镇同心村3组45号``
in a village). Departments and residents also write: no city or district, the town
inserted, the city doubled (上海上海市), ``12-301``, ``12号楼301室``, ``12幢``, ``12栋``,
Chinese numerals (一千八百八十五弄, 三组), full-width digits, spaces, homophone typos in
road names, the lane without its word (七莘路1885号12号301室, 七莘路1885-12号301室), and a
unit or floor before the room (十二幢三单元301室, 12号二十一楼2101室). :class:`AddressStyle`
holds the rate of each habit; :func:`render_addresses` writes addresses with them,
vectorised.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from popbase.sample.roads import homophone_typos

_DIGITS = "零一二三四五六七八九"
_FULL_WIDTH = str.maketrans("0123456789-", "０１２３４５６７８９－")


def chinese_number(n: int) -> str:
    """Write ``n`` (0–99999) in Chinese numerals as spoken: 1885 → 一千八百八十五.

    Examples
    --------
    >>> chinese_number(1885), chinese_number(12), chinese_number(305)
    ('一千八百八十五', '十二', '三百零五')
    """
    if n == 0:
        return "零"
    units = ("", "十", "百", "千", "万")
    digits = [int(d) for d in str(n)][::-1]
    out: list[str] = []
    zero = False
    for pos in range(len(digits) - 1, -1, -1):
        d = digits[pos]
        if d == 0:
            zero = True
            continue
        if zero and out:
            out.append("零")
        zero = False
        out.append(_DIGITS[d] + units[pos])
    text = "".join(out)
    return text[1:] if text.startswith("一十") else text


def digit_by_digit(n: int) -> str:
    """Write ``n`` digit by digit: 301 → 三零一."""
    return "".join(_DIGITS[int(d)] for d in str(n))


@dataclass(frozen=True)
class AddressStyle:
    """How often a source's writers use each habit (rates 0–1)."""

    no_city: float = 0.2
    no_district: float = 0.2
    with_town: float = 0.1
    doubled_city: float = 0.01
    dash_room: float = 0.08
    building_word: float = 0.06
    no_room_suffix: float = 0.05
    chinese_numerals: float = 0.03
    full_width: float = 0.02
    spaces: float = 0.03
    homophone: float = 0.01
    no_lane_word: float = 0.0
    unit_floor: float = 0.0


FORMAL = AddressStyle(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)


_NUMBERS = np.array([str(i) for i in range(100_000)], dtype=object)


class AddressBook:
    """Address components of rooms or buildings, looked up by id and written in any style.

    Parameters
    ----------
    ids
        Room or building ids.
    parts
        Components aligned with ``ids``: ``district, town, road, lane_no, house_no,
        village, group_no, room_no`` (numbers as integers, 0 when absent; ``room_no`` as
        text, empty when absent).
    """

    def __init__(self, ids: np.ndarray, parts: pd.DataFrame) -> None:
        self.index = pd.Index(np.asarray(ids, dtype=object), dtype=object)
        self.text = {
            c: parts[c].fillna("").to_numpy(dtype=object)
            for c in ("district", "town", "road", "village", "room_no")
        }
        self.numbers = {
            c: parts[c].to_numpy().astype(np.int64) for c in ("lane_no", "house_no", "group_no")
        }
        # Typos never spell another road of the book (a reader could not tell them apart).
        self.roads = set(self.text["road"].tolist())
        rn = self.text["room_no"]
        self.numbers["room_no"] = np.array([int(x) if x else 0 for x in rn], dtype=np.int64)

    def render(self, ids: np.ndarray, style: AddressStyle, rng: np.random.Generator) -> np.ndarray:
        """Write the addresses of ``ids`` (``""`` for an empty id) with the habits of ``style``."""
        ids = np.asarray(ids, dtype=object)
        pos = self.index.get_indexer(ids)
        have = pos >= 0
        out = np.full(len(ids), "", dtype=object)
        if have.any():
            p = pos[have]
            text = {k: v[p] for k, v in self.text.items()}
            numbers = {k: v[p] for k, v in self.numbers.items()}
            out[have] = render_addresses(text, numbers, style, rng, self.roads)
        return out


def render_addresses(
    text: dict[str, np.ndarray],
    numbers: dict[str, np.ndarray],
    style: AddressStyle,
    rng: np.random.Generator,
    known_roads: set[str] | None = None,
) -> np.ndarray:
    """Write addresses from their components with the habits of ``style``.

    Parameters
    ----------
    text
        Object arrays ``district, town, road, village, room_no``.
    numbers
        Integer arrays ``lane_no, house_no, group_no, room_no`` (0 when absent).
    style
        Habit rates.
    rng
        Random generator.
    known_roads
        Roads a homophone typo must not spell (by default those of ``text``).

    Returns
    -------
    numpy.ndarray
        Object array of address strings.
    """
    n = len(text["road"])

    def r(p: float) -> np.ndarray:
        """One draw per address: which addresses show a habit of rate ``p``."""
        return np.asarray(rng.random(n) < p)

    def num(
        values: np.ndarray, chinese: np.ndarray, write: Callable[[int], str] = chinese_number
    ) -> np.ndarray:
        v = np.minimum(values, len(_NUMBERS) - 1)
        out = _NUMBERS[v]
        # Only the few addresses written in Chinese numerals need them.
        at = np.flatnonzero(chinese)
        out[at] = [write(int(x)) for x in v[at]]
        return np.asarray(out)

    cn = r(style.chinese_numerals)
    village = text["village"] != ""
    lane = numbers["lane_no"] > 0
    has_room = text["room_no"] != ""
    known = known_roads if known_roads is not None else set(text["road"].tolist())
    road = homophone_typos(text["road"], r(style.homophone), rng, known)
    sep = np.where(r(style.spaces), " ", "").astype(object)
    city = np.where(
        r(style.no_city), "", np.where(r(style.doubled_city), "上海上海市", "上海市")
    ).astype(object)
    district = np.where(r(style.no_district), "", text["district"])
    town = np.where(r(style.with_town) | village, text["town"], "")
    head = city + district + town
    # Without its word a lane reads as a house number, or runs into the house with a dash.
    lane_word = np.where(r(style.no_lane_word), np.where(r(0.5), "号", "-"), "弄").astype(object)
    lane_text = np.where(lane, num(numbers["lane_no"], cn) + lane_word, "")
    dash = r(style.dash_room) & has_room & ~village
    # 号楼/幢/栋 name a building inside a compound, never a number on the road.
    words = np.array(["号楼", "幢", "栋"], dtype=object)
    bword = np.where(r(style.building_word) & lane, words[rng.integers(0, 3, n)], "号")
    house_no = num(numbers["house_no"], cn & ~dash)
    room_text = np.where(
        dash,
        "-" + text["room_no"],
        np.where(
            has_room,
            num(numbers["room_no"], cn, digit_by_digit)
            + np.where(r(style.no_room_suffix), "", "室"),
            "",
        ),
    )
    house = house_no + np.where(dash, np.where(r(0.5), "号", ""), bword)
    # A unit (two flats a floor) or the floor, written before the room number.
    floor_no, flat = numbers["room_no"] // 100, numbers["room_no"] % 100
    unit_or_floor = r(style.unit_floor) & has_room & ~dash & ~village & (floor_no > 0)
    unit = r(0.5)
    inner = np.where(
        unit_or_floor,
        np.where(
            unit,
            num((np.maximum(flat, 1) + 1) // 2, cn) + "单元",
            num(floor_no, cn) + "楼",
        ),
        "",
    )
    house = house + inner
    urban = head + sep + road + sep + lane_text + sep + house + sep + room_text
    rural = (
        head
        + text["village"]
        + num(numbers["group_no"], cn)
        + "组"
        + num(numbers["house_no"], cn)
        + "号"
    )
    out = np.where(village, rural, urban)
    for i in np.flatnonzero(r(style.full_width)):
        out[i] = out[i].translate(_FULL_WIDTH)
    return np.array([a.strip() for a in out], dtype=object) if style.spaces else out


def address_parts(
    building_ids: np.ndarray,
    room_no: np.ndarray,
    buildings: pd.DataFrame,
    district: str,
    town_of: dict[str, str],
) -> pd.DataFrame:
    """Address components of places in buildings (a room number, or ``""`` for the building)."""
    b = buildings.set_index("building_id")
    at = b.index.get_indexer(pd.Index(building_ids))
    comm = b["community_code"].to_numpy(dtype=object)[at]
    return pd.DataFrame(
        {
            "district": district,
            "town": np.array([town_of.get(c[:9], "") for c in comm], dtype=object),
            "road": b["road"].to_numpy(dtype=object)[at],
            "lane_no": b["lane_no"].to_numpy()[at],
            "house_no": b["house_no"].to_numpy()[at],
            "village": b["village"].to_numpy(dtype=object)[at],
            "group_no": b["group_no"].to_numpy()[at],
            "room_no": np.asarray(room_no, dtype=object),
        },
        dtype=object,
    )
