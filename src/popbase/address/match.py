"""The address and match stages: every address of every record to a building and a room.

``address`` parses each distinct address string once (city data repeats addresses
heavily) into ``parsed_addresses``. ``match`` finds the building by its door-plate key —
exactly, or after correcting the road name (homophones, one-character typos) among the
roads of the district or street the address implies — and the room: from the housing
table where it covers the building, otherwise rebuilt from the residents' addresses (the
人口分户地址 route), unless implausible (a floor above the building's height, a room number
out of any building's pattern). Every address ends linked or with a reason:
``address_missing``, ``outside_region`` (an address elsewhere, e.g. a hukou in another
province), ``address_unparsed``, ``unknown_road``, ``ambiguous_road``,
``unknown_number``, ``ambiguous_building``, ``no_room_number``, ``unknown_room``,
``implausible_room``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from popbase.address.fuzzy import RoadCorrector
from popbase.address.index import (
    BuildingIndex,
    Key,
    build_index,
    lane_of_plate,
    plate_key,
    plate_street,
)
from popbase.address.lane import MAX_UNITS_PER_FLOOR, locate_formal, outside, read_formal
from popbase.address.names import ADMIN_SUFFIXES
from popbase.address.parse import Address
from popbase.address.region import region_gate
from popbase.context import quarantine_rows
from popbase.errors import SourceFileError
from popbase.io.gc_pause import gc_paused
from popbase.space.room_id import room_ids, room_numbers

if TYPE_CHECKING:
    from popbase.context import BuildContext

LINK_COLUMNS = ["source", "record_id", "address_kind", "text", "building_id", "room_id", "reason"]
# Why an address is not linked (each is documented in the module docstring).
LINK_REASONS = frozenset(
    {
        "address_missing",
        "outside_region",
        "address_unparsed",
        "unknown_road",
        "ambiguous_road",
        "unknown_number",
        "ambiguous_building",
        "no_room_number",
        "unknown_room",
        "implausible_room",
    }
)
_DIGITS = re.compile(r"\d+")
# Divisions read before a road, dropped when they turn out to be the road's first word.
_ABOVE_ROAD = ("prov", "city", "district", "town")


def _index(ctx: BuildContext) -> BuildingIndex:
    """The basemap index, built once per build and shared by both stages."""
    cached = ctx.shared.get("building_index")
    if isinstance(cached, BuildingIndex):
        return cached
    divisions = ctx.db.query_df("SELECT code, name FROM divisions")
    cols = ctx.db.query_df("SELECT * FROM buildings LIMIT 0").columns
    extra = ", compound" if "compound" in cols else ""
    buildings = ctx.db.query_df(
        f"SELECT building_id, address, use, floors, community_code{extra} FROM buildings"
    )
    index = build_index(divisions, buildings, known_road_names(ctx))
    index.region = ctx.project.config.project.region_code
    ctx.shared["building_index"] = index
    return index


def known_road_names(ctx: BuildContext) -> list[str]:
    """Names of the project's roads layer (``space.roads``), if it has one.

    A road the basemap knows is read as a road whatever its ending; the layer only adds
    names, so one that cannot be read is noted in the stage's figures (``roads_layer``),
    not a reason to stop the build.
    """
    from popbase.space.layers import read_layer

    layer = ctx.project.config.space.roads
    if layer is None:
        return []
    try:
        names = read_layer(ctx.project, "roads", layer).features["name"]
    except SourceFileError as e:
        ctx.shared["roads_layer"] = str(e)
        return []
    ctx.shared["roads_layer"] = f"{names.nunique()} road names"
    return sorted({str(n).strip() for n in names.dropna() if str(n).strip()})


def _record_addresses(ctx: BuildContext) -> pd.DataFrame:
    """Every address of every record: ``source, record_id, address_kind, text``.

    Person rows set aside for their ID number keep their addresses linked: resolution
    without an ID (hotline tickets, mistyped IDs) needs the room as evidence.
    """
    return ctx.db.query_df(
        """
        SELECT source, record_id, 'residence' AS address_kind, residence_address AS text
        FROM person_records WHERE residence_address IS NOT NULL
        UNION ALL
        SELECT source, record_id, 'hukou', hukou_address
        FROM person_records WHERE hukou_address IS NOT NULL
        UNION ALL
        SELECT source, record_id, 'registered', address FROM enterprise_records_valid
        UNION ALL
        SELECT source, record_id, 'room', coalesce(address, building_address) FROM room_records
        """
    )


@dataclass
class ReadAddresses:
    """Distinct addresses, read: formal ones as columns, the rest one by one.

    Attributes
    ----------
    formal
        Rows of :func:`popbase.address.lane.read_formal`.
    parsed
        Text → its parse, for the rest.
    outside
        Texts set aside for their leading division names (outside the region).
    """

    formal: pa.Table
    parsed: dict[str, Address]
    outside: set[str]

    def table(self) -> pd.DataFrame:
        """``parsed_addresses``: text, outside_region, components, codes, confidence, rest."""
        parsed, outside = self.parsed, self.outside
        one_by_one = pd.DataFrame(
            {
                "text": [*parsed, *outside],
                "outside_region": [False] * len(parsed) + [True] * len(outside),
                "components": [
                    json.dumps(a.components, ensure_ascii=False) for a in parsed.values()
                ]
                + ["{}"] * len(outside),
                "codes": [json.dumps(a.codes) for a in parsed.values()] + ["{}"] * len(outside),
                "confidence": [a.confidence for a in parsed.values()] + [None] * len(outside),
                "rest": [a.rest for a in parsed.values()] + [""] * len(outside),
            }
        )
        formal = self.formal.select(["text", "outside_region", "components", "codes", "confidence"])
        formal = _objects(formal.append_column("rest", pa.array([""] * len(formal))))
        return pd.concat([formal, one_by_one], ignore_index=True)


def read_addresses(texts: Sequence[str], index: BuildingIndex) -> ReadAddresses:
    """Read distinct addresses: the formal lane first, then the rest one by one."""
    with gc_paused():  # many small objects, no cycles: no collection needed
        written = pa.array(list(texts), pa.string())
        formal = read_formal(written, index.parser, index.region)
        rest = written.filter(
            pc.invert(pc.is_in(written, value_set=formal["text"].combine_chunks()))
        )
        parsed, outside_texts = parse_for_matching(rest.to_pylist(), index)
    return ReadAddresses(formal, parsed, outside_texts)


def locate_all(read: ReadAddresses, index: BuildingIndex) -> pd.DataFrame:
    """``text, building_id, room_no, reason, road_corrected`` of every address read."""
    roads = RoadCorrector(index.roads)
    with gc_paused():
        located = locate_formal(read.formal, index, roads)
        one_by_one = [
            (t, *found, found[0] is not None and a.components.get("road", "") not in index.roads)
            for t, a in read.parsed.items()
            for found in [locate(a, index, roads)]
        ]
    one_by_one += [(t, None, None, "outside_region", False) for t in read.outside]
    rest = pd.DataFrame(one_by_one, columns=located.column_names, dtype=object)
    return pd.concat([_objects(located), rest], ignore_index=True)


def _objects(table: pa.Table) -> pd.DataFrame:
    """An Arrow table as a frame of Python objects, None for null (as the stages expect)."""
    frame: pd.DataFrame = table.to_pandas()
    for name, kind in zip(table.column_names, table.schema.types, strict=True):
        if pa.types.is_string(kind) or pa.types.is_boolean(kind):
            values = frame[name].astype(object)
            frame[name] = values.where(values.notna(), None)
    return frame


def parse_addresses(ctx: BuildContext) -> dict[str, Any]:
    """Parse every distinct address string once into ``parsed_addresses``.

    Addresses whose leading division names lie outside the region (hukou elsewhere) are
    only marked so: matching needs no more of them.
    """
    index = _index(ctx)
    texts = _record_addresses(ctx)["text"].dropna().astype(str).unique().tolist()
    read = read_addresses(texts, index)
    ctx.shared["read_addresses"] = read
    table = read.table()
    ctx.db.put("parsed_addresses", table)
    low = int((table["confidence"] < 0.5).sum())
    return {
        "roads_layer": ctx.shared.get("roads_layer", "none"),
        "distinct_addresses": len(table),
        "read_as_columns": len(read.formal),
        "outside_region": int(table["outside_region"].sum()),
        "low_confidence": low,
    }


def parse_for_matching(
    texts: Iterable[str], index: BuildingIndex
) -> tuple[dict[str, Address], set[str]]:
    """Parse distinct addresses, setting aside those that lie outside the index's region."""
    gate = region_gate(index.region) if index.region else None
    parser = index.parser
    parsed: dict[str, Address] = {}
    outside: set[str] = set()
    for t in texts:
        # The gate reads the text as written; what it cannot place is parsed in full
        # (and still found outside by its codes).
        if gate is not None and gate.outside(t):
            outside.add(t)
        else:
            parsed[t] = parser.parse(t)
    return parsed, outside


