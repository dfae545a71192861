"""Formal addresses as columns: thousands parsed and matched at once.

Most addresses departments deliver are written in a few formal shapes (the fast path of
:mod:`popbase.address.parse`). One by one, each costs tens of microseconds of Python; as a
column — one RE2 expression over an Arrow array, numbers cast, door-plate keys joined to
the basemap's — about a microsecond. The lane takes an address only where reading it one
by one gives the same:

- its normal form (:func:`popbase.address.normalize.normalize`; most texts are their own,
  as :data:`popbase.address.normalize.NEEDS_NORMALIZING` tells at once for a column)
  matches the formal expression (:func:`popbase.address.parse.formal_pattern`);
- its head and road read by the general rules as the expression's groups (each distinct
  head and road is read once, and kept by the parser, as one by one).

Matching (:func:`locate_formal`) takes the rows whose road the basemap knows (or that name
a village); a misspelt road is corrected one address at a time. A test checks that both
ways agree on every address of a sample city. The lane keeps no spans: a build stores none.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from popbase.address.fuzzy import RoadCorrector
from popbase.address.index import BuildingIndex
from popbase.address.normalize import NEEDS_NORMALIZING, normal_form
from popbase.address.parse import GROUP_TAGS, HEAD_GROUPS, AddressParser, formal_pattern
from popbase.address.region import region_gate

_FORMAL_RE2 = "^" + formal_pattern(shanghai=False) + "$"
# Columns of :func:`read_formal`'s frame besides the groups.
READ_COLUMNS = ("text", "components", "codes", "confidence", "outside_region")
# Room numbers beyond this within a floor (e.g. 387 → unit 87) fit no building's pattern.
MAX_UNITS_PER_FLOOR = 50


def _null_if_empty(values: pa.Array) -> pa.Array:
    """Arrow's regex extraction gives '' for a group that took no part: make it null."""
    return pc.if_else(pc.equal(values, ""), pa.scalar(None, pa.string()), values)


def _number(values: pa.Array) -> pa.Array:
    """The leading number of each value (``1885弄`` → 1885, ``12号楼`` → 12), nulls kept."""
    return pc.cast(pc.replace_substring_regex(values, "[^0-9].*$", ""), pa.int64())


def outside(codes: dict[str, str], region: str) -> bool:
    """Whether division codes read from an address place it outside ``region``."""
    return bool(region) and any(
        code and not (code.startswith(region) or region.startswith(code))
        for code in (codes.get(t, "") for t in ("prov", "city", "district", "town"))
    )


