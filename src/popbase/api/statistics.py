"""Aggregate endpoints: residency statistics and tag crossings per unit.

Counts are read only for units inside the caller's jurisdiction. For roles with
disclosure control (``suppress_below``), counts of units below that level are
suppressed as the snapshot decided when it was published (:mod:`popbase.api.disclosed`):
cells of 1–10 persons, with complementary suppression across levels, measures,
buildings and single tags; crossings of several tags are not shown below the floor.
"""

from __future__ import annotations

import json
from collections.abc import Hashable
from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, HTTPException, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from popbase.analysis.measures import MEASURE_LABELS
from popbase.api.deps import Caller, GateDep, Served, returned
from popbase.api.disclosed import (
    UNIT_MEASURES,
    below,
    floor_of,
    protect_tag_counts,
    scoped_units,
    unit_of,
)
from popbase.api.gate import NOT_FOUND_RESPONSE, Principal, not_found
from popbase.api.people import checked_tags
from popbase.api.served import ServedSnapshot
from popbase.security.access import decide

router = APIRouter(prefix="/api")


def _plain(key: str, value: Any) -> Any:
    """A JSON value: None for a suppressed or missing count, ints for counts."""
    if pd.isna(value):
        return None
    if key in ("code", "name", "level", "parent_code"):
        return value
    return int(value)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): _plain(str(k), v) for k, v in row.items()} for row in frame.to_dict("records")]


# A jurisdiction's units as JSON records by code, and each unit's children in code order.
ScopedRecords = tuple[dict[str, dict[str, Any]], dict[str, list[str]]]


def _scoped_records(served: ServedSnapshot, who: Principal) -> ScopedRecords:
    """The caller's units as records (counts as its disclosure floor leaves them)."""

    def build() -> ScopedRecords:
        table = scoped_units(served, who)
        cols = ["code", "name", "level", "parent_code", *UNIT_MEASURES]
        records = {str(r["code"]): r for r in _records(table[cols])}
        children: dict[str, list[str]] = {}
        for code in sorted(records):
            children.setdefault(str(records[code]["parent_code"]), []).append(code)
        return records, children

    return served.derived(_records_key(who), build)


def _records_key(who: Principal) -> Hashable:
    return ("unit_records", who.scope, floor_of(who))


@router.get("/residency", response_model=dict[str, Any], responses=NOT_FOUND_RESPONSE)
async def residency(
    request: Request,
    served: Served,
    gate: GateDep,
    principal: Caller,
    unit: Annotated[str, Query(description="A unit's division code (or grid code)")],
) -> Response:
    """实有/常住/流动/户籍/外出/待核实 counts of a unit and of the units directly inside it.

    ``unknown`` (待核实) counts the registered whose residence the evidence does not
    decide (only an unlocated presence row); they are in ``registered``, not ``resident``.
    ``labels`` names each measure in Chinese and English.
    """
    who = gate.require_counts(principal)
    # The jurisdiction's units are turned into records once per snapshot, jurisdiction
    # and disclosure floor, on a worker thread; a roll-up is then two lookups, answered
    # on the event loop.
    scoped: ScopedRecords | None = served.ready(_records_key(who))
    if scoped is None:
        scoped = await run_in_threadpool(_scoped_records, served, who)
    records, children = scoped
    if unit not in records:
        raise not_found("unit")
    body = {
        "unit": records[unit],
        "children": [records[c] for c in children.get(unit, [])],
        "labels": MEASURE_LABELS,
    }
    returned(request, [])
    return Response(json.dumps(body, ensure_ascii=False), media_type="application/json")


@router.get("/tags")
def tags(served: Served, gate: GateDep, principal: Caller) -> list[dict[str, Any]]:
    """The tags your role may count and see."""
    who = gate.require(principal, "aggregate")
    rows = served.query("SELECT tag, label, label_en, dimension FROM tags ORDER BY tag")
    return [r for r in rows if decide(who.role, f"tags.{r['dimension']}", "aggregate") == "allow"]


