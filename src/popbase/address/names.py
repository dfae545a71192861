"""What names in an address look like: the suffixes of towns, roads, villages and compounds.

The gazetteer knows the divisions; everything else is recognised by how its name ends:
a town in 镇/街道/乡, a development zone in 开发区/工业园区, a road in 路/街/大道/公路/巷,
a village in 村/社区, a compound in 小区/花园/新村/苑/…. One lazy expression finds, after a
position, the name that ends soonest and which kind it is (:func:`match_name`). These are
the rules; :mod:`popbase.address.reading` applies them in order.
"""

from __future__ import annotations

import re

from popbase.address.gazetteer import Gazetteer, Place

ADMIN_SUFFIXES = ("省", "市", "区", "县", "镇", "乡", "街道")
# Suffixes of a county's (or city's) name: a road may be named after one (黄县路, 长宁路).
_COUNTY_SUFFIXES = ("市", "区", "县", "旗")
_COUNTY_ROAD = re.compile(
    "(?:大道|公路|大街|路|街)(?:[东南西北中]?段)?(?=[0-9]|$|[一二三四五六七八九十百千零〇]+[号弄])"
)
# A road's suffix, possibly after a direction or ordinal (东路, 南二路, 环路).
_ROAD_SUFFIX = "大道|公路|大街|路|街|巷|胡同"
_ROAD_NEXT = f"[东南西北中环支]?[一二三四五六七八九十\\d]?(?:{_ROAD_SUFFIX})"
# A name's suffix must not run on into a road's (花园路, 青镇北路, 村路) or a division's.
_NOT_ENDED = f"(?!{_ROAD_NEXT}|[镇乡区县市]|街道|村)"
_SUFFIXES = {
    "town": "街道办事处|街道办|街道|街办|办事处|管理处|办(?![公事])|镇|乡|地区|农场",
    "devzone": "经济技术开发区|经济开发区|高新技术产业开发区|开发区|工业园区|工业区|产业园区"
    "|产业园|科技园区|科技园|高新区|保税区|园区",
    "road": _ROAD_SUFFIX,
    "community": "社区|村委会|居委会|村",
    "poi": "小区|花园|家园|大厦|广场|新村|(?:[一二三四五六七八九十]|\\d{1,2})村|公寓|中心|市场|新城"
    "|山庄|别墅|宿舍|酒店|宾馆|医院|学校|大学|中学|小学|幼儿园|超市|公司|大楼|商城|商场|公馆",
    # One-character endings of compounds: weak, they also occur inside names (砖厂湾镇).
    "weak": "苑|庭|府|城|园|院|店|厦|馆|寓|厂|站|郡|邸|里",
}
# What may not follow each kind's suffix.
_AFTER = {kind: _NOT_ENDED for kind in _SUFFIXES} | {
    "road": "(?![镇乡村道]|街道|区)",  # 吉大街道 is a town, not the road 吉大街
    "town": "(?!街道|[镇乡])",
}
# Characters of a name: CJK (with the rare extensions), latin letters, and U+FFFD.
NAME_CHAR = "[\u3400-\u9fff\uf900-\ufaff\U00020000-\U0003ffff\ufffdA-Z]"


def _name_expression(kinds: tuple[str, ...]) -> re.Pattern[str]:
    """One lazy expression: the name ending soonest after a position, and its kind."""
    alternatives = "|".join(f"(?P<{k}>{_SUFFIXES[k]}){_AFTER[k]}" for k in kinds)
    return re.compile(f"{NAME_CHAR}{{1,12}}?(?:{alternatives})")


NAME = _name_expression(tuple(_SUFFIXES))
_STRONG_NAME = _name_expression(tuple(k for k in _SUFFIXES if k != "weak"))
_ROAD_NAME = _name_expression(("road",))
ROAD_AFTER = re.compile(_ROAD_NEXT)
# Words that name a part of the road before them (人民路东段, 金雀山路辅路), not a road:
_ROAD_PART = re.compile("(?:辅路|辅道|最?[东南西北中]?[一二三四五六七八九十]?段)(?=[0-9(-]|$)")
# How far past a weak ending a strong one may end and still win (砖厂湾镇, not 砖厂).
_WEAK_REACH = 3
# A county the gazetteer does not know (a typo, a character the corpus lost).
DISTRICT = re.compile(
    f"{NAME_CHAR}{{1,4}}?(?:自治县|县|(?<![小社园校景厂业城新])区|旗)(?!{_ROAD_NEXT}|[镇乡]|街道)"
)
# Words between divisions that name none (上海市市辖区闵行区, 闵行区城区, a NULL export).
FILLERS = ("市辖区", "城区", "市区", "NULL")
# Notes to the courier, not parts of the address.
NOTE = re.compile("电联|联系|电话|手机")
# What continues a name: a short form followed by one is the start of that name
# (花木路, 陆家嘴环路, 莘城社区, 七宝镇), not the division.
_CONTINUES = re.compile(
    _ROAD_NEXT + "|社区|村|新村|小区|花园|大厦|镇|乡|街道|经济|开发区|工业区|工业园|高新区"
)
_TOWN_NEXT = re.compile("街道|办事处")
_GROUP_NEXT = re.compile("\\d+[组队]")

