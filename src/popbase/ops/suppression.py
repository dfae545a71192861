"""Suppression decided once per snapshot, at publish time, over every published count.

Department roles (``suppress_below`` in the roles file) see the counts of units below a
floor level with small cells suppressed. Which cells are hidden is decided here, once
for each floor the project's roles use, over every table such a role can read at once —
units of every level below the floor and every measure, buildings' residents and
households, residents per tag — with the relations a reader knows between them
(:func:`cells_of`), and audited by linear programming
(:func:`popbase.security.disclosure_audit.protect`). The decision is stored in the
snapshot as ``disclosure_cells``; the API only reads it, so no request waits while it is
worked out.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from popbase.analysis.measures import MEASURES
from popbase.security.access import LEVELS, Level
from popbase.security.disclosure import Cells, Relation
from popbase.security.disclosure_audit import protect

if TYPE_CHECKING:
    from popbase.backends.base import Backend

log = logging.getLogger(__name__)

# Counts of a unit as the API serves them.
UNIT_MEASURES: tuple[str, ...] = (*MEASURES, "households")
BUILDING_MEASURES: tuple[str, ...] = ("resident", "households")
# A tag's residents are a cell of measure "tag:<tag>".
TAG_PREFIX = "tag:"
CELL_COLUMNS = ("floor", "kind", "code", "measure", "value", "hidden")
MAX_EXPOSED_NAMED = 20  # cells named in the build report; all are counted


def tag_counts_sql() -> str:
    """Present residents having each tag, per unit (every level), as ``/api/tags/cross`` counts.

    Residents are grouped by their division code first, then matched to units by prefix:
    a few thousand groups instead of every resident.
    """
    return """
        WITH tagged AS (
            SELECT p.division_code, t.tag, count(DISTINCT p.person_id) AS persons
            FROM served.persons p JOIN served.person_tags t USING (person_id)
            WHERE p.residency_status LIKE 'present%' AND p.division_code IS NOT NULL
            GROUP BY ALL
        )
        SELECT u.code, t.tag, sum(t.persons)::BIGINT AS persons
        FROM served.units u JOIN tagged t ON starts_with(t.division_code, u.code)
        GROUP BY ALL
    """


def below(floor: Level, level: str) -> bool:
    """Whether ``level`` (a unit level, or ``building``) lies below ``floor``.

    >>> below("street", "community"), below("street", "street"), below("grid", "building")
    (True, False, True)
    """
    order = (*LEVELS, "building")
    return level in order and order.index(level) > order.index(floor)


@dataclass
class _Builder:
    """Cells and relations as they are added, with each cell's label."""

    tops: dict[str, str]
    values: list[int] = field(default_factory=list)
    controlled: list[bool] = field(default_factory=list)
    labels: list[tuple[str, str, str]] = field(default_factory=list)
    relations: list[Relation] = field(default_factory=list)
    units: dict[tuple[str, str], int] = field(default_factory=dict)
    where: list[str] = field(default_factory=list)

    def add(
        self, kind: str, code: str, measure: str, value: int, controlled: bool, unit: str = ""
    ) -> int:
        self.where.append(unit or code)
        self.values.append(int(value))
        self.controlled.append(controlled)
        self.labels.append((kind, code, measure))
        if kind == "unit":
            self.units[(code, measure)] = len(self.values) - 1
        return len(self.values) - 1

    def ceiling(self) -> np.ndarray:
        """Each cell's floor unit's count of the same measure: what a reader sees whole."""
        out = np.full(len(self.values), np.inf)
        for i, ((_, _, measure), unit) in enumerate(zip(self.labels, self.where, strict=True)):
            top = self.units.get((self.tops.get(unit, ""), measure))
            if top is not None:
                out[i] = self.values[top]
        return out

    def relate(self, total: int, parts: list[int]) -> None:
        """``total = sum(parts)`` where it holds, else ``sum(parts) <= total`` where that holds.

        The reader is given a relation only where it is true of the data.
        """
        if not parts:
            return
        v = self.values
        whole, summed = v[total], sum(v[p] for p in parts)
        if summed <= whole:
            self.relations.append(Relation(total, tuple(parts), equal=summed == whole))


