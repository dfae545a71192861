"""Suppression across levels and measures, and the audit that bounds each hidden cell."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from popbase.ops.suppression import cells_of, suppression_table
from popbase.security.disclosure import (
    LARGEST_SUPPRESSED,
    SMALLEST_SHOWN,
    Cells,
    Relation,
    coarsened,
    suppress,
)
from popbase.security.disclosure_audit import audit, protect

# A street of 40 (shown) over committees C1 = 5, C2 = 15, C3 = 20; C1's grids are 5 and
# 0, C2's 15 and 0, C3's one grid 20.
STREET, C1, C2, C3, G1A, G1B, G2A, G2B, G3A = range(9)
VALUES = np.array([40, 5, 15, 20, 5, 0, 15, 0, 20])
CONTROLLED = np.array([False, *[True] * 8])
RELATIONS = [
    Relation(STREET, (C1, C2, C3)),
    Relation(C1, (G1A, G1B)),
    Relation(C2, (G2A, G2B)),
    Relation(C3, (G3A,)),
]


def test_the_audit_finds_what_sibling_suppression_leaves_derivable() -> None:
    cells = Cells(VALUES, CONTROLLED, RELATIONS)
    # Suppression per group of siblings: C1 (5) is primary and C2 (15) hides with it,
    # together more than ten; grid G1A (5) is primary with no nonzero sibling to hide.
    siblings = np.zeros(len(VALUES), dtype=bool)
    siblings[[C1, C2, G1A]] = True
    assert VALUES[[C1, C2]].sum() > LARGEST_SUPPRESSED
    # C2's grids, shown (15 and 0), give C2; the street less C2 and C3 gives C1.
    found = audit(cells, siblings).exposures
    assert [(e.cell, e.low, e.high) for e in found if e.cell == C1] == [(C1, 5.0, 5.0)]
    assert {e.cell for e in found} == {C1, G1A}
    # Suppression across levels hides a grid of C2 too, and leaves nothing to narrow.
    hidden, result = protect(cells)
    assert hidden[[C1, C2, G1A, G2A]].all() and not hidden[STREET]
    assert result.exposures == [] and audit(cells, hidden).exposures == []


def test_shown_zeros_pin_a_hidden_cell_and_a_row_relation_is_kept() -> None:
    # resident = usual + floating; a committee of 12 residents, 2 of them floating, beside
    # a committee of 30 (25 + 5) under a street of 42 (37 + 5).
    values = np.array([42, 37, 5, 12, 10, 2, 30, 25, 5])
    controlled = np.array([False] * 3 + [True] * 6)
    rels = [
        Relation(0, (1, 2)),
        Relation(3, (4, 5)),
        Relation(6, (7, 8)),
        Relation(0, (3, 6)),
        Relation(1, (4, 7)),
        Relation(2, (5, 8)),
    ]
    # A reader sees the street's 5 floating residents: no committee can hold more.
    ceiling = np.array([42, 37, 5, 42, 37, 5, 42, 37, 5])
    cells = Cells(values, controlled, rels, ceiling)
    primary_only = cells.primary()
    # Hiding only 10, 2 and 5 lets a reader take them from the rows and the street.
    assert {e.cell for e in audit(cells, primary_only).exposures} == {4, 5, 8}
    hidden, result = protect(cells)
    assert result.exposures == []
    assert hidden[[4, 5, 8]].all()


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.lists(st.tuples(st.integers(0, 30), st.integers(0, 12)), min_size=1, max_size=5),
        min_size=1,
        max_size=5,
    )
)
def test_no_hidden_cell_can_be_narrowed_in_a_street(
    committees: list[list[tuple[int, int]]],
) -> None:
    """Random committees of grids, each with usual and floating residents: after
    suppression, every primary cell is hidden, and linear programming over what is
    shown leaves each primary cell free from 0 to 11 (or to the street's own count,
    where that is smaller) — unless nothing could: a street of one committee of one
    grid gives its count away, however much is hidden."""
    rows = [("s", "street", "d")]
    grids = []
    for i, kids in enumerate(committees):
        rows.append((f"s{i:02d}", "community", "s"))
        for j, (usual, floating) in enumerate(kids):
            rows.append((f"s{i:02d}{j:02d}", "grid", f"s{i:02d}"))
            grids.append((f"s{i:02d}{j:02d}", usual, floating))
    units = pd.DataFrame(rows, columns=["code", "level", "parent_code"])
    by_grid = {code: (u, f) for code, u, f in grids}
    usual = [sum(v[0] for k, v in by_grid.items() if k.startswith(c)) for c in units["code"]]
    floating = [sum(v[1] for k, v in by_grid.items() if k.startswith(c)) for c in units["code"]]
    units["usual_resident"], units["floating"] = usual, floating
    units["resident"] = units["usual_resident"] + units["floating"]
    for m in ("registered", "absent", "unknown", "households"):
        units[m] = 0
    no_buildings = pd.DataFrame(
        columns=["building_id", "community_code", "grid_code", "resident", "households"]
    )
    no_tags = pd.DataFrame({"code": [], "tag": [], "persons": []})
    cells, _ = cells_of(units, no_buildings, no_tags, "street")
    table, figures = suppression_table(units, no_buildings, no_tags, "street")
    small = (table["value"] >= 1) & (table["value"] <= LARGEST_SUPPRESSED)
    assert table.loc[small, "hidden"].all()
    hidden = np.zeros(len(cells.values), dtype=bool)
    hidden[cells.controlled] = table["hidden"].to_numpy()
    exposed = {e.cell for e in audit(cells, hidden).exposures}
    assert figures["unprotectable"] == len(exposed)
    assert len(figures["exposed"]) == min(len(exposed), 20)
    inherent = {e.cell for e in audit(cells, cells.controlled.copy()).exposures}
    assert exposed <= inherent


def test_the_local_rule_hides_a_second_cell_and_never_a_shown_total() -> None:
    hidden = suppress(Cells(VALUES, CONTROLLED, RELATIONS))
    assert not hidden[STREET]
    for rel in RELATIONS:
        members = [rel.total, *rel.parts]
        assert hidden[members].sum() != 1 or VALUES[members].sum() == 0, rel
    assert SMALLEST_SHOWN == LARGEST_SUPPRESSED + 1 == 11


def test_a_person_is_placed_no_finer_than_the_floor() -> None:
    person = {
        "person_id": "P1",
        "division_code": "310112001001001",
        "room_id": "3101120000001-303",
        "hukou_room_id": "3101120000001-303",
        "hukou_division_code": "310112001001",
    }
    street = coarsened(person, "street")
    assert street == {
        "person_id": "P1",
        "division_code": "310112001",
        "room_id": None,
        "hukou_room_id": None,
        "hukou_division_code": "310112001",
    }
    assert coarsened(person, "community")["division_code"] == "310112001001"


def _district(seed: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """A district of 2 streets × 3 committees × 2 grids, with buildings and one tag."""
    rng = np.random.default_rng(seed)
    rows, buildings, tags = [], [], []
    grids: dict[str, np.ndarray] = {}
    for s in range(2):
        for c in range(3):
            for g in range(2):
                code = f"310112{s:03d}{c:03d}{g:03d}"
                usual = rng.integers(0, 4, size=3) * rng.integers(0, 6, size=3)
                floating = rng.integers(0, 3, size=3)
                grids[code] = np.stack([usual, floating])
                for b in range(3):
                    resident = int(usual[b] + floating[b])
                    buildings.append(
                        (f"{code}-{b}", code[:12], code, resident, min(resident, 1 + b))
                    )
    codes = ["310112", *sorted({g[:9] for g in grids}), *sorted({g[:12] for g in grids})]
    for code in [*codes, *sorted(grids)]:
        inside = [v for g, v in grids.items() if g.startswith(code)]
        usual, floating = (int(sum(v[i].sum() for v in inside)) for i in (0, 1))
        level = {6: "district", 9: "street", 12: "community", 15: "grid"}[len(code)]
        parent = None if level == "district" else code[: {9: 6, 12: 9, 15: 12}[len(code)]]
        households = sum(b[4] for b in buildings if b[2].startswith(code))
        rows.append((code, level, parent, usual + floating, usual, floating, households))
        tags.append((code, "elderly", usual // 3))
    units = pd.DataFrame(
        rows,
        columns=[
            "code",
            "level",
            "parent_code",
            "resident",
            "usual_resident",
            "floating",
            "households",
        ],
    )
    units["registered"], units["absent"], units["unknown"] = units["usual_resident"], 0, 0
    frame = pd.DataFrame(
        buildings, columns=["building_id", "community_code", "grid_code", "resident", "households"]
    )
    return units, frame, pd.DataFrame(tags, columns=["code", "tag", "persons"])


@pytest.mark.parametrize("floor", ["district", "street", "community"])
@pytest.mark.parametrize("seed", [1, 2])
def test_every_floor_hides_its_small_cells_and_leaves_none_narrowed(floor: str, seed: int) -> None:
    units, buildings, tags = _district(seed)
    cells, labels = cells_of(units, buildings, tags, floor)  # type: ignore[arg-type]
    table, figures = suppression_table(units, buildings, tags, floor)  # type: ignore[arg-type]
    assert figures["cells"] == len(table) == int(cells.controlled.sum())
    small = (table["value"] >= 1) & (table["value"] <= LARGEST_SUPPRESSED)
    assert small.any() and table.loc[small, "hidden"].all()
    assert set(table["kind"]) == {"unit", "building"}
    hidden = np.zeros(len(cells.values), dtype=bool)
    hidden[cells.controlled] = table["hidden"].to_numpy()
    exposed = {e.cell for e in audit(cells, hidden).exposures}
    assert exposed <= {e.cell for e in audit(cells, cells.controlled.copy()).exposures}
    assert (
        not labels[~cells.controlled]["code"]
        .str.len()
        .gt({"district": 6, "street": 9, "community": 12}[floor])
        .any()
    )


def test_the_build_names_the_cells_it_could_not_protect() -> None:
    from popbase import cli

    exposed = {"unprotectable": 1, "exposed": ["unit 310112006039001 resident: 0–9"]}
    with cli.console.capture() as told:
        cli._warn_unprotectable({"publish": {"disclosure": {"street": exposed}}})
    assert "310112006039001" in told.get() and "'street'" in told.get()
    with cli.console.capture() as told:
        cli._warn_unprotectable({"publish": {"disclosure": {"street": {"unprotectable": 0}}}})
    assert told.get() == ""
