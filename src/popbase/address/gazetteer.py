"""The gazetteer: every place name an address may contain, in one Aho–Corasick automaton.

Provinces, cities and counties of China (bundled statistical codes), old names of merged
or renamed districts (卢湾区 → 黄浦区), the project's streets/towns and committees, its
roads and compounds. Each name maps to one or more entries (the same town name exists in
several districts); the parser picks the entry that fits the address's other parts.
Dictionary segmentation with an automaton is what the 精细化 address method prescribes,
and is an order of magnitude faster than statistical word segmentation.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

import ahocorasick

if TYPE_CHECKING:
    from popbase.config import Project

MUNICIPALITIES = ("北京市", "天津市", "上海市", "重庆市")
# Levels of the administrative prefix, outermost first.
ADMIN_TAGS = ("prov", "city", "district", "town", "community")
# Suffixes dropped to make the short forms people write (闵行区 → 闵行, 莘庄镇 → 莘庄).
_SHORT_SUFFIXES = {
    "prov": ("省", "市", "壮族自治区", "回族自治区", "维吾尔自治区", "自治区", "特别行政区"),
    "city": ("市", "地区", "盟", "自治州"),
    "district": ("新区", "区", "县", "市", "自治县", "旗"),
    "town": ("街道", "镇", "乡"),
}


@dataclass(frozen=True, slots=True)
class Place:
    """One meaning of a name in the gazetteer.

    Attributes
    ----------
    tag
        Address component it fills: prov, city, district, town, community, road, poi.
    name
        The canonical name (today's name for an alias).
    code
        Division code when it is a division ('' for roads and compounds); for a road, the
        division codes it runs through are in ``within``.
    within
        Codes of the divisions that contain it (roads, compounds), for inference.
    """

    tag: str
    name: str
    code: str = ""
    within: tuple[str, ...] = ()


def _data_rows(name: str) -> list[dict[str, str]]:
    text = resources.files("popbase.data").joinpath(name).read_text(encoding="utf-8-sig")
    return list(csv.DictReader(text.splitlines()))


def short_forms(name: str, tag: str) -> list[str]:
    """The full name and the forms without its administrative suffix.

    Examples
    --------
    >>> short_forms("闵行区", "district"), short_forms("江川路街道", "town")
    (['闵行区', '闵行'], ['江川路街道'])
    """
    forms = [name]
    if name.endswith("新区"):
        forms.append(name[:-2] + "区")  # 浦东区 for 浦东新区
    for suffix in _SHORT_SUFFIXES.get(tag, ()):
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            short = name[: -len(suffix)]
            # 江川路街道 must not shorten to a road name; 浦东新区 → 浦东 is fine.
            if not short.endswith(("路", "街", "道")):
                forms.append(short)
            break
    return forms


@cache
def china_divisions() -> tuple[tuple[str, str, str], ...]:
    """(tag, name, code) of China's provinces, cities and counties (bundled, 2023)."""
    out: list[tuple[str, str, str]] = []
    out += [("prov", r["name"], r["code"]) for r in _data_rows("provinces.csv")]
    out += [
        ("city", r["name"], r["code"]) for r in _data_rows("cities.csv") if r["name"] != "市辖区"
    ]
    out += [("district", r["name"], r["code"]) for r in _data_rows("areas.csv")]
    # Municipalities are also cities (上海市 is tagged city in address corpora).
    out += [
        ("city", r["name"], r["code"] + "01")
        for r in _data_rows("provinces.csv")
        if r["name"] in MUNICIPALITIES
    ]
    return tuple(out)


@cache
def historical_districts() -> tuple[tuple[str, str, str], ...]:
    """(name, old code, today's code) of abolished Shanghai districts and counties.

    The bundled area-code timeline gives the old names; where a code was abolished, today's
    district is the one whose code absorbed it (a curated table of the merges).
    """
    merged_into = {
        "310102": "310101",
        "310103": "310101",
        "310108": "310106",
        "310111": "310113",
        "310119": "310115",
        "310221": "310112",
        "310222": "310114",
        "310223": "310113",
        "310224": "310115",
        "310225": "310115",
        "310226": "310120",
        "310227": "310117",
        "310228": "310116",
        "310229": "310118",
        "310230": "310151",
    }
    out = []
    for code, spans in _timeline().items():
        if code in merged_into:
            for span in spans:
                out.append((str(span["address"]), code, merged_into[code]))
    return tuple(out)


@cache
def _timeline() -> dict[str, list[dict[str, Any]]]:
    text = resources.files("popbase.data").joinpath("address_code_timeline.json").read_text("utf-8")
    timeline: dict[str, list[dict[str, Any]]] = json.loads(text)
    return timeline


@cache
def former_counties() -> tuple[tuple[str, str], ...]:
    """(name, code) of county-level names no longer in use outside Shanghai (宁波 江东区).

    Where the timeline does not say which county absorbed an abolished one, the old code
    stands; its first four digits still name the city.
    """
    current = {(name, code) for _, name, code in china_divisions()}
    out = []
    for code, spans in _timeline().items():
        if code.startswith("31") or code.endswith("00"):
            continue
        for span in spans:
            name = str(span["address"])
            if (name, code) not in current:
                out.append((name, code))
    return tuple(out)


class Gazetteer:
    """Names → places, searchable in one pass over an address.

    Parameters
    ----------
    places
        (name, place) pairs; a name may occur with several places.
    """

    def __init__(self, places: Iterable[tuple[str, Place]]) -> None:
        table: dict[str, list[Place]] = {}
        for name, place in places:
            if len(name) < 2:
                continue
            entries = table.setdefault(name, [])
            if place not in entries:
                entries.append(place)
        self.names = {k: tuple(v) for k, v in table.items()}
        automaton = ahocorasick.Automaton()
        for name, meanings in self.names.items():
            automaton.add_word(name, (len(name) - 1, meanings))
        automaton.make_automaton()
        self._automaton = automaton
        self.roads = {k for k, v in self.names.items() if any(p.tag == "road" for p in v)}
        self.digit_free = not any(c.isdigit() for n in self.names for c in n)
        # Every beginning of a name, for finding the longest name at a position by lookups.
        self._prefixes = frozenset(n[:i] for n in self.names for i in range(1, len(n) + 1))

    def find(self, text: str) -> list[tuple[int, int, tuple[Place, ...]]]:
        """Leftmost-longest non-overlapping names in ``text``: (start, end, places)."""
        if not self.names:
            return []
        return [
            (end - back, end + 1, entries)
            for end, (back, entries) in self._automaton.iter_long(text)
        ]

    def longest_at(self, text: str, start: int) -> int:
        """End of the longest name starting at ``start`` in ``text``, or -1.

        Examples
        --------
        >>> city = Place("city", "上海市", "3101")
        >>> g = Gazetteer([("上海", Place("prov", "上海市", "31")), ("上海市", city)])
        >>> g.longest_at("上海市闵行区", 0), g.longest_at("上海市闵行区", 3)
        (3, -1)
        """
        end = -1
        stop = start + 1
        while stop <= len(text) and text[start:stop] in self._prefixes:
            if text[start:stop] in self.names:
                end = stop
            stop += 1
        return end

    def __contains__(self, name: str) -> bool:
        return name in self.names

    def __len__(self) -> int:
        return len(self.names)


# Road words: a committee's stem ending in one (中春路居委会) is the road's name, not its own.
_ROAD_ENDINGS = ("路", "街", "道", "巷", "弄")


def _committee_short_forms(name: str, code: str) -> list[tuple[str, Place]]:
    """The names a committee goes by in addresses, as what the corpora tag them.

    A village committee is written without 委会 (同心村委会 → 同心村), a community. A
    residential committee's stem is its 社区 (莘城社区居委会 → 莘城社区, a community), or
    else the compound it serves (泗塘五村居委会 → 泗塘五村, 樱桃新村): address corpora tag
    the compound as ``poi``, so the stem is a ``poi`` whose ``within`` is the committee. A
    stem of two characters (北街) is too common a string to stand for anything, and one
    ending in a road word names the road.
    """
    out: list[tuple[str, Place]] = []
    for suffix in ("村民委员会", "村委会"):
        if name.endswith(suffix):
            short = name[: -len(suffix)]
            short += "" if short.endswith("村") else "村"
            if len(short) >= 3:
                out.append((short, Place("community", name, code)))
            return out
    for suffix in ("居民委员会", "居委会"):
        if not name.endswith(suffix):
            continue
        stem = name[: -len(suffix)]
        if len(stem) < 3 or stem.endswith(_ROAD_ENDINGS):
            return out
        if stem.endswith("社区"):
            out.append((stem, Place("community", name, code)))
        else:
            out.append((stem, Place("poi", stem, "", (code,))))
    return out


def admin_places(
    divisions: Iterable[tuple[str, str]] = (),
) -> list[tuple[str, Place]]:
    """Names of China's divisions, Shanghai's old districts, and a project's own divisions.

    Parameters
    ----------
    divisions
        (code, name) of the project's divisions: streets/towns (9 digits) and committees
        (12 digits) add town and community names.
    """
    out: list[tuple[str, Place]] = []
    for tag, name, code in china_divisions():
        # A municipality is a province and a city: 上海 is the province, 上海市 both.
        municipal_city = tag == "city" and name in MUNICIPALITIES
        for form in [name] if municipal_city else short_forms(name, tag):
            out.append((form, Place(tag, name, code)))
    names = {code: name for tag, name, code in china_divisions() if tag == "district"}
    for old_name, _, today in historical_districts():
        for form in short_forms(old_name, "district"):
            out.append((form, Place("district", names.get(today, old_name), today)))
    for old_name, code in former_counties():
        out.append((old_name, Place("district", old_name, code)))
    for code, name in divisions:
        if len(code) == 9:
            for form in short_forms(name, "town"):
                out.append((form, Place("town", name, code)))
        elif len(code) == 12:
            out.append((name, Place("community", name, code)))
            out += _committee_short_forms(name, code)
    return out


@cache
def bundled_divisions() -> tuple[tuple[str, str], ...]:
    """(code, name) of Shanghai's streets/towns and committees (bundled, 2023)."""
    out = [(r["code"], r["name"]) for r in _data_rows("streets_shanghai.csv")]
    out += [(r["code"], r["name"]) for r in _data_rows("villages_shanghai.csv")]
    return tuple(out)


def bundled_places() -> list[tuple[str, Place]]:
    """:func:`admin_places` with Shanghai's bundled streets/towns and committees."""
    return admin_places(bundled_divisions())


def project_places(project: Project) -> list[tuple[str, Place]]:
    """:func:`bundled_places` plus a project's own divisions and the roads of its buildings.

    The divisions layer adds the project's streets/towns and committees; each building's
    door-plate address, read with that gazetteer, gives a road name and the divisions its
    buildings lie in (``within``), so that a road can tell the district or town of an
    address that omits it.

    Parameters
    ----------
    project
        A loaded project (see :func:`popbase.config.load_project`).
    """
    from popbase.address.parse import AddressParser
    from popbase.space.division_layers import division_units
    from popbase.space.layers import read_layer

    space = project.config.space
    divisions = division_units(project).units
    pairs = {
        (str(code), str(name))
        for code, name in zip(divisions["code"], divisions["name"], strict=True)
        if isinstance(code, str) and isinstance(name, str)
    }
    places = admin_places(tuple(sorted(set(bundled_divisions()) | pairs)))
    buildings = read_layer(project, "buildings", space.buildings).features
    parser = AddressParser(Gazetteer(places))
    within: dict[str, set[str]] = {}
    for text in set(buildings["address"].dropna().astype(str)):
        address = parser.parse(text)
        road = address.components.get("road")
        if road:
            code = address.codes.get("town") or address.codes.get("district")
            within.setdefault(road, set()).update([code] if code else [])
    places += [
        (road, Place("road", road, "", tuple(sorted(codes)))) for road, codes in within.items()
    ]
    return places