def cells_of(
    units: pd.DataFrame, buildings: pd.DataFrame, tags: pd.DataFrame, floor: Level
) -> tuple[Cells, pd.DataFrame]:
    """The cells a role under ``floor`` reads, and what it knows of them.

    Parameters
    ----------
    units
        ``code, level, parent_code`` and :data:`UNIT_MEASURES`, every unit.
    buildings
        ``building_id, community_code, grid_code, resident, households``.
    tags
        ``code, tag, persons``: residents per unit and tag (:func:`tag_counts_sql`).
    floor
        Counts of levels below it are controlled; units at the floor are given as the
        totals a reader sees whole.

    Returns
    -------
    tuple of Cells and pandas.DataFrame
        The cells, and their labels ``kind, code, measure`` in cell order.
    """
    kept = units[units["level"].map(lambda lv: lv == floor or below(floor, str(lv)))]
    b = _Builder(_tops(kept, floor))
    at = b.units
    for row in kept.itertuples(index=False):
        controlled = below(floor, str(row.level))
        for m in UNIT_MEASURES:
            at[(str(row.code), m)] = b.add("unit", str(row.code), m, getattr(row, m), controlled)
    children: dict[str, list[str]] = {}
    for code, parent in zip(kept["code"], kept["parent_code"], strict=True):
        if (str(parent), "resident") in at:
            children.setdefault(str(parent), []).append(str(code))
    for parent, kids in children.items():
        for m in UNIT_MEASURES:
            b.relate(at[(parent, m)], [at[(k, m)] for k in kids])
    for code in kept["code"].astype(str):
        b.relate(at[(code, "resident")], [at[(code, "usual_resident")], at[(code, "floating")]])
        b.relate(at[(code, "resident")], [at[(code, "households")]])
        b.relate(at[(code, "registered")], [at[(code, "absent")], at[(code, "unknown")]])
    if below(floor, "building"):
        _add_buildings(b, at, buildings)
    _add_tags(b, at, kept, children, tags, floor)
    values = np.array(b.values, dtype=np.int64)
    cells = Cells(values, np.array(b.controlled, dtype=bool), b.relations, b.ceiling())
    return cells, pd.DataFrame(b.labels, columns=["kind", "code", "measure"])


def _tops(kept: pd.DataFrame, floor: Level) -> dict[str, str]:
    """Each unit's unit at the floor level (itself if it is one)."""
    parent = dict(zip(kept["code"].astype(str), kept["parent_code"].astype(str), strict=True))
    level = dict(zip(kept["code"].astype(str), kept["level"].astype(str), strict=True))
    tops: dict[str, str] = {}
    for code in parent:
        top = code
        while top in level and level[top] != floor:
            top = parent[top]
        if level.get(top) == floor:
            tops[code] = top
    return tops


def _add_buildings(b: _Builder, at: dict[tuple[str, str], int], buildings: pd.DataFrame) -> None:
    """Buildings' residents and households, related to their committee and grid."""
    of_unit: dict[tuple[str, str], list[int]] = {}
    for row in buildings.itertuples(index=False):
        cell = {
            m: b.add(
                "building",
                str(row.building_id),
                m,
                int(getattr(row, m) or 0),
                True,
                str(row.community_code or ""),
            )
            for m in BUILDING_MEASURES
        }
        b.relate(cell["resident"], [cell["households"]])
        for unit in (row.community_code, row.grid_code):
            if isinstance(unit, str) and (unit, "resident") in at:
                for m in BUILDING_MEASURES:
                    of_unit.setdefault((unit, m), []).append(cell[m])
    for (unit, m), parts in of_unit.items():
        b.relate(at[(unit, m)], parts)