def tag_cross_sql(tag_count: int) -> str:
    """Residents having every one of ``tag_count`` tags, counted per unit under a parent.

    The tagged residents are found first (few, against the whole base), then matched to
    the units by code prefix: matching every resident to every unit by prefix costs half
    a second at 1,000,000 persons. Parameters: the tags (distinct), their number, the
    parent's code as the residents' prefix ('' for none), the parent, the jurisdiction.

    >>> "IN (?, ?)" in tag_cross_sql(2)
    True
    """
    tags = ", ".join("?" for _ in range(tag_count))
    return (
        "WITH tagged AS ("
        " SELECT p.division_code FROM persons p"
        f" JOIN (SELECT person_id FROM person_tags WHERE tag IN ({tags})"
        "  GROUP BY person_id HAVING count(DISTINCT tag) = ?) t USING (person_id)"
        " WHERE p.residency_status LIKE 'present%' AND starts_with(p.division_code, ?)) "
        "SELECT u.code, u.name, u.level, u.parent_code, count(t.division_code) AS persons "
        "FROM units u LEFT JOIN tagged t ON starts_with(t.division_code, u.code) "
        "WHERE u.parent_code IS NOT DISTINCT FROM ? AND starts_with(u.code, ?) "
        "GROUP BY ALL ORDER BY u.code"
    )


@router.get("/tags/cross", responses=NOT_FOUND_RESPONSE)
def tags_cross(
    request: Request,
    served: Served,
    gate: GateDep,
    principal: Caller,
    unit: Annotated[str, Query(description="A unit's division code (or grid code)")],
    tags: Annotated[
        str, Query(description="Comma-separated tags, all required, e.g. elderly,lives_alone")
    ],
) -> dict[str, Any]:
    """Residents of a unit, and of each unit directly inside it, having every tag."""
    who = gate.require(principal, "aggregate")
    wanted = [t for t in tags.split(",") if t]
    if not wanted:
        raise HTTPException(422, "name at least one tag, e.g. tags=elderly,lives_alone")
    checked_tags(who, wanted, served)
    the_unit = unit_of(served, who, unit)
    distinct = sorted(set(wanted))

    def counted(parent: str | None) -> pd.DataFrame:
        """Tagged residents of the units under ``parent`` inside the jurisdiction."""
        rows = served.query(
            tag_cross_sql(len(distinct)),
            [*distinct, len(distinct), parent or "", parent, who.scope],
        )
        return pd.DataFrame(rows, columns=["code", "name", "level", "parent_code", "persons"])

    # The unit is counted among its siblings, as its parent's crossing shows it.
    siblings = protect_tag_counts(served, counted(the_unit["parent_code"]), floor_of(who), distinct)
    children = protect_tag_counts(served, counted(unit), floor_of(who), distinct)
    own = siblings[siblings["code"] == unit]
    returned(request, [])
    return {"unit": _records(own)[0], "tags": wanted, "children": _records(children)}


# Shares of a committee's residents: as revealing as its count when that is suppressed.
QUALITY_SHARES = ("residence_consistency", "ethnicity_known", "household_known", "rebuilt_share")


@router.get("/quality")
def quality(request: Request, served: Served, gate: GateDep, principal: Caller) -> dict[str, Any]:
    """The quality report: each source's rates and each committee's of your jurisdiction."""
    who = gate.require(principal, "aggregate")
    sources = served.query("SELECT * FROM quality_sources ORDER BY source")
    for s in sources:
        if isinstance(s.get("fields"), str):
            s["fields"] = json.loads(s["fields"])
    units = scoped_units(served, who)
    floor = floor_of(who)

    def controlled(level: str) -> bool:
        return floor is not None and below(floor, str(level))

    rows = served.query("SELECT * FROM quality_units ORDER BY code")
    committees = []
    for row in rows:
        if row["code"] not in units.index:
            continue
        resident = units.loc[row["code"], "resident"]
        shown = {**row, "resident": None if pd.isna(resident) else int(resident)}
        # A share of a controlled committee times its residents is a count (persons in
        # rebuilt rooms, say) that no suppression decided on: not shown below the floor.
        if shown["resident"] is None or controlled(units.loc[row["code"], "level"]):
            shown.update(dict.fromkeys(QUALITY_SHARES))
        committees.append(shown)
    returned(request, [])
    return {"snapshot": served.id, "sources": sources, "units": committees}
