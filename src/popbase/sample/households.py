"""Group people of given ages and sexes into households.

Bottom-up, so that the census age structure is kept exactly: adults marry by age,
children join a couple about thirty years older, some young adults stay with their
parents, some elderly live with a child's family (three generations), and the rest live
alone or share a rented flat (群租).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MARRIED_BY_AGE = (
    (18, 0.0),
    (20, 0.03),
    (22, 0.12),
    (25, 0.42),
    (30, 0.74),
    (35, 0.86),
    (65, 0.72),
    (80, 0.45),
)


@dataclass
class Households:
    """Household membership of people.

    Attributes
    ----------
    household
        Household index of each person (0 … n_households - 1).
    relation
        Relation to the household head: 户主, 配偶, 子女, 父母, 其他.
    married
        Whether the person lives with a spouse.
    kind
        Per household: ``family``, ``couple``, ``elderly_couple``, ``elderly_alone``,
        ``single``, ``shared``.
    """

    household: np.ndarray
    relation: np.ndarray
    married: np.ndarray
    kind: np.ndarray


def _piecewise(age: np.ndarray, table: tuple[tuple[int, float], ...]) -> np.ndarray:
    edges = np.array([a for a, _ in table])
    values = np.array([v for _, v in table])
    return values[np.clip(np.searchsorted(edges, age, side="right") - 1, 0, len(values) - 1)]


def _pair(
    men: np.ndarray, women: np.ndarray, age: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Pair men and women of similar age; returns an (k, 2) array of person indices."""
    k = min(len(men), len(women))
    men = rng.choice(men, k, replace=False)
    women = rng.choice(women, k, replace=False)
    men = men[np.argsort(age[men] - 2 + rng.normal(0, 2, k))]
    women = women[np.argsort(age[women] + rng.normal(0, 2, k))]
    return np.column_stack([men, women])


def _attach(
    targets: np.ndarray, unit_age: np.ndarray, rng: np.random.Generator, spread: int = 3
) -> np.ndarray:
    """Pick, for each wanted age in ``targets``, a unit whose age is close to it."""
    # Jitter breaks ties between units of equal age, which would otherwise all map to one.
    jittered = unit_age + rng.uniform(-0.5, 0.5, len(unit_age))
    order = np.argsort(jittered)
    sorted_age = jittered[order]
    j = np.searchsorted(sorted_age, targets) + rng.integers(-spread, spread + 1, len(targets))
    # Wanted ages beyond every unit's would all pile onto the oldest or youngest unit.
    outside = (j < 0) | (j >= len(order))
    j[outside] = rng.integers(0, len(order), int(outside.sum()))
    return np.asarray(order[j])


def _within_cap(units: np.ndarray, cap: int, taken: np.ndarray) -> np.ndarray:
    """Which of the people wanting ``units`` fit, at most ``cap`` per unit overall.

    ``taken`` counts places already used per unit and is updated.
    """
    order = np.argsort(units, kind="stable")
    sorted_units = units[order]
    starts = np.searchsorted(sorted_units, sorted_units, side="left")
    rank = np.empty(len(units), dtype=int)
    rank[order] = np.arange(len(units)) - starts
    keep = rank + taken[units] < cap
    np.add.at(taken, units[keep], 1)
    return np.asarray(keep)


