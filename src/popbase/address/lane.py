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
import pyarrow as pa
import pyarrow.compute as pc

from popbase.address.fuzzy import RoadCorrector
from popbase.address.index import BuildingIndex
from popbase.address.normalize import NEEDS_NORMALIZING, normal_form
from popbase.address.parse import GROUP_TAGS, HEAD_GROUPS, AddressParser, formal_pattern
from popbase.address.region import RegionGate, region_gate

_FORMAL_RE2 = "^" + formal_pattern(shanghai=False) + "$"
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


def read_formal(
    texts: Sequence[str] | pa.Array, parser: AddressParser, region: str = ""
) -> pa.Table:
    """The addresses of ``texts`` the lane reads, one row each.

    Parameters
    ----------
    texts
        Distinct address strings (a list, or an Arrow string array).
    parser
        The parser whose gazetteer reads (and keeps) heads and roads.
    region
        Division code of the covered area: rows whose divisions lie elsewhere are marked
        ``outside_region`` (those the leading names place elsewhere are not read further,
        as one by one).

    Returns
    -------
    pyarrow.Table
        ``text``, ``components`` and ``codes`` (JSON, as one by one), ``confidence``,
        ``outside_region``, ``road``, ``scope`` (the street, else the district, of the
        head: where a misspelt road is corrected), and the door plate: ``kind``, ``name``,
        ``first``, ``second`` and ``room`` (see :func:`_door_plates`).
    """
    column = texts if isinstance(texts, pa.Array) else pa.array(list(texts), pa.string())
    # Most texts are their own normal form, or NFKC's (full-width digits); the rest are
    # normalised one by one.
    normal = column
    needs = pc.match_substring_regex(column, NEEDS_NORMALIZING)
    if pc.any(needs).as_py():
        folded = pc.utf8_normalize(column.filter(needs), "NFKC")
        normal = pc.replace_with_mask(column, needs, folded)
        still = pc.match_substring_regex(normal, NEEDS_NORMALIZING).to_numpy(zero_copy_only=False)
        if still.any():
            needing = pa.array(np.flatnonzero(still))
            norms = [normal_form(t) for t in column.take(needing).to_pylist()]
            normal = pc.replace_with_mask(normal, pa.array(still), pa.array(norms, pa.string()))
    found = pc.extract_regex(normal, _FORMAL_RE2)
    matched = found.is_valid()
    column, normal, found = column.filter(matched), normal.filter(matched), found.filter(matched)
    groups = {f.name: _null_if_empty(found.field(f.name)) for f in found.type}

    # Each distinct head and road once (by the parser, which keeps what it reads).
    heads = pc.binary_join_element_wise(
        *(groups[g] for g in HEAD_GROUPS), "\x1f", null_handling="replace", null_replacement=""
    )
    encoded = heads.dictionary_encode()
    head_of_row = encoded.indices
    head_texts = encoded.dictionary.to_pylist()
    first_row = np.zeros(len(head_texts), dtype=np.int64)
    rows = head_of_row.to_numpy()
    first_row[rows[::-1]] = np.arange(len(rows))[::-1]
    normal_rows = normal.take(pa.array(first_row)).to_pylist()
    gate = region_gate(region) if region else None
    per_head = [
        _read_head(h, t, parser, region, gate) for h, t in zip(head_texts, normal_rows, strict=True)
    ]
    readable, starts, codes, confidence, away, scope = (
        zip(*per_head, strict=True) if per_head else [()] * 6
    )

    def spread(values: Sequence[object], kind: pa.DataType) -> pa.Array:
        return pc.take(pa.array(values, kind), head_of_row)

    # Components as JSON: the head's, then each number in the order a parse adds them.
    parts = [spread(starts, pa.string())]
    for tag, group in GROUP_TAGS:
        part = pc.binary_join_element_wise(f', "{tag}": "', groups[group], '"', "")
        parts.append(pc.fill_null(part, ""))
    components = pc.binary_join_element_wise(*parts, "}", "")
    outside_region = spread(away, pa.bool_())
    components = pc.if_else(outside_region, "{}", components)
    table = pa.table(
        {
            "text": column,
            "components": components,
            "codes": spread(codes, pa.string()),
            "confidence": spread(confidence, pa.float64()),
            "outside_region": outside_region,
            "road": groups["road"],
            "scope": spread(scope, pa.string()),
            **_door_plates(groups),
        }
    )
    return table.filter(spread(readable, pa.bool_()))