def _add_tags(
    b: _Builder,
    at: dict[tuple[str, str], int],
    kept: pd.DataFrame,
    children: dict[str, list[str]],
    tags: pd.DataFrame,
    floor: Level,
) -> None:
    """Residents per tag of every unit: sums over children, at most the unit's residents."""
    counts = {
        (str(c), str(t)): int(n)
        for c, t, n in tags[["code", "tag", "persons"]].itertuples(index=False)
    }
    levels = dict(zip(kept["code"].astype(str), kept["level"].astype(str), strict=True))
    for tag in sorted(tags["tag"].astype(str).unique()):
        measure = TAG_PREFIX + tag
        cell = {
            code: b.add("unit", code, measure, counts.get((code, tag), 0), below(floor, level))
            for code, level in levels.items()
        }
        for code, c in cell.items():
            b.relate(at[(code, "resident")], [c])
        for parent, kids in children.items():
            b.relate(cell[parent], [cell[k] for k in kids])


def suppression_table(
    units: pd.DataFrame, buildings: pd.DataFrame, tags: pd.DataFrame, floor: Level
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The controlled cells under ``floor`` with their values and whether they are hidden.

    Returns
    -------
    tuple of pandas.DataFrame and dict
        Rows of :data:`CELL_COLUMNS` (controlled cells only), and figures of the work:
        cells, primary and hidden cells, linear programs, cells that cannot be
        protected, seconds.
    """
    start = time.perf_counter()
    cells, labels = cells_of(units, buildings, tags, floor)
    hidden, audit = protect(cells)
    exposed: list[str] = []
    for e in audit.exposures:
        kind, code, measure = labels.iloc[e.cell]
        exposed.append(f"{kind} {code} {measure}: {e.low + 0.0:g}–{e.high:g}")  # no "-0"
        log.warning("disclosure: %s can be narrowed by a reader under floor %s", exposed[-1], floor)
    table = labels.assign(floor=floor, value=cells.values, hidden=hidden)[cells.controlled]
    figures = {
        "cells": int(cells.controlled.sum()),
        "primary": int(cells.primary().sum()),
        "hidden": int(hidden.sum()),
        "programs": audit.programs,
        "unprotectable": len(audit.exposures),
        # Named in the report so the build can say which (a handful at most in practice).
        "exposed": exposed[:MAX_EXPOSED_NAMED],
        "seconds": round(time.perf_counter() - start, 2),
    }
    return table[list(CELL_COLUMNS)].reset_index(drop=True), figures


def publish_suppression(db: Backend, floors: list[Level]) -> dict[str, Any]:
    """Write ``served.disclosure_cells`` for each floor in ``floors``; return figures per floor."""
    units = db.query_df(
        f"SELECT code, level, parent_code, {', '.join(UNIT_MEASURES)} FROM served.units"
    )
    buildings = db.query_df(
        "SELECT building_id, community_code, grid_code, resident, households FROM served.buildings"
    )
    tags = db.query_df(tag_counts_sql())
    tables: list[pd.DataFrame] = []
    figures: dict[str, Any] = {}
    for floor in sorted(set(floors), key=LEVELS.index):
        table, figures[floor] = suppression_table(units, buildings, tags, floor)
        tables.append(table)
    cells = (
        pd.concat(tables, ignore_index=True)
        if tables
        else pd.DataFrame({c: pd.Series(dtype=object) for c in CELL_COLUMNS})
    )
    with db.registered("suppressed_cells", cells):
        db.execute(
            "CREATE OR REPLACE TABLE served.disclosure_cells AS "
            "SELECT floor::VARCHAR AS floor, kind::VARCHAR AS kind, code::VARCHAR AS code, "
            "measure::VARCHAR AS measure, value::BIGINT AS value, hidden::BOOLEAN AS hidden "
            "FROM suppressed_cells"
        )
    return figures