def form_households(age: np.ndarray, male: np.ndarray, rng: np.random.Generator) -> Households:
    """Form households from people's ages and sexes.

    Parameters
    ----------
    age
        Age in whole years per person.
    male
        True for men.
    rng
        Random generator.

    Returns
    -------
    Households
        Membership, relation to the head and household kinds.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> age = rng.integers(0, 90, 1000); male = rng.random(1000) < 0.5
    >>> h = form_households(age, male, rng)
    >>> int((h.household >= 0).sum())
    1000
    """
    n = len(age)
    idx = np.arange(n)
    household = np.full(n, -1)
    relation = np.full(n, "户主", dtype=object)
    elder = age >= 65
    married = (age >= 18) & (rng.random(n) < _piecewise(age, MARRIED_BY_AGE))
    couples = np.concatenate(
        [
            _pair(idx[married & male & ~elder], idx[married & ~male & ~elder], age, rng),
            _pair(idx[married & male & elder], idx[married & ~male & elder], age, rng),
        ]
    )
    married[:] = False
    married[couples.ravel()] = True
    n_units = len(couples)
    household[couples[:, 0]] = np.arange(n_units)
    household[couples[:, 1]] = np.arange(n_units)
    relation[couples[:, 1]] = "配偶"
    unit_age = age[couples].mean(axis=1)
    kind = np.where(unit_age >= 65, "elderly_couple", "couple").astype(object)

    # Single parents: some unmarried adults of 28-50 head a family unit.
    single_parent = idx[(household < 0) & (age >= 28) & (age <= 50) & (rng.random(n) < 0.08)]
    household[single_parent] = n_units + np.arange(len(single_parent))
    unit_age = np.concatenate([unit_age, age[single_parent].astype(float)])
    kind = np.concatenate([kind, np.full(len(single_parent), "couple", dtype=object)])
    n_units += len(single_parent)
    parents = np.flatnonzero((unit_age >= 20) & (unit_age < 62))

    # Children and some young adults live with parents about thirty years older; at most
    # three per family, minors first (a minor never lives alone: a full family's
    # extra child goes to a random family instead).
    children = np.zeros(n_units, dtype=int)
    minors = idx[age < 18]
    adult_kids = idx[(household < 0) & (age >= 18) & (age < 30) & (rng.random(n) < 0.6)]
    if len(parents):
        for kids, can_spill in ((minors, True), (adult_kids, False)):
            pick = parents[
                _attach(age[kids] + rng.normal(30, 4, len(kids)), unit_age[parents], rng)
            ]
            fits = _within_cap(pick, 3, children)
            if can_spill:
                pick[~fits] = rng.choice(parents, int((~fits).sum()))
                fits[:] = True
            household[kids[fits]] = pick[fits]
            relation[kids[fits]] = "子女"
            kind[np.unique(pick[fits])] = "family"

    # Some elderly live with a child's family: three generations.
    lonely_elder = idx[(household < 0) & elder & (rng.random(n) < 0.35)]
    elder_couples = np.flatnonzero(kind == "elderly_couple")
    moving_couples = elder_couples[rng.random(len(elder_couples)) < 0.15]
    hosts = np.flatnonzero((unit_age >= 30) & (unit_age < 62))
    if len(hosts):
        elders = np.zeros(n_units, dtype=int)
        host = hosts[
            _attach(
                unit_age[moving_couples] - rng.normal(28, 4, len(moving_couples)),
                unit_age[hosts],
                rng,
            )
        ]
        fits = _within_cap(host, 1, elders)
        elders[host[fits]] += 1  # a couple takes two places
        moving_couples, host = moving_couples[fits], host[fits]
        pick = hosts[
            _attach(age[lonely_elder] - rng.normal(28, 4, len(lonely_elder)), unit_age[hosts], rng)
        ]
        fits = _within_cap(pick, 2, elders)
        lonely_elder, pick = lonely_elder[fits], pick[fits]
        household[lonely_elder] = pick
        relation[lonely_elder] = "父母"
        kind[np.unique(pick)] = "family"
        members = np.isin(household, moving_couples)
        mover_units = household[members]
        host_of = dict(zip(moving_couples.tolist(), host.tolist(), strict=True))
        household[members] = [host_of[u] for u in mover_units.tolist()]
        relation[members] = "父母"
        kind[list(set(host_of.values()))] = "family"
        kind[moving_couples] = ""

    # The rest live alone or share a flat with 1-3 others (群租).
    rest = idx[household < 0]
    alone = elder[rest] | (rng.random(len(rest)) < 0.45)
    solo = rest[alone]
    household[solo] = n_units + np.arange(len(solo))
    kind = np.concatenate([kind, np.where(elder[solo], "elderly_alone", "single").astype(object)])
    n_units += len(solo)
    sharers = rng.permutation(rest[~alone])
    sizes = rng.integers(2, 5, len(sharers) // 2 + 1)
    group = np.repeat(np.arange(len(sizes)), sizes)[: len(sharers)]
    household[sharers] = n_units + group
    relation[sharers] = "其他"
    kind = np.concatenate(
        [kind, np.full(group.max() + 1 if len(group) else 0, "shared", dtype=object)]
    )
    if len(sharers):
        first = np.unique(group, return_index=True)[1]
        relation[sharers[first]] = "户主"

    # Renumber households densely (units that moved in with their children vanish).
    used, household = np.unique(household, return_inverse=True)
    return Households(household, relation, married, kind[used])
