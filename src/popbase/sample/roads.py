"""Real road names for the sample city's roads, and their typos.

A district's roads are named from ``popbase/data/roads_shanghai.csv``: 383 real Shanghai
road and lane names of many shapes (龙泉园路, 肇嘉浜路, 柿子湾路, 仪风弄, 三林老街, 中山东一路,
人民大道). Each district draws its own subset in its own order, so districts differ in
their roads as real districts do, and a city of several districts never names two roads
alike. Roads that the district's committees are named after (中春路居委会 → 中春路) are
always among the district's roads.

When a district needs more roads than the list still holds, further names are made from
the real ones the way cities name new roads after old ones, in this order:

1. a direction or branch before the road word of a real ``…路`` or ``…街``:
   龙泉园路 → 龙泉园东路, 龙泉园西路, 龙泉园南路, 龙泉园北路, 龙泉园支路;
2. a numbered road: 龙泉园路 → 龙泉园一路, 龙泉园二路, 龙泉园三路.

Names whose stem already ends in a direction or a numeral (中山北路, 中山东一路) are not
extended. A name is never invented from loose characters.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from functools import cache
from importlib import resources

import numpy as np

# The words that end a road's name (its kind), longest first so 老街 wins over 街.
ROAD_WORDS = ("公路", "大道", "支路", "老街", "路", "街", "弄", "巷")
# Lanes, alleys and old streets: short, with few house numbers.
SHORT_KINDS = ("弄", "巷", "街", "老街")
_DIRECTIONS = "东西南北中"
_NUMERALS = "一二三四五六七八九十"
# How cities name new roads after an old one: a direction or branch, then a number.
DERIVED_INFIXES: tuple[tuple[str, ...], ...] = (("东", "西", "南", "北", "支"), ("一", "二", "三"))

# Characters that typists confuse with a same-sounding one when writing road names
# (pinyin input offers both; tones aside): 南 → 楠 as in 襄阳楠路, 中 → 忠 as in 乌鲁木齐忠路.
ROAD_HOMOPHONES = dict(
    zip(
        "南中西东北山江家大金新安兴阳华宁长泉州云河广青民昌宝川桥香林门园庆国永福黄通德政"
        "京同顺孙建杨岭平延都花口重三湖汾锦秀木和学阴博心太仓波定寿市灵庄成源曹松柳胜殷淮"
        "陵高龙兰春丰镇临丹桂人仙业军凤石美星双吴周四权场复渡连天威前武光桃关巨望思远文治"
        "方普曲浙浦贵白泽胶湾马岛陆原谷丽九交亮仁霞仪风会佳斯保元芳合共工凌勤茶张恒敬景渔"
        "雪梅梦塘泰滨溪漕盛祥翔秦章紫纪苏蒋蒲银沙清闵陈莲靖静修莘虹吉航申剑田宜红洪七沪",
        "楠忠希冬贝珊疆佳达津欣鞍星杨化凝常全洲芸和光清敏常保穿乔湘临们元清果勇富皇同得正"
        "经通舜荪健阳领萍沿督华扣中叁胡分金绣目合雪音波欣泰苍博订受是玲装城元漕淞留盛因怀"
        "凌皋隆蓝椿峰振林单贵仁先叶君奉时梅兴霜吾洲寺全厂福杜莲添微钱舞广陶官聚旺斯园闻志"
        "芳浦区折普桂百则交弯玛导路元古利久胶量人侠宜峰汇家思宝园方和贡公陵琴查章衡静井余"
        "学美孟唐太宾西曹胜翔祥琴张子记素江浦寅莎青敏晨连静靖秀辛洪季杭深建甜仪宏鸿柒户",
        strict=True,
    )
)


@cache
def real_road_names() -> tuple[str, ...]:
    """The real road and lane names bundled with popbase, in file order.

    Examples
    --------
    >>> names = real_road_names()
    >>> len(names) > 300, "肇嘉浜路" in names, "仪风弄" in names
    (True, True, True)
    """
    text = resources.files("popbase.data").joinpath("roads_shanghai.csv").read_text("utf-8-sig")
    rows = csv.DictReader(text.splitlines())
    return tuple(dict.fromkeys(r["name"].strip() for r in rows if r["name"].strip()))


def road_kind(name: str) -> str:
    """The word that ends a road's name: 路, 街, 弄, 巷, 老街, 支路, 大道 or 公路.

    Examples
    --------
    >>> road_kind("三林老街"), road_kind("肇嘉浜路"), road_kind("仪风弄"), road_kind("沪闵公路")
    ('老街', '路', '弄', '公路')
    """
    return next((w for w in ROAD_WORDS if name.endswith(w) and len(name) > len(w)), name[-1])


def derived_names(real: Iterable[str]) -> Iterator[str]:
    """Further road names made from real ones, tier by tier (see the module docstring).

    Examples
    --------
    >>> list(derived_names(["龙泉园路", "中山北路", "仪风弄"]))[:6]
    ['龙泉园东路', '龙泉园西路', '龙泉园南路', '龙泉园北路', '龙泉园支路', '龙泉园一路']
    """
    bases = []
    for name in real:
        kind = road_kind(name)
        stem = name[: -len(kind)]
        if kind in ("路", "街") and stem and stem[-1] not in _DIRECTIONS + _NUMERALS:
            bases.append((stem, kind))
    for infixes in DERIVED_INFIXES:
        for stem, kind in bases:
            for infix in infixes:
                yield stem + infix + kind


def draw_road_names(
    n: int,
    rng: np.random.Generator,
    *,
    first: Iterable[str] = (),
    taken: Iterable[str] = (),
) -> list[str]:
    """Name ``n`` roads of one district from the real list.

    Parameters
    ----------
    n
        Roads to name.
    rng
        The district's generator: its order of the list is the district's own.
    first
        Names the district must have (the roads its committees are named after), given
        first in this order.
    taken
        Names used by other districts of the same city, never repeated.

    Returns
    -------
    list of str
        ``n`` distinct names: ``first``, then real names in the district's order, then
        names derived from the district's real names, then from all real names.

    Raises
    ------
    ValueError
        If even the derived names run out.
    """
    used = set(taken)
    out: list[str] = []

    def add(names: Iterable[str]) -> None:
        for name in names:
            if len(out) >= n:
                return
            if name not in used:
                used.add(name)
                out.append(name)

    add(first)
    real = list(real_road_names())
    order = [real[i] for i in rng.permutation(len(real))]
    add(order)
    add(derived_names(list(out)))
    add(derived_names(order))
    if len(out) < n:
        raise ValueError(
            f"the sample needs {n} road names but the real list and the names made from "
            f"it hold only {len(out)}; Fix: lay out fewer roads (a larger road spacing)"
        )
    return out


def committee_roads(committee_names: Iterable[str]) -> dict[str, str]:
    """The real road each committee is named after, if any (中春路第三居委会 → 中春路).

    Examples
    --------
    >>> committee_roads(["中春路第三居委会", "龙泉园路居委会", "同心村村委会"])
    {'中春路第三居委会': '中春路', '龙泉园路居委会': '龙泉园路'}
    """
    names = sorted(real_road_names(), key=len, reverse=True)
    out: dict[str, str] = {}
    for committee in committee_names:
        road = next((r for r in names if committee.startswith(r)), None)
        if road is not None:
            out[committee] = road
    return out


def homophone_typos(
    roads: np.ndarray, hit: np.ndarray, rng: np.random.Generator, known: set[str]
) -> np.ndarray:
    """Replace one character of each hit road name with a same-sounding one.

    The road word (路, 弄, 老街 …) is kept, and a typo that would spell another road of
    ``known`` is not made (a reader could not tell it from that road).
    """
    out = roads.copy()
    for i in np.flatnonzero(hit):
        road = out[i]
        spots = [k for k, ch in enumerate(road[:-1]) if ch in ROAD_HOMOPHONES]
        if spots:
            k = spots[rng.integers(0, len(spots))]
            typo = road[:k] + ROAD_HOMOPHONES[road[k]] + road[k + 1 :]
            if typo not in known:
                out[i] = typo
    return out
