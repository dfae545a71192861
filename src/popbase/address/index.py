"""The basemap as the address engine sees it: door plates, roads, compounds and rooms.

Every building's own address is parsed with the same parser as the records, giving its
door-plate key: (road, lane, house) inside a compound (七莘路1885弄12号), (road, number)
on the road (张杨路100号), or (village, group, house) in the countryside (同心村3组45号).
Compounds are indexed by name to their lane, so 莘庄花园12号 finds 七莘路1885弄12号.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import pandas as pd

from popbase.address.gazetteer import Gazetteer, Place, admin_places
from popbase.address.parse import Address, AddressParser

# A door-plate key: ("lane", road, lane, house) / ("plate", road, number, 0) /
# ("village", village, group, house).
Key = tuple[str, str, int, int]


def plate_key(a: Address, road: str | None = None) -> Key | None:
    """The door-plate key an address gives (with ``road`` replacing its road if given)."""
    comps = a.components
    road = road or comps.get("road")
    roadno = comps.get("roadno", "")
    if road and roadno.endswith("弄") and a.number("houseno") is not None:
        return ("lane", road, a.number("roadno") or 0, a.number("houseno") or 0)
    if road and roadno and not roadno.endswith("弄"):
        return ("plate", road, a.number("roadno") or 0, 0)
    village = comps.get("community")
    if village and "village_group" in comps and a.number("houseno") is not None:
        return ("village", village, a.number("village_group") or 0, a.number("houseno") or 0)
    return None


def lane_of_plate(a: Address, key: Key) -> Key | None:
    """The lane key a plate key with a house after it may stand for, or None.

    A lane is entered at a door plate of its road (七莘路1885弄 at 七莘路1885号), and its
    houses are written on that plate: 1885号12号, 1885号12栋, 1885-12号. Where the road has
    no building at the plate itself, the house of the lane is meant.
    """
    if key[0] != "plate":
        return None
    house = a.number("houseno")
    if house is None:
        # 1885-12号: the number after the dash, when the plate has one.
        numbers = re.findall(r"\d+", a.components.get("roadno", ""))
        house = int(numbers[1]) if len(numbers) == 2 else None
    return None if house is None else ("lane", key[1], key[2], house)


def _road_places(roads: Iterable[str]) -> list[tuple[str, Place]]:
    return [(road, Place("road", road)) for road in roads]


def plate_street(a: Address) -> str | None:
    """The name a door-plate number is written on, when the parse made it no road.

    Door plates (门牌) are numbered along streets, lanes and alleys, and lanes (弄) branch
    off streets: in a basemap's ``仪风弄88号``, ``蕃瓜弄5号`` or ``营口道12弄3号`` the name
    right before the plate or lane number is the street, whatever its last character,
    where a record's reading alone would take it for a compound.
    """
    comps, spans = a.components, a.spans
    if "road" in comps or "village_group" in comps:
        return None
    number = next((t for t in ("roadno", "houseno") if t in comps), None)
    if number is None or not comps[number].endswith(("号", "弄")):
        return None
    # The names written right before the number, run together (花园 + 弄 is 花园弄).
    names = sorted((spans[t], comps[t]) for t in ("community", "poi", "subpoi") if t in spans)
    start, street = spans[number][0], ""
    for (begin, end), text in reversed(names):
        if end > start or a.text[end:start].strip():  # only spaces may lie between
            break
        street, start = text + street, begin
    return street if len(street) >= 2 else None


def read_plates(
    addresses: Sequence[str], divisions: Sequence[tuple[str, str]], known_roads: Iterable[str]
) -> list[Address]:
    """Read the basemap's door-plate addresses; what the basemap knows is a road.

    The roads the project knows (its roads layer) are roads whatever their ending; so are
    the names the buildings' plates are numbered on (:func:`plate_street`): the addresses
    that gave such a name are read again with it known.
    """
    places = admin_places(divisions)
    roads = set(known_roads)
    first = AddressParser(Gazetteer(places + _road_places(sorted(roads))))
    parsed = [first.parse(a) for a in addresses]
    streets = {name for a in parsed for name in [plate_street(a)] if name} - roads
    if not streets:
        return parsed
    again = AddressParser(Gazetteer(places + _road_places(sorted(roads | streets))))
    return [
        again.parse(text) if plate_street(a) else a
        for text, a in zip(addresses, parsed, strict=True)
    ]


@dataclass
class BuildingIndex:
    """Door plates, roads and compounds of the basemap.

    Attributes
    ----------
    parser
        The parser (its gazetteer knows the project's divisions, roads and compounds).
    keys
        Door-plate key → building id (keys shared by two buildings are left out).
    ambiguous
        Keys that two or more buildings share.
    roads
        Road → committee codes of the buildings on it.
    compounds
        Compound name → (road, lane) of the compound, where unique.
    floors, use, village_houses
        Per building id: its floors, its use, and whether it is a single-dwelling house.
    region
        Division code of the area the basemap covers (addresses elsewhere are outside).
    """

    parser: AddressParser
    keys: dict[Key, str] = field(default_factory=dict)
    ambiguous: set[Key] = field(default_factory=set)
    roads: dict[str, set[str]] = field(default_factory=dict)
    compounds: dict[str, tuple[str, int]] = field(default_factory=dict)
    floors: dict[str, int] = field(default_factory=dict)
    use: dict[str, str] = field(default_factory=dict)
    village_houses: set[str] = field(default_factory=set)
    region: str = ""


def build_index(
    divisions: pd.DataFrame, buildings: pd.DataFrame, known_roads: Iterable[str] = ()
) -> BuildingIndex:
    """Index the basemap's buildings by their door plates.

    Parameters
    ----------
    divisions
        ``code, name`` of the project's divisions.
    buildings
        ``building_id, address, use, floors, community_code`` (and ``compound`` if the
        basemap names compounds).
    known_roads
        Road names the project knows besides its buildings' addresses (its roads layer).
    """
    div_pairs = list(zip(divisions["code"].astype(str), divisions["name"].astype(str), strict=True))
    parsed = read_plates(buildings["address"].astype(str).tolist(), div_pairs, known_roads)
    roads: dict[str, set[str]] = {}
    for a, code in zip(parsed, buildings["community_code"].astype(str), strict=True):
        road = a.components.get("road")
        if road:
            roads.setdefault(road, set()).add(code)
    compounds_by_name: dict[str, set[tuple[str, int]]] = {}
    if "compound" in buildings:
        for a, name in zip(parsed, buildings["compound"], strict=True):
            key = plate_key(a)
            if isinstance(name, str) and name and key is not None and key[0] == "lane":
                compounds_by_name.setdefault(name, set()).add((key[1], key[2]))
    places: list[tuple[str, Place]] = admin_places(div_pairs)
    places += [
        (road, Place("road", road, "", tuple(sorted(codes)))) for road, codes in roads.items()
    ]
    places += _road_places(sorted(set(known_roads) - roads.keys()))
    places += [(name, Place("poi", name)) for name in compounds_by_name]
    index = BuildingIndex(AddressParser(Gazetteer(places)))
    index.roads = roads
    index.compounds = {n: next(iter(v)) for n, v in compounds_by_name.items() if len(v) == 1}
    for a, bid, use, floors in zip(
        parsed,
        buildings["building_id"].astype(str),
        buildings["use"].astype(str),
        buildings["floors"],
        strict=True,
    ):
        index.use[bid] = use
        index.floors[bid] = int(floors) if pd.notna(floors) else 0
        key = plate_key(a)
        if key is None:
            continue
        if key[0] == "village":
            index.village_houses.add(bid)
        if key in index.keys and index.keys[key] != bid:
            index.ambiguous.add(key)
        index.keys[key] = bid
    for key in index.ambiguous:
        index.keys.pop(key, None)
    return index
