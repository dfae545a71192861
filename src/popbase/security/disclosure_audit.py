"""The audit of suppression: how far a reader can narrow each hidden cell, by linear programming.

A reader who sees every shown cell of a snapshot and knows how cells relate (parents are
sums of children, resident = usual resident + floating, a tag's count is at most the
residents') can bound each hidden cell by minimising and maximising it over all
non-negative values of the hidden cells that agree with what is shown. A primary cell is
protected when that interval covers 0 to :data:`~popbase.security.disclosure.SMALLEST_SHOWN`
— it could be empty, and it could be large enough to be shown — as τ-Argus audits it.

The hidden cells fall apart into independent groups (cells shown at or above the floor cut
the relations), and in each group one linear program usually settles many cells at once:
a solution where a cell reaches 0, or :data:`SMALLEST_SHOWN`, proves it can. Only cells
no joint solution settles are bounded one by one, so an exposed cell is always found
exactly (scipy's HiGHS solver).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse
from scipy.optimize import linprog
from scipy.sparse.csgraph import connected_components

from popbase.security.disclosure import Cells, Relation, suppress, widen

# Solver tolerance on integer counts.
TOLERANCE = 1e-6
# Far above any count: keeps every program bounded without cutting the truth off.
CAP = 1e8
# Rounds of widening before a cell is reported as one that cannot be protected.
MAX_ROUNDS = 30
# Rounds in a row that protect none of the exposed cells before they are reported so.
STALLED_ROUNDS = 3


@dataclass(frozen=True)
class Exposure:
    """A hidden primary cell a reader can narrow: its value lies within ``low``–``high``."""

    cell: int
    low: float
    high: float


@dataclass
class AuditResult:
    """What the audit found: exposed cells, how many it checked and linear programs solved."""

    exposures: list[Exposure] = field(default_factory=list)
    checked: int = 0
    programs: int = 0


@dataclass(frozen=True)
class _System:
    """One independent group of hidden cells: ``a_eq x = b_eq``, ``a_ub x <= b_ub``, x >= 0."""

    cells: np.ndarray
    a_eq: sparse.csr_matrix | None
    b_eq: np.ndarray | None
    a_ub: sparse.csr_matrix | None
    b_ub: np.ndarray | None


def _rows(
    cells: Cells, hidden: np.ndarray, relations: Sequence[Relation]
) -> tuple[list[tuple[dict[int, int], int, bool]], int]:
    """Each relation holding a hidden cell as ``({cell: coefficient}, constant, equal)``.

    The relation reads ``sum(coefficient * cell) = constant`` (or ``<=``) over hidden
    cells, the shown ones moved to the constant.
    """
    rows = []
    for rel in relations:
        sign = 1 if rel.equal else -1  # sum(parts) - total <= 0 for an inequality
        coefs: dict[int, int] = {rel.total: sign}
        for p in rel.parts:
            coefs[p] = coefs.get(p, 0) - sign
        terms = {c: k for c, k in coefs.items() if k and hidden[c]}
        if not terms:
            continue
        constant = -sum(k * int(cells.values[c]) for c, k in coefs.items() if k and not hidden[c])
        rows.append((terms, constant, rel.equal))
    return rows, len(rows)


def _reachable(cells: Cells, hidden: np.ndarray, targets: np.ndarray) -> list[Relation]:
    """The relations linked to ``targets`` through hidden cells: their groups' relations."""
    rels_of = cells.relations_of
    seen_cells = set(np.flatnonzero(targets).tolist())
    frontier, chosen = list(seen_cells), set()
    while frontier:
        nxt = []
        for c in frontier:
            for i in rels_of.get(c, []):
                if i in chosen:
                    continue
                chosen.add(i)
                rel = cells.relations[i]
                for m in (rel.total, *rel.parts):
                    if hidden[m] and m not in seen_cells:
                        seen_cells.add(m)
                        nxt.append(m)
        frontier = nxt
    return [cells.relations[i] for i in sorted(chosen)]


