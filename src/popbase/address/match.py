"""The match stage: every address of every record to a building and, where it names one, a room.

Buildings are found by their door-plate key (exact). Rooms come from the housing table
where it covers a building; elsewhere they are rebuilt from the residents' addresses
(the 人口分户地址 route). Each address ends linked or with a reason: ``address_missing``,
``address_unparsed``, ``unknown_building``, ``ambiguous_building``, ``no_room_number``,
``unknown_room``. Identical strings are parsed once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from popbase.address.parse import PlaceNames, parse_address
from popbase.ops.ingest import quarantine_rows

if TYPE_CHECKING:
    from popbase.pipeline import BuildContext

LINK_COLUMNS = ["source", "record_id", "address_kind", "text", "building_id", "room_id", "reason"]


def parse_unique(texts: pd.Series, places: PlaceNames) -> pd.DataFrame:
    """Parse each distinct address once; returns ``building_key, room_no, reason`` per input."""
    values = texts.astype(object).where(texts.notna(), None)
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    parsed = [parse_address(u, places) for u in uniques]
    keys = np.array([p.building_key for p in parsed] + [None], dtype=object)
    rooms = np.array([p.room_no for p in parsed] + [None], dtype=object)
    reasons = np.array([p.reason for p in parsed] + ["address_missing"], dtype=object)
    return pd.DataFrame(
        {"building_key": keys[codes], "room_no": rooms[codes], "reason": reasons[codes]},
        index=texts.index,
    )


def _building_index(buildings: pd.DataFrame, places: PlaceNames) -> tuple[dict[str, str], set[str]]:
    parsed = parse_unique(buildings["address"], places)
    keys = parsed["building_key"]
    counts = keys.value_counts()
    ambiguous = set(counts[counts > 1].index)
    lookup = {
        k: b
        for k, b in zip(keys, buildings["building_id"], strict=True)
        if k is not None and k not in ambiguous
    }
    return lookup, ambiguous


def _locate(parsed: pd.DataFrame, lookup: dict[str, str], ambiguous: set[str]) -> pd.DataFrame:
    building = parsed["building_key"].map(lookup)
    reason = parsed["reason"].copy()
    failed = reason.isna() & building.isna()
    reason[failed] = np.where(
        parsed.loc[failed, "building_key"].isin(ambiguous), "ambiguous_building", "unknown_building"
    )
    return pd.DataFrame(
        {
            "building_id": building.astype(object),
            "room_no": parsed["room_no"],
            "reason": reason.astype(object),
        },
        index=parsed.index,
    )


def _room_ids(building_id: pd.Series, room_no: pd.Series) -> pd.Series:
    return (building_id.astype(object) + "-" + room_no.astype(object)).where(
        building_id.notna() & room_no.notna()
    )


def match_addresses(ctx: BuildContext) -> dict[str, Any]:
    """Link the addresses of person, enterprise and room records to buildings and rooms."""
    db = ctx.db
    names = db.query_df("SELECT name FROM divisions")["name"].tolist()
    places = PlaceNames(names)
    buildings = db.query_df("SELECT building_id, address FROM buildings")
    lookup, ambiguous = _building_index(buildings, places)
    village_buildings = {b for k, b in lookup.items() if "村" in k and "组" in k}

    # Housing table: rooms where the survey is done.
    rooms_in = db.query_df("SELECT * FROM room_records")
    text = rooms_in["building_address"].where(
        rooms_in["building_address"].notna(), rooms_in["address"]
    )
    located = _locate(parse_unique(text, places), lookup, ambiguous)
    full = parse_unique(rooms_in["address"], places)
    room_no = rooms_in["room_no"].where(rooms_in["room_no"].notna(), full["room_no"]).astype(object)
    room_no = room_no.where(
        room_no.notna(),
        located["building_id"].map(lambda b: "0" if b in village_buildings else None),
    )
    housing = pd.DataFrame(
        {
            "record_id": rooms_in["record_id"],
            "building_id": located["building_id"],
            "room_no": room_no,
            "room_id": _room_ids(located["building_id"], room_no),
            "reason": located["reason"],
        }
    )
    housing.loc[housing["reason"].isna() & housing["room_id"].isna(), "reason"] = "no_room_number"
    bad = housing["room_id"].isna()
    db.append(
        "quarantine",
        quarantine_rows(
            rooms_in[bad.to_numpy()],
            "match",
            housing.loc[bad, "reason"],
            "the room's address matches no building of the basemap",
        ),
    )
    db.put("room_record_links", housing)
    housing_rooms = housing[~bad].drop_duplicates("room_id")
    covered = set(housing_rooms["building_id"])

    # Person and enterprise addresses.
    links = []
    persons = db.query_df(
        "SELECT source, record_id, residence_address, hukou_address FROM person_records_valid"
    )
    for kind, column in (("residence", "residence_address"), ("hukou", "hukou_address")):
        rec = persons[persons[column].notna()]
        loc = _locate(parse_unique(rec[column], places), lookup, ambiguous)
        rno = loc["room_no"].where(
            loc["room_no"].notna(),
            loc["building_id"].map(lambda b: "0" if b in village_buildings else None),
        )
        room = _room_ids(loc["building_id"], rno)
        reason = loc["reason"].copy()
        reason[reason.isna() & room.isna()] = "no_room_number"
        in_covered = (
            loc["building_id"].isin(covered)
            & room.notna()
            & ~room.isin(set(housing_rooms["room_id"]))
        )
        reason[in_covered] = "unknown_room"
        room[in_covered] = None
        links.append(
            pd.DataFrame(
                {
                    "source": rec["source"],
                    "record_id": rec["record_id"],
                    "address_kind": kind,
                    "text": rec[column],
                    "building_id": loc["building_id"],
                    "room_id": room,
                    "reason": reason,
                }
            )
        )
    ent = db.query_df("SELECT source, record_id, address FROM enterprise_records_valid")
    loc = _locate(parse_unique(ent["address"], places), lookup, ambiguous)
    links.append(
        pd.DataFrame(
            {
                "source": ent["source"],
                "record_id": ent["record_id"],
                "address_kind": "registered",
                "text": ent["address"],
                "building_id": loc["building_id"],
                "room_id": None,
                "reason": loc["reason"],
            }
        )
    )
    record_links = pd.concat(links, ignore_index=True)[LINK_COLUMNS].astype(object)
    db.put("record_links", record_links)

    # Rooms: the housing table's, and those rebuilt from residents' addresses.
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
                    "room_no": rebuilt["room_id"].str.rsplit("-", n=1).str[1],
                    "origin": "rebuilt",
                }
            ),
        ],
        ignore_index=True,
    ).astype(object)
    digits = pd.to_numeric(rooms["room_no"], errors="coerce")
    rooms["floor"] = (digits // 100).where(digits >= 100).astype("Int64")
    db.put("rooms", rooms)
    linked = record_links["reason"].isna()
    by_reason = record_links.loc[~linked, "reason"].value_counts().to_dict()
    return {
        "addresses": len(record_links),
        "linked": int(linked.sum()),
        "unlinked_by_reason": {str(k): int(v) for k, v in by_reason.items()},
        "rooms_housing": len(housing_rooms),
        "rooms_rebuilt": len(rebuilt),
        "room_rows_quarantined": int(bad.sum()),
    }