Hits = dict[int, tuple[int, tuple[Place, ...]]]


def match_name(s: str, pos: int) -> tuple[str, int]:
    """The kind and end of the name starting at ``pos``, or ``("", -1)``.

    Examples
    --------
    >>> [match_name(t, 0) for t in ("七莘路1885弄", "砖厂湾镇", "青镇北路", "樱桃新村15号")]
    [('road', 3), ('town', 4), ('road', 4), ('poi', 4)]
    """
    m = NAME.match(s, pos)
    if m is None:
        return "", -1
    kind, end = m.lastgroup or "", m.end()
    if s[end - 1] == "村" and _GROUP_NEXT.match(s, end):
        return "community", end  # a village, whatever its name (新星村5组)
    if kind == "weak":
        strong = _STRONG_NAME.match(s, pos)
        if strong is not None and strong.end() - end <= _WEAK_REACH:
            return strong.lastgroup or "", strong.end()
        return "poi", end
    if kind == "town" and end - pos <= 2 and ROAD_AFTER.match(s, end):
        road = _ROAD_NAME.match(s, pos)  # 青镇北路 is a road
        if road is not None:
            return "road", road.end()
    return kind, end


def road_end(s: str, end: int) -> int:
    """Where reading goes on after a road ending at ``end``: past a part written after it.

    A segment (人民路东段) or the service road beside it (金雀山路辅路) is on the road's
    own numbering: the number after it is the road's, and the road's name is the road's
    (as the corpora tag it).

    Examples
    --------
    >>> road_end("人民路东段12号", 3), road_end("黄河路辅路1号", 3), road_end("黄河路段家弄", 3)
    (5, 5, 3)
    """
    m = _ROAD_PART.match(s, end)
    return m.end() if m is not None else end


def names_road(s: str, end: int) -> bool:
    """Whether a road's suffix follows ``end``: the name before it is the road's (长宁路)."""
    return ROAD_AFTER.match(s, end) is not None and not s.startswith("街道", end)


def county_road(s: str, end: int) -> bool:
    """Whether a county's full name ending at ``end`` starts a road named after it.

    Only a road's word right after it, then the road's number (黄县路12号, 鄞县大道15号,
    西区大道5号); a direction or an ordinal between (江山市南三街, 慈溪市西路) starts a road
    of its own in the county, and a name after it another division (路桥区路北街道).
    """
    return _COUNTY_ROAD.match(s, end) is not None


def continued(s: str, start: int, end: int, places: tuple[Place, ...]) -> bool:
    """Whether a name found in ``s`` is only the start of a longer one (花木 in 花木路).

    Before a town's suffix even a district's full name is (城区街道, 朝阳区街道).
    """
    if any(p.tag == "road" for p in places):
        return False
    if _TOWN_NEXT.match(s, end) and s.endswith("区", start, end):
        return True
    if _CONTINUES.match(s, end) is None:
        return False
    # Roads are named after the places beside them, and committees after their roads
    # (冠生园路 and 冠生园居委会, 同心村 and 同心村路): a compound's or a village's name
    # before a road's suffix is the road's.
    named_after = names_road(s, end)
    if s.endswith(_COUNTY_SUFFIXES, start, end) and county_road(s, end):
        return True
    return all(
        p.name != s[start:end] or (named_after and p.tag in ("poi", "community")) for p in places
    )


def name_hits(gazetteer: Gazetteer, s: str) -> Hits:
    """The gazetteer's names in ``s`` that stand as names: start → (end, places).

    A name that only starts a longer one (:func:`continued`) is dropped, unless a division
    written out follows it (宁波 in 宁波镇海区); a county's short form written with the
    wrong suffix takes the suffix in (川沙区 for 川沙县).
    """
    found = gazetteer.find(s)
    divisions = {a for a, b, _ in found if s.endswith(ADMIN_SUFFIXES, a, b)}
    starts = {a for a, _, _ in found}
    hits: Hits = {}
    for a, b, places in found:
        county_named = b in divisions and b not in starts and county_road(s, b)
        if (b not in divisions or county_named) and continued(s, a, b, places):
            continue
        if (
            b < len(s)
            and s[b] in "区县"
            and b + 1 not in starts
            and not s.endswith(ADMIN_SUFFIXES, a, b)
            and any(p.tag == "district" for p in places)
        ):
            b += 1
        hits[a] = (b, places)
    return hits


def short_district(places: tuple[Place, ...], text: str) -> bool:
    """Whether ``text`` is only a county's short form (柯桥 for 柯桥区)."""
    return all(p.tag == "district" and p.name != text for p in places)


def repeats(codes: dict[str, str], places: tuple[Place, ...], text: str, followed: bool) -> bool:
    """Whether ``text`` repeats a division already read (its code is in ``codes``).

    A repeat is written in full (上海市上海市, 闵行区七宝镇闵行区七宝镇) or followed by
    another division (上海上海市浦东新区上海浦东新区); a short form before other text starts
    another name (莘庄镇莘庄北路, 杭州市杭州湾大道).
    """
    full = text.endswith(ADMIN_SUFFIXES)
    return (full or followed) and any(p.code and codes.get(p.tag) == p.code for p in places)