def _systems(cells: Cells, hidden: np.ndarray, wanted: np.ndarray) -> list[_System]:
    """The independent groups of hidden cells holding a ``wanted`` cell, with their relations."""
    index = np.full(len(cells.values), -1, dtype=np.int64)
    hidden_cells = np.flatnonzero(hidden)
    index[hidden_cells] = np.arange(len(hidden_cells))
    # Few cells wanted (a later round): only the relations around them are read.
    few = int(wanted.sum()) * 20 < len(hidden_cells)
    relations = _reachable(cells, hidden, wanted) if few else cells.relations
    rows, n_rows = _rows(cells, hidden, relations)
    n = len(hidden_cells)
    if n == 0:
        return []
    # Cells and relations as one graph: a relation node links the cells it holds.
    r_idx = [n + i for i, (terms, _, _) in enumerate(rows) for _ in terms]
    c_idx = [int(index[c]) for terms, _, _ in rows for c in terms]
    graph = sparse.coo_matrix(
        (np.ones(len(r_idx)), (r_idx, c_idx)), shape=(n + n_rows, n + n_rows)
    ).tocsr()
    _, label = connected_components(graph, directed=False)
    members: dict[int, list[int]] = {}
    for local in range(n):
        members.setdefault(int(label[local]), []).append(local)
    row_groups: dict[int, list[int]] = {}
    for i in range(n_rows):
        row_groups.setdefault(int(label[n + i]), []).append(i)
    systems = []
    for group, locals_ in members.items():
        if not wanted[hidden_cells[locals_]].any():
            continue
        column = {int(hidden_cells[v]): j for j, v in enumerate(locals_)}
        eq: list[int] = [i for i in row_groups.get(group, []) if rows[i][2]]
        ub: list[int] = [i for i in row_groups.get(group, []) if not rows[i][2]]
        a_eq, b_eq = _matrix(rows, eq, column)
        a_ub, b_ub = _matrix(rows, ub, column)
        systems.append(_System(hidden_cells[locals_], a_eq, b_eq, a_ub, b_ub))
    return systems


def _matrix(
    rows: list[tuple[dict[int, int], int, bool]], chosen: list[int], column: dict[int, int]
) -> tuple[sparse.csr_matrix | None, np.ndarray | None]:
    """The coefficients and constants of the ``chosen`` rows over the cells of ``column``."""
    if not chosen:
        return None, None
    data, ri, ci = [], [], []
    for k, i in enumerate(chosen):
        for c, coef in rows[i][0].items():
            data.append(coef)
            ri.append(k)
            ci.append(column[c])
    a = sparse.csr_matrix((data, (ri, ci)), shape=(len(chosen), len(column)), dtype=float)
    return a, np.array([rows[i][1] for i in chosen], dtype=float)


def _solve(system: _System, objective: np.ndarray, bounds: np.ndarray) -> np.ndarray | None:
    """A solution optimising ``objective`` (minimised) within ``bounds``; None if none."""
    res = linprog(
        objective,
        A_ub=system.a_ub,
        b_ub=system.b_ub,
        A_eq=system.a_eq,
        b_eq=system.b_eq,
        bounds=bounds,
        method="highs",
    )
    return res.x if res.status == 0 else None


def _settle(
    system: _System,
    pending: set[int],
    free: np.ndarray,
    reach: np.ndarray,
    upwards: bool,
    result: AuditResult,
) -> set[int]:
    """Settle ``pending`` cells one way (up to ``reach``, or down to 0); return those exposed.

    A program over all pending cells at once (capped at ``reach`` when going up, so that
    a joint maximum spreads over many) settles every cell it reaches; once it reaches
    none, cells are bounded one by one, exactly, each solution settling whatever else
    it reaches.
    """
    n = len(system.cells)
    sign = -1.0 if upwards else 1.0

    def reached(x: np.ndarray | None, cells: set[int]) -> set[int]:
        if x is None:
            return set()
        if upwards:
            return {j for j in cells if x[j] >= reach[j] - TOLERANCE}
        return {j for j in cells if x[j] <= TOLERANCE}

    exposed: set[int] = set()
    jointly = True
    while pending:
        if jointly:
            chosen = sorted(pending)
            bounds = free.copy()
            if upwards:
                bounds[chosen, 1] = np.maximum(reach[chosen], TOLERANCE)
            objective = np.zeros(n)
            objective[chosen] = sign
            got = reached(_solve(system, objective, bounds), pending)
            result.programs += 1
            if got:
                pending -= got
                continue
            jointly = False
        j = min(pending)
        one = np.zeros(n)
        one[j] = sign
        got = reached(_solve(system, one, free), pending)
        result.programs += 1
        if j not in got:
            exposed.add(j)
        pending -= got | {j}
        jointly = len(got) > 1  # a solution that settles several may settle more jointly
    return exposed


