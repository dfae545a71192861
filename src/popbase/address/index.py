"""The basemap as the address engine sees it: door plates, roads, compounds and rooms.

Every building's own address is parsed with the same parser as the records, giving its
door-plate key: (road, lane, house) inside a compound (七莘路1885弄12号), (road, number)
on the road (张杨路100号), or (village, group, house) in the countryside (同心村3组45号).
Compounds are indexed by name to their lane, so 莘庄花园12号 finds 七莘路1885弄12号.
"""

from __future__ import annotations

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


def build_index(divisions: pd.DataFrame, buildings: pd.DataFrame) -> BuildingIndex:
    """Index the basemap's buildings by their door plates.

    Parameters
    ----------
    divisions
        ``code, name`` of the project's divisions.
    buildings
        ``building_id, address, use, floors, community_code`` (and ``compound`` if the
        basemap names compounds).
    """
    div_pairs = list(zip(divisions["code"].astype(str), divisions["name"].astype(str), strict=True))
    base = AddressParser(Gazetteer(admin_places(div_pairs)))
    parsed = [base.parse(str(a)) for a in buildings["address"]]
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