def locate(
    a: Address, index: BuildingIndex, roads: RoadCorrector
) -> tuple[str | None, str | None, str | None]:
    """Building, room number and reason for one parsed address.

    Returns
    -------
    tuple
        ``(building_id, room_no, reason)``; a found building may still carry a reason
        (no or implausible room number).
    """
    if outside(a.codes, index.region):
        misread = misread_road(a, roads)
        if misread is None:
            return None, None, "outside_region"
        a = misread
    key: Key | None = plate_key(a)
    comps = a.components
    if key is None:
        poi = comps.get("poi")
        house = a.number("houseno") or a.number("roadno")
        street = plate_street(a)
        if poi in index.compounds and house is not None:
            road, lane = index.compounds[poi]
            key = ("lane", road, lane, house)
        elif street is not None and house is not None:
            # A name before a door-plate number is a street (章家弄660号: a lane's name,
            # perhaps mistyped, which the correction below finds among the area's).
            key = ("plate", street, house, 0)
        elif not ({"road", "community", "poi"} & comps.keys()):
            return None, None, "address_unparsed"
        else:
            return None, None, "unknown_number"
    if key[0] != "village" and key[1] not in index.roads:
        kind, _, first, second = key
        within = [a.codes.get("town", ""), a.codes.get("district", "")]
        fixed, reason = roads.correct(
            key[1],
            [w for w in within if w][:1],
            has=lambda r: (kind, r, first, second) in index.keys,
        )
        if fixed is None:
            return None, None, reason
        key = (kind, fixed, first, second)
    building = index.keys.get(key)
    lane_key = lane_of_plate(a, key) if building is None and key not in index.ambiguous else None
    if lane_key is not None and lane_key in index.keys:
        key, building = lane_key, index.keys[lane_key]
    if building is None:
        return None, None, "ambiguous_building" if key in index.ambiguous else "unknown_number"
    room = a.number("roomno")
    if room is None:
        if building in index.village_houses:
            return building, "0", None
        return building, None, "no_room_number"
    floor = a.number("floorno") or (room // 100 if room >= 100 else None)
    floors = index.floors.get(building, 0)
    if (floor and floors and floor > floors) or (room >= 100 and room % 100 > MAX_UNITS_PER_FLOOR):
        return building, None, "implausible_room"
    return building, str(room), None


def misread_road(a: Address, roads: RoadCorrector) -> Address | None:
    """The address read again when a division before its road is a misspelt road's start.

    Roads are named after other places (襄阳南路, 陕西南路, 中山南二路, 乌鲁木齐中路), so a
    typo after such a name (襄阳楠路) leaves the place's short form to be read as a
    division elsewhere and the rest (楠路) as the road. Where the short form and the road
    together are one known road of the area but for a typo, that road is meant: the
    address is read with it and without the divisions the short form implied. None when
    no such road is found (the address is then outside).
    """
    comps, spans = a.components, a.spans
    road_span = spans.get("road")
    if road_span is None:
        return None
    for tag in ("district", "city", "prov"):
        span = spans.get(tag)
        if span is None or span[1] != road_span[0] or comps[tag].endswith(ADMIN_SUFFIXES):
            continue
        fixed, _ = roads.correct(comps[tag] + comps["road"])
        if fixed is None:
            return None
        components = {t: v for t, v in comps.items() if t not in _ABOVE_ROAD}
        components["road"] = fixed
        kept = {t: v for t, v in spans.items() if t not in _ABOVE_ROAD}
        kept["road"] = (span[0], road_span[1])
        return replace(a, components=components, spans=kept, codes={})
    return None


def _room_numbers(values: pd.Series) -> pd.Series:
    """Digits of room numbers as written in a housing table (0301室 → 301)."""

    def digits(v: object) -> str | None:
        if not isinstance(v, str):
            return None
        m = _DIGITS.search(v)
        return str(int(m.group())) if m else None

    return values.map(digits).astype(object)


def match_addresses(ctx: BuildContext) -> dict[str, Any]:
    """Link every address to a building and room, or give the reason it cannot be."""
    db = ctx.db
    index = _index(ctx)
    read = ctx.shared.get("read_addresses")
    if not isinstance(read, ReadAddresses):
        parse_addresses(ctx)
        read = ctx.shared["read_addresses"]
    located = locate_all(read, index)
    addresses = _record_addresses(ctx)
    addresses = addresses.merge(located, on="text", how="left")
    addresses["reason"] = addresses["reason"].where(
        addresses["text"].isin(located["text"]), "address_missing"
    )

    # Housing table rows: their own room number wins over the parsed one.
    rooms_in = db.query_df("SELECT record_id, room_no FROM room_records")
    housing = addresses[addresses["address_kind"] == "room"].merge(
        rooms_in.rename(columns={"room_no": "given_room"}), on="record_id", how="left"
    )
    given = _room_numbers(housing["given_room"])
    housing["room_no"] = given.where(given.notna(), housing["room_no"])
    housing.loc[housing["building_id"].notna() & housing["room_no"].notna(), "reason"] = None
    housing["room_id"] = room_ids(housing["building_id"], housing["room_no"])
    housing.loc[housing["room_id"].isna() & housing["reason"].isna(), "reason"] = "no_room_number"
    bad = housing["room_id"].isna()
    records = db.query_df("SELECT source, record_id, file, row_number FROM room_records")
    quarantined = records[records["record_id"].isin(set(housing.loc[bad, "record_id"]))].merge(
        housing[["record_id", "reason"]], on="record_id"
    )
    db.append(
        "quarantine",
        quarantine_rows(
            quarantined,
            "match",
            quarantined["reason"],
            "the room's address matches no building of the basemap",
        ),
    )
    db.put(
        "room_record_links", housing[["record_id", "building_id", "room_no", "room_id", "reason"]]
    )
    housing_rooms = housing[~bad].drop_duplicates("room_id")
    covered = set(housing_rooms["building_id"])
    known_rooms = set(housing_rooms["room_id"])

    links = addresses[addresses["address_kind"] != "room"].copy()
    links["room_id"] = room_ids(links["building_id"], links["room_no"])
    unknown = (
        links["building_id"].isin(covered)
        & links["room_id"].notna()
        & ~links["room_id"].isin(known_rooms)
    )
    links.loc[unknown, "reason"] = "unknown_room"
    links.loc[unknown, "room_id"] = None
    # Registered (enterprise) addresses link to buildings only.
    registered = links["address_kind"] == "registered"
    links.loc[registered, "room_id"] = None
    links.loc[registered & links["building_id"].notna(), "reason"] = None
    record_links = links[LINK_COLUMNS].astype(object)
    db.put("record_links", record_links)

    rebuilt = record_links[
        record_links["room_id"].notna() & ~record_links["building_id"].isin(covered)
    ]
    rebuilt = rebuilt.drop_duplicates("room_id")
    rooms = pd.concat(
        [
            pd.DataFrame(
                {
                    "room_id": housing_rooms["room_id"],
                    "building_id": housing_rooms["building_id"],
                    "room_no": housing_rooms["room_no"],
                    "origin": "housing",
                }
            ),
            pd.DataFrame(
                {
                    "room_id": rebuilt["room_id"],
                    "building_id": rebuilt["building_id"],
                    "room_no": room_numbers(rebuilt["room_id"]),
                    "origin": "rebuilt",
                }
            ),
        ],
        ignore_index=True,
    ).astype(object)
    digits = pd.to_numeric(rooms["room_no"], errors="coerce")
    rooms["floor"] = (digits // 100).where(digits >= 100, 1).astype("Int64")
    db.put("rooms", rooms)
    linked = record_links["reason"].isna()
    by_reason = record_links.loc[~linked, "reason"].value_counts().to_dict()
    return {
        "addresses": len(record_links),
        "linked": int(linked.sum()),
        "unlinked_by_reason": {str(k): int(v) for k, v in by_reason.items()},
        "roads_corrected": int(located["road_corrected"].astype(bool).sum()),
        "rooms_housing": len(housing_rooms),
        "rooms_rebuilt": len(rebuilt),
        "room_rows_quarantined": int(bad.sum()),
    }