def _audit_system(
    system: _System, targets: np.ndarray, reach: np.ndarray, result: AuditResult, interval: bool
) -> None:
    """Settle each target cell of one group: can it be 0, and can it reach ``reach``."""
    n = len(system.cells)
    reach = reach[system.cells]
    free = np.column_stack([np.zeros(n), np.full(n, CAP)])
    wanted = set(np.flatnonzero(targets).tolist())
    result.checked += len(wanted)
    exposed = _settle(system, set(wanted), free, reach, True, result)
    exposed |= _settle(system, set(wanted), free, reach, False, result)
    for j in sorted(exposed):
        if not interval:
            result.exposures.append(Exposure(int(system.cells[j]), float("nan"), float("nan")))
            continue
        one = np.zeros(n)
        one[j] = 1.0
        low = _solve(system, one, free)
        high = _solve(system, -one, free)
        result.programs += 2
        result.exposures.append(
            Exposure(
                int(system.cells[j]),
                float("nan") if low is None else float(low[j]),
                float("nan") if high is None else float(high[j]),
            )
        )


def audit(
    cells: Cells, hidden: np.ndarray, targets: np.ndarray | None = None, bounds: bool = True
) -> AuditResult:
    """Bound every hidden primary cell (or every ``targets`` cell) over what is shown.

    Parameters
    ----------
    cells
        The cells, with every relation the reader knows (equalities and inequalities).
    hidden
        Which cells are hidden.
    targets
        Cells to check; by default the hidden primary cells.
    bounds
        Whether to work out the interval of each exposed cell (two programs each);
        without, it is NaN.

    Returns
    -------
    AuditResult
        The cells whose interval does not cover 0 to ``SMALLEST_SHOWN`` (or to their
        ceiling, :attr:`Cells.ceiling`, where that is lower).

    Examples
    --------
    A street of 40 shown, committees of 5 (hidden) and 35 (shown): the 5 is exposed.

    >>> from popbase.security.disclosure import Relation
    >>> cells = Cells(np.array([40, 5, 35]), np.array([False, True, True]),
    ...               [Relation(0, (1, 2))])
    >>> [(e.cell, e.low, e.high) for e in audit(cells, np.array([False, True, False])).exposures]
    [(1, 5.0, 5.0)]
    >>> audit(cells, np.array([False, True, True])).exposures
    []
    """
    wanted = (cells.primary() & hidden) if targets is None else (targets & hidden)
    result = AuditResult()
    reach = cells.reach()
    for system in _systems(cells, hidden, wanted):
        _audit_system(system, wanted[system.cells], reach, result, bounds)
    result.exposures.sort(key=lambda e: e.cell)
    return result


def protect(cells: Cells) -> tuple[np.ndarray, AuditResult]:
    """Hide primary cells and enough complements that the audit finds none exposed.

    The local rule (:func:`~popbase.security.disclosure.suppress`) goes first; each round
    of the audit then widens the cover beside the exposed cells and applies the rule
    again, until nothing is exposed or nothing more can be hidden. Hiding more never
    narrows a cell, so a round audits only the cells the round before found exposed.

    Returns
    -------
    tuple of numpy.ndarray and AuditResult
        The hidden mask, and the last audit (its exposures cannot be protected: e.g. a
        committee's count whose street, shown, holds no one else).
    """
    hidden = suppress(cells)
    result = audit(cells, hidden, bounds=False)
    programs = result.programs
    before = hidden
    stalled = 0
    for _ in range(MAX_ROUNDS):
        if not result.exposures:
            break
        before = hidden.copy()
        if widen(cells, hidden, [e.cell for e in result.exposures]) == 0:
            break
        hidden = suppress(cells, hidden, changed=before ^ hidden)
        exposed = np.zeros(len(hidden), dtype=bool)
        exposed[[e.cell for e in result.exposures]] = True
        was = len(result.exposures)
        result = audit(cells, hidden, exposed, bounds=False)
        programs += result.programs
        # Rounds that protect none of the exposed cells only hide more: such cells are
        # ones no cover protects (a committee alone in its shown street).
        stalled = stalled + 1 if len(result.exposures) >= was else 0
        if stalled >= STALLED_ROUNDS:
            break
    if result.exposures:
        exposed = np.zeros(len(hidden), dtype=bool)
        exposed[[e.cell for e in result.exposures]] = True
        result = audit(cells, hidden, exposed)
        programs += result.programs
    result.programs = programs
    return hidden, result