_HeadReading = tuple[bool, str, str, float | None, bool, str]


def _read_head(
    head: str, text: str, parser: AddressParser, region: str, gate: RegionGate | None
) -> _HeadReading:
    """``(readable, components' JSON start, codes' JSON, confidence, outside, scope)``."""
    if gate is not None and gate.outside(head.replace("\x1f", "")):
        # Elsewhere by its first names (a hukou in another province): no more reading.
        return True, "", "{}", None, True, ""
    base = parser.base(tuple(v or None for v in head.split("\x1f")), text)
    if not base:
        return False, "", "", 0.0, False, ""
    comps, _, codes, score = base
    return (
        True,
        json.dumps(comps, ensure_ascii=False)[:-1],
        json.dumps(codes),
        score,
        outside(codes, region),
        codes.get("town") or codes.get("district") or "",
    )


def _door_plates(groups: dict[str, pa.Array]) -> dict[str, pa.Array]:
    """Door-plate key and room of each row: ``kind, name, first, second, room``.

    As :func:`popbase.address.index.plate_key` reads them: (lane, road, lane, house),
    (plate, road, number, 0) or (village, village, group, house); the room's number, null
    where none is written.
    """
    number = {g: _number(groups[g]) for g in groups if g not in HEAD_GROUPS}
    lane = number["lane"]
    plate = pc.coalesce(number["plate"], number["bplate"])
    is_lane, is_plate = lane.is_valid(), plate.is_valid()
    return {
        "kind": pc.if_else(is_lane, "lane", pc.if_else(is_plate, "plate", "village")),
        "name": pc.if_else(pc.or_(is_lane, is_plate), groups["road"], groups["village"]),
        "first": pc.coalesce(lane, plate, number["group"]),
        "second": pc.if_else(
            is_lane,
            pc.coalesce(number["house"], number["bare"]),
            pc.if_else(is_plate, pa.scalar(0, pa.int64()), number["vhouse"]),
        ),
        "room": pc.coalesce(number["room"], number["bare_room"], number["proom"], number["broom"]),
    }


_KEY = ["kind", "name", "first", "second"]


def key_table(index: BuildingIndex) -> pa.Table:
    """The index's door plates as a table.

    ``kind, name, first, second``, and per plate its ``building_id``, ``floors``,
    ``village_house`` and ``shared`` (two buildings claim it: no building then).
    """
    keys = [(k, b) for k, b in index.keys.items()] + [(k, None) for k in index.ambiguous]
    buildings = [b for _, b in keys]
    return pa.table(
        {
            "kind": [k[0] for k, _ in keys],
            "name": [k[1] for k, _ in keys],
            "first": pa.array([k[2] for k, _ in keys], pa.int64()),
            "second": pa.array([k[3] for k, _ in keys], pa.int64()),
            "building_id": pa.array(buildings, pa.string()),
            "floors": pa.array([index.floors.get(b, 0) if b else 0 for b in buildings], pa.int64()),
            "village_house": pa.array([b in index.village_houses for b in buildings], pa.bool_()),
            "shared": pa.array([b is None for b in buildings], pa.bool_()),
        }
    )


def _has_plate(index: BuildingIndex, kind: str, first: int, second: int) -> Callable[[str], bool]:
    """Whether a road has the door plate ``(kind, road, first, second)``."""
    return lambda road: (kind, road, first, second) in index.keys