def read_formal(texts: Sequence[str], parser: AddressParser, region: str = "") -> pd.DataFrame:
    """The addresses of ``texts`` the lane reads, one row each.

    Parameters
    ----------
    texts
        Distinct address strings.
    parser
        The parser whose gazetteer reads (and keeps) heads and roads.
    region
        Division code of the covered area: rows whose divisions lie elsewhere are marked
        ``outside_region`` (those the leading names place elsewhere are not read further,
        as one by one).

    Returns
    -------
    pandas.DataFrame
        ``text``, ``components`` and ``codes`` (JSON, as one by one), ``confidence``,
        ``outside_region``, and the expression's groups (None where absent).
    """
    written = list(texts)
    column = pa.array(written, pa.string())
    # Most texts are their own normal form, or NFKC's (full-width digits); the rest are
    # normalised one by one.
    normal = column
    needs = pc.match_substring_regex(column, NEEDS_NORMALIZING)
    if pc.any(needs).as_py():
        normal = pc.if_else(needs, pc.utf8_normalize(column, "NFKC"), column)
        still = pc.match_substring_regex(normal, NEEDS_NORMALIZING).to_numpy(zero_copy_only=False)
        if still.any():
            norms = normal.to_pylist()
            for i in np.flatnonzero(still).tolist():
                norms[i] = normal_form(written[i])
            normal = pa.array(norms, pa.string())
    found = pc.extract_regex(normal, _FORMAL_RE2)
    matched = found.is_valid()
    column, normal, found = column.filter(matched), normal.filter(matched), found.filter(matched)
    groups = {f.name: _null_if_empty(found.field(f.name)) for f in found.type}

    # Each distinct head and road once (by the parser, which keeps what it reads).
    heads = pc.binary_join_element_wise(
        *(groups[g] for g in HEAD_GROUPS), "\x1f", null_handling="replace", null_replacement=""
    )
    head_of_row, head_texts = pd.factorize(heads.to_numpy(zero_copy_only=False))
    first_row = np.zeros(len(head_texts), dtype=np.int64)
    first_row[head_of_row[::-1]] = np.arange(len(head_of_row))[::-1]
    starts: list[str] = []
    codes: list[str] = []
    confidence: list[float] = []
    readable: list[bool] = []
    away: list[bool] = []
    scope: list[str] = []  # the street, else the district: where to correct a road
    texts_of_rows = column.to_pylist()
    normal_rows = normal.to_pylist()
    gate = region_gate(region) if region else None
    for head, row in zip(head_texts, first_row.tolist(), strict=True):
        if gate is not None and gate.outside(head.replace("\x1f", "")):
            # Elsewhere by its first names (a hukou in another province): no more reading.
            readable.append(True)
            starts.append("")
            codes.append("{}")
            confidence.append(np.nan)
            away.append(True)
            scope.append("")
            continue
        key = tuple(v or None for v in head.split("\x1f"))
        base = parser.base(key, normal_rows[row])
        readable.append(bool(base))
        if not base:
            starts.append("")
            codes.append("")
            confidence.append(0.0)
            away.append(False)
            scope.append("")
            continue
        comps, _, head_codes, score = base
        starts.append(json.dumps(comps, ensure_ascii=False)[:-1])
        codes.append(json.dumps(head_codes))
        confidence.append(score)
        away.append(outside(head_codes, region))
        scope.append(head_codes.get("town") or head_codes.get("district") or "")

    # Components as JSON: the head's, then each number in the order a parse adds them.
    take = pa.array(head_of_row)
    parts = [pc.take(pa.array(starts, pa.string()), take)]
    for tag, group in GROUP_TAGS:
        value = groups[group]
        part = pc.binary_join_element_wise(f', "{tag}": "', value, '"', "")
        parts.append(pc.fill_null(part, ""))
    components = pc.binary_join_element_wise(*parts, "}", "")
    components = pc.if_else(pc.take(pa.array(away), take), "{}", components)

    def objects(values: pa.Array) -> pd.Series:
        return pd.Series(values.to_numpy(zero_copy_only=False), dtype=object)

    frame = pd.DataFrame(
        {
            "text": pd.Series(texts_of_rows, dtype=object),
            "components": objects(components),
            "codes": objects(pc.take(pa.array(codes, pa.string()), take)),
            "confidence": np.asarray(confidence, dtype=float)[head_of_row],
            "outside_region": np.asarray(away, dtype=bool)[head_of_row],
            "road": objects(groups["road"]),
            "scope": np.asarray(scope, dtype=object)[head_of_row],
        }
    )
    frame = pd.concat([frame, _door_plates(groups)], axis=1)
    return frame[np.asarray(readable, dtype=bool)[head_of_row]].reset_index(drop=True)


def _door_plates(groups: dict[str, pa.Array]) -> pd.DataFrame:
    """Door-plate key and room of each row: ``kind, name, first, second, room``.

    As :func:`popbase.address.index.plate_key` reads them: (lane, road, lane, house),
    (plate, road, number, 0) or (village, village, group, house); the room's number, NaN
    where none is written.
    """
    number = {g: _number(groups[g]) for g in groups if g not in HEAD_GROUPS}
    lane = number["lane"]
    plate = pc.coalesce(number["plate"], number["bplate"])
    is_lane, is_plate = lane.is_valid(), plate.is_valid()
    kind = pc.if_else(is_lane, "lane", pc.if_else(is_plate, "plate", "village"))
    name = pc.if_else(pc.or_(is_lane, is_plate), groups["road"], groups["village"])
    first = pc.coalesce(lane, plate, number["group"])
    house = pc.coalesce(number["house"], number["bare"])
    second = pc.if_else(is_lane, house, pc.if_else(is_plate, 0, number["vhouse"]))
    room = pc.coalesce(number["room"], number["bare_room"], number["proom"], number["broom"])
    return pd.DataFrame(
        {
            "kind": pd.Series(kind.to_numpy(zero_copy_only=False), dtype=object),
            "name": pd.Series(name.to_numpy(zero_copy_only=False), dtype=object),
            "first": first.to_numpy(zero_copy_only=False).astype(np.int64),
            "second": second.to_numpy(zero_copy_only=False).astype(np.int64),
            "room": pc.cast(room, pa.float64()).to_numpy(zero_copy_only=False),
        }
    )


def _key_frame(index: BuildingIndex) -> pd.DataFrame:
    """The index's door plates as a table: ``kind, name, first, second, building_id``."""
    keys = list(index.keys.items())
    return pd.DataFrame(
        {
            "kind": [k[0] for k, _ in keys],
            "name": [k[1] for k, _ in keys],
            "first": np.asarray([k[2] for k, _ in keys], dtype=np.int64),
            "second": np.asarray([k[3] for k, _ in keys], dtype=np.int64),
            "building_id": [b for _, b in keys],
        }
    )


