"""Disclosure control of small counts: primary and complementary cell suppression.

Counts of small units served to department roles must not single anyone out. A cell
counting 1 to :data:`LARGEST_SUPPRESSED` persons is suppressed (primary). A suppressed
cell can be worked out from what stays shown wherever it enters a relation that the
reader knows — a parent is the sum of its children across every level (street →
committees → grids → buildings), a resident count is its usual residents plus its
floating ones — so more cells are suppressed (complementary), as statistical offices do
it (τ-Argus, sdcMicro), over all the published tables of a snapshot at once:

- in every additive relation, a suppressed cell never stands alone: at least two cells
  are suppressed or none is;
- a primary cell's partners in the relation hold enough persons together that it could
  be 0 and could be :data:`SMALLEST_SHOWN` or more: shown zeros pin a suppressed cell,
  so they are not counted as cover;
- where a relation's shown cells leave no part to suppress, its total is suppressed
  instead (when it may be: a total at or above the role's floor stays shown).

The rule is local; :mod:`popbase.security.disclosure_audit` then bounds each primary cell
by linear programming over everything shown and adds cover where the local rule fell
short (:func:`popbase.security.disclosure_audit.protect`, with :func:`widen`). A person
record a role sees is placed no finer than its floor (:func:`coarsened`), so that a list
cannot be counted into a hidden cell.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

# Counts from 1 up to LARGEST_SUPPRESSED are suppressed.
SMALLEST_SHOWN = 11
LARGEST_SUPPRESSED = SMALLEST_SHOWN - 1


@dataclass(frozen=True)
class Relation:
    """What a reader knows of some cells: ``total = sum(parts)``, or ``sum(parts) <= total``.

    Cells are positions in the :class:`Cells` they belong to.
    """

    total: int
    parts: tuple[int, ...]
    equal: bool = True


@dataclass
class Cells:
    """Counts published together, the relations between them, and which may be hidden.

    Parameters
    ----------
    values
        Each cell's count.
    controlled
        Whether a cell is disclosure-controlled (below the floor); others are always shown.
    relations
        Additive equalities and inequalities between cells.
    ceiling
        The most each cell could hold by what a reader sees whole anyway (e.g. its
        street's count of the same measure); None: unbounded. A cell cannot be protected
        up to :data:`SMALLEST_SHOWN` beyond it.
    """

    values: np.ndarray
    controlled: np.ndarray
    relations: list[Relation] = field(default_factory=list)
    ceiling: np.ndarray | None = None

    @cached_property
    def relations_of(self) -> dict[int, list[int]]:
        """Per cell, the positions in :attr:`relations` of the relations holding it."""
        out: dict[int, list[int]] = {}
        for i, rel in enumerate(self.relations):
            for c in (rel.total, *rel.parts):
                out.setdefault(c, []).append(i)
        return out

    def reach(self) -> np.ndarray:
        """How high a reader must be unable to rule each cell out: up to SMALLEST_SHOWN."""
        reach = np.full(len(self.values), float(SMALLEST_SHOWN))
        if self.ceiling is not None:
            reach = np.minimum(reach, self.ceiling.astype(float))
        return reach

    def primary(self) -> np.ndarray:
        """Controlled cells counting 1 to :data:`LARGEST_SUPPRESSED` persons."""
        v = self.values
        return self.controlled & (v >= 1) & (v <= LARGEST_SUPPRESSED)


def _cover(cells: Cells, rel: Relation, hidden: np.ndarray, primary: np.ndarray) -> int | None:
    """The cell to suppress next so the relation's hidden cells stop being derivable.

    None when the relation is safe (nothing hidden, or hidden cells that cover each
    other), or when nothing in it can be suppressed any more.
    """
    parts = np.asarray(rel.parts, dtype=np.int64)
    hidden_parts = parts[hidden[parts]]
    total_hidden = bool(hidden[rel.total])
    n_hidden = len(hidden_parts) + int(total_hidden)
    if n_hidden == 0:
        return None
    v = cells.values
    safe = n_hidden >= 2
    if safe and not total_hidden:
        # Each primary part must be able to reach SMALLEST_SHOWN: its hidden partners
        # give up persons to it, so together they must hold that many.
        mass = int(v[hidden_parts].sum())
        safe = not primary[hidden_parts].any() or mass >= SMALLEST_SHOWN
    if safe:
        return None
    shown = parts[~hidden[parts] & cells.controlled[parts]]
    nonzero = shown[v[shown] > 0]
    if len(nonzero):
        return int(nonzero[np.argmin(v[nonzero])])
    if cells.controlled[rel.total] and not total_hidden:
        return rel.total
    if len(shown):
        return int(shown[0])  # a zero: at least it can grow in the reader's eyes
    return None


def suppress(
    cells: Cells, hidden: np.ndarray | None = None, changed: np.ndarray | None = None
) -> np.ndarray:
    """Which cells to hide: primary cells and their complements by the local rule.

    Parameters
    ----------
    cells
        The published cells and their relations (only equalities are used here).
    hidden
        Cells hidden already (e.g. by an earlier round); primary cells are added.
    changed
        With ``hidden``: the cells hidden since the rule last ran over it; only their
        relations (and those the rule then touches) are looked at again.

    Returns
    -------
    numpy.ndarray
        A boolean mask over the cells.

    Examples
    --------
    A committee of 8 (grids 5, 3 and 0) beside a committee of 32 under a street of 40
    that stays shown: the small grids and their committee are primary; the committee
    would be the street's total less its sibling, so the sibling is hidden as well.

    >>> values = np.array([40, 8, 32, 5, 3, 0])
    >>> rels = [Relation(0, (1, 2)), Relation(1, (3, 4, 5))]
    >>> controlled = np.array([False, True, True, True, True, True])
    >>> suppress(Cells(values, controlled, rels)).tolist()
    [False, True, True, True, True, False]
    """
    primary = cells.primary()
    given = np.zeros_like(primary) if hidden is None else hidden
    hidden = given | primary
    equations = cells.relations
    of_cell = cells.relations_of
    start = hidden if changed is None else changed | (primary & ~given)
    pending = sorted({i for c in np.flatnonzero(start).tolist() for i in of_cell.get(c, [])})
    queued = set(pending)
    while pending:
        i = pending.pop()
        queued.discard(i)
        if not equations[i].equal:
            continue
        cell = _cover(cells, equations[i], hidden, primary)
        if cell is None:
            continue
        hidden[cell] = True
        for j in (*of_cell.get(cell, []), i):
            if j not in queued:
                queued.add(j)
                pending.append(j)
    return hidden


def widen(cells: Cells, hidden: np.ndarray, exposed: Iterable[int], depth: int = 3) -> int:
    """Hide one more cell near each exposed primary cell; return how many were hidden.

    From the exposed cell, relations are searched outwards through hidden cells (up to
    ``depth`` relations away): the first relation with a shown controlled cell gets its
    smallest nonzero one hidden (a zero if it has no other: a hidden zero can still grow
    in a reader's eyes, and so absorb what another cell gives up).
    """
    added = 0
    for cell in exposed:
        pick = _nearest_open(cells, hidden, cell, depth)
        if pick is not None and not hidden[pick]:
            hidden[pick] = True
            added += 1
    return added


def _nearest_open(cells: Cells, hidden: np.ndarray, cell: int, depth: int) -> int | None:
    """The cell :func:`widen` hides for ``cell``, searching outwards; None if none."""
    v = cells.values
    frontier, seen = [cell], {cell}
    visited: set[int] = set()  # relations already searched: each is read once
    zero: int | None = None
    for _ in range(depth):
        reached: list[int] = []
        best: tuple[int, int] | None = None
        for c in frontier:
            for i in cells.relations_of.get(c, []):
                if i in visited:
                    continue
                visited.add(i)
                rel = cells.relations[i]
                members = np.array([rel.total, *rel.parts], dtype=np.int64)
                open_ = members[~hidden[members] & cells.controlled[members]]
                nonzero = open_[v[open_] > 0]
                if len(nonzero):
                    pick = int(nonzero[np.argmin(v[nonzero])])
                    if best is None or v[pick] < best[0]:
                        best = (int(v[pick]), pick)
                elif len(open_) and zero is None:
                    zero = int(open_[0])
                for m in members[hidden[members]].tolist():
                    if m not in seen:
                        seen.add(m)
                        reached.append(m)
        if best is not None:
            return best[1]
        frontier = reached
    return zero


# Digits of a division code down to each level: a person's residence is shown to these.
FLOOR_DIGITS = {"city": 4, "district": 6, "street": 9, "community": 12, "grid": 15}
# Fields placing a person below every unit level: its room (and so its building).
ROOM_FIELDS = ("room_id", "hukou_room_id")
CODE_FIELDS = ("division_code", "hukou_division_code")


def coarsened(person: dict[str, object], floor: str) -> dict[str, object]:
    """A person record placed no finer than ``floor``: codes cut, rooms left out (None).

    A role whose counts are suppressed below its floor would otherwise count a list of
    persons by their committee, grid or room and find the hidden cells.

    Examples
    --------
    >>> coarsened({"division_code": "310112001001001", "room_id": "b1-101", "sex": "F"},
    ...           "street")
    {'division_code': '310112001', 'room_id': None, 'sex': 'F'}
    """
    digits = FLOOR_DIGITS[floor]
    out = dict(person)
    for f in CODE_FIELDS:
        value = out.get(f)
        if isinstance(value, str):
            out[f] = value[:digits]
    for f in ROOM_FIELDS:
        if f in out:
            out[f] = None
    return out


def finer_than(code: str, floor: str) -> bool:
    """Whether a division-code prefix names a place below ``floor`` (more digits).

    >>> finer_than("310112001001", "street"), finer_than("310112001", "street")
    (True, False)
    """
    return len(code) > FLOOR_DIGITS[floor]