def _correct_roads(
    misspelt: pa.Table, index: BuildingIndex, roads: RoadCorrector
) -> tuple[pa.Table, pa.Table]:
    """Rows on a road the basemap does not know: those corrected, and those not.

    As :func:`popbase.address.match.locate` does, one row at a time (a misspelt road
    is rare, and the corrector keeps what it found for the next row). The rows not
    corrected come as ``text, reason``.
    """
    fixed: list[str | None] = []
    reasons: list[str | None] = []
    cols = misspelt.select([*_KEY, "scope"]).to_pydict()
    for kind, name, first, second, scope in zip(*cols.values(), strict=True):
        road, why = roads.correct(
            name, [scope] if scope else [], has=_has_plate(index, kind, first, second)
        )
        fixed.append(road)
        reasons.append(why)
    named = pa.array(fixed, pa.string())
    ok = named.is_valid()
    corrected = misspelt.set_column(misspelt.schema.get_field_index("name"), "name", named)
    lost = pa.table({"text": misspelt["text"], "reason": pa.array(reasons, pa.string())})
    return corrected.filter(ok), lost.filter(pc.invert(ok))


def locate_formal(formal: pa.Table, index: BuildingIndex, roads: RoadCorrector) -> pa.Table:
    """Building, room number and reason of each row of :func:`read_formal`.

    Follows :func:`popbase.address.match.locate` rule for rule.

    Returns
    -------
    pyarrow.Table
        ``text, building_id, room_no, reason, road_corrected``.
    """
    known = pc.or_(
        pc.equal(formal["kind"], "village"),
        pc.is_in(formal["name"], value_set=pa.array(list(index.roads), pa.string())),
    )
    away = formal["outside_region"]
    misspelt = pc.and_(pc.invert(known), pc.invert(away))
    corrected, lost = _correct_roads(formal.filter(misspelt), index, roads)
    rows = pa.concat_tables(
        [
            formal.filter(pc.invert(misspelt)).append_column(
                "road_corrected",
                pa.array([False] * (len(formal) - len(corrected) - len(lost)), pa.bool_()),
            ),
            corrected.append_column(
                "road_corrected", pa.array([True] * len(corrected), pa.bool_())
            ),
        ]
    ).select(["text", *_KEY, "room", "outside_region", "road_corrected"])
    t = rows.join(key_table(index), keys=_KEY, join_type="left outer")
    away = t["outside_region"]
    building = pc.if_else(away, pa.scalar(None, pa.string()), t["building_id"])
    missing = building.is_null()
    room = t["room"]
    has_room = room.is_valid()
    floor = pc.if_else(pc.greater_equal(room, 100), pc.divide(room, 100), 0)
    unit = pc.subtract(room, pc.multiply(pc.divide(room, 100), 100))
    floors = pc.fill_null(t["floors"], 0)
    implausible = pc.fill_null(
        pc.and_(
            has_room,
            pc.or_(
                pc.and_(pc.greater(floors, 0), pc.greater(floor, floors)),
                pc.and_(pc.greater_equal(room, 100), pc.greater(unit, MAX_UNITS_PER_FLOOR)),
            ),
        ),
        False,
    )
    village_house = pc.fill_null(t["village_house"], False)
    no_room = pc.and_(pc.invert(has_room), pc.invert(village_house))
    null = pa.scalar(None, pa.string())
    reason = pc.case_when(
        pc.make_struct(
            away,
            missing,
            implausible,
            no_room,
            field_names=["away", "missing", "implausible", "no_room"],
        ),
        "outside_region",
        pc.if_else(pc.fill_null(t["shared"], False), "ambiguous_building", "unknown_number"),
        "implausible_room",
        "no_room_number",
        null,
    )
    room_no = pc.case_when(
        pc.make_struct(
            pc.or_(missing, implausible),
            has_room,
            village_house,
            field_names=["none", "room", "village"],
        ),
        null,
        pc.cast(room, pa.string()),
        "0",
        null,
    )
    located = pa.table(
        {
            "text": t["text"],
            "building_id": building,
            "room_no": room_no,
            "reason": reason,
            "road_corrected": pc.and_(t["road_corrected"], pc.invert(missing)),
        }
    )
    lost_rows = pa.table(
        {
            "text": lost["text"],
            "building_id": pa.nulls(len(lost), pa.string()),
            "room_no": pa.nulls(len(lost), pa.string()),
            "reason": lost["reason"],
            "road_corrected": pa.array([False] * len(lost), pa.bool_()),
        }
    )
    return pa.concat_tables([located, lost_rows])