def _has_plate(index: BuildingIndex, kind: str, first: int, second: int) -> Callable[[str], bool]:
    """Whether a road has the door plate ``(kind, road, first, second)``."""
    return lambda road: (kind, road, first, second) in index.keys


def _correct_roads(
    formal: pd.DataFrame, index: BuildingIndex, roads: RoadCorrector
) -> pd.DataFrame:
    """Rows on a road the basemap does not know, corrected where one road is meant.

    As :func:`popbase.address.match.locate` does, one row at a time (a misspelt road
    is rare, and the corrector keeps what it found for the next row).

    Returns
    -------
    pandas.DataFrame
        The rows, ``name`` corrected, with ``reason`` where no single road is meant.
    """
    fixed: list[str | None] = []
    reasons: list[str | None] = []
    for kind, name, first, second, scope in formal[
        ["kind", "name", "first", "second", "scope"]
    ].itertuples(index=False, name=None):
        road, why = roads.correct(
            name,
            [scope] if scope else [],
            has=_has_plate(index, kind, first, second),
        )
        fixed.append(road)
        reasons.append(why)
    return formal.assign(
        name=pd.Series(fixed, index=formal.index, dtype=object),
        reason=pd.Series(reasons, index=formal.index, dtype=object),
    )


def locate_formal(formal: pd.DataFrame, index: BuildingIndex, roads: RoadCorrector) -> pd.DataFrame:
    """Building, room number and reason of each row of :func:`read_formal`.

    Follows :func:`popbase.address.match.locate` rule for rule.

    Returns
    -------
    pandas.DataFrame
        ``text, building_id, room_no, reason, road_corrected``.
    """
    known = (formal["kind"] == "village").to_numpy() | formal["name"].isin(index.roads.keys())
    away = formal["outside_region"].to_numpy()
    corrected = _correct_roads(formal[~known & ~away], index, roads)
    unfixed = corrected["name"].isna().to_numpy()
    lost = pd.DataFrame(
        {
            "text": corrected.loc[unfixed, "text"].to_numpy(),
            "building_id": None,
            "room_no": None,
            "reason": corrected.loc[unfixed, "reason"].to_numpy(),
            "road_corrected": False,
        },
        dtype=object,
    )
    formal = pd.concat(
        [formal[known | away], corrected[~unfixed].drop(columns="reason")], ignore_index=True
    )
    away = formal["outside_region"].to_numpy()
    was_corrected = formal["text"].isin(set(corrected["text"])).to_numpy()
    table = formal.loc[:, ["text", "kind", "name", "first", "second", "room"]]
    table = table.merge(_key_frame(index), on=["kind", "name", "first", "second"], how="left")
    away = table["text"].isin(set(formal.loc[away, "text"])).to_numpy()
    was_corrected = table["text"].isin(set(formal.loc[was_corrected, "text"])).to_numpy()
    building = table["building_id"].astype(object).where(~away, None)
    missing = building.isna().to_numpy()
    room = table["room"].to_numpy()
    has_room = ~np.isnan(room)
    floors = building.map(index.floors).fillna(0).to_numpy()
    floor = np.where(room >= 100, room // 100, 0)
    implausible = has_room & (
        ((floors > 0) & (floor > floors)) | ((room >= 100) & (room % 100 > MAX_UNITS_PER_FLOOR))
    )
    village_house = building.isin(index.village_houses).to_numpy()
    shared = np.asarray(
        [
            key in index.ambiguous
            for key in table.loc[missing, ["kind", "name", "first", "second"]].itertuples(
                index=False, name=None
            )
        ],
        dtype=bool,
    )
    reason = np.full(len(table), None, dtype=object)
    reason[~has_room & ~village_house] = "no_room_number"
    reason[implausible] = "implausible_room"
    reason[missing] = np.where(shared, "ambiguous_building", "unknown_number")
    reason[away] = "outside_region"
    room_no = np.full(len(table), None, dtype=object)
    given = has_room & ~implausible & ~missing
    room_no[given] = [str(int(r)) for r in room[given]]
    room_no[~has_room & village_house & ~missing] = "0"
    located = pd.DataFrame(
        {
            "text": table["text"].to_numpy(),
            "building_id": building.to_numpy(),
            "room_no": room_no,
            "reason": reason,
            "road_corrected": was_corrected & ~missing,
        },
        dtype=object,
    )
    return pd.concat([located, lost], ignore_index=True)
