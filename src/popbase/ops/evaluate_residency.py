"""Residency scored against a sample's truth: the status, and each rule that decided it.

A status of ``unknown`` (待核实) is no answer: it is never right, so the plain accuracy
counts it wrong, and ``accuracy_decided`` is the accuracy over the persons given a
status (with ``unknown`` their count, so a reader sees what was left undecided).

Per placement rule (``residency_rule``, :mod:`popbase.population.residency_rules`): the
persons it decided, how often their status is right, and, where the rule placed them in
a room or a unit, how often the room and the street are the true ones; with the true
statuses of its persons, so that a rule giving ``unknown`` shows what they really were.
Per months rule (``months_rule``): the persons and how often their status is right.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from popbase.population.residency import STREET_DIGITS

UNDECIDED = "unknown"


def _share(right: pd.Series) -> float | None:
    """The share of true values, or None when there are none to count."""
    return float(right.mean()) if len(right) else None


def _rule_scores(group: pd.DataFrame) -> dict[str, Any]:
    decided = group["residency_status"] != UNDECIDED
    roomed = group["residence_room"].notna()
    placed = group["live_street"].notna()
    return {
        "persons": len(group),
        "status_precision": _share(group.loc[decided, "right"]),
        "placed_in_room": int(roomed.sum()),
        "room_precision": _share(
            group.loc[roomed, "residence_room"] == group.loc[roomed, "residence_room_id"]
        ),
        "placed_in_street": int(placed.sum()),
        "street_precision": _share(
            group.loc[placed, "live_street"] == group.loc[placed, "true_street"]
        ),
        "true_statuses": {
            str(k): int(v) for k, v in group["true_status"].value_counts().sort_index().items()
        },
    }


def _months_scores(group: pd.DataFrame) -> dict[str, Any]:
    return {"persons": len(group), "status_precision": _share(group["right"])}


def residency_scores(
    built: pd.DataFrame, truth: pd.DataFrame, true_person: pd.Series
) -> dict[str, Any]:
    """Residency status accuracy over the built persons that stand for a true one.

    ``built`` holds ``person_id, residency_status`` and, where the snapshot has them,
    ``residency_rule, months_rule, residence_room, division_code``; ``truth`` the true
    persons' ``person_id, residency_status`` and, for rooms and streets,
    ``residence_room_id, street_code``. Also, per true status, the share given that
    status (its recall), and per rule what it decided (see the module).

    Examples
    --------
    >>> built = pd.DataFrame({"person_id": ["P1", "P2", "P3"],
    ...                       "residency_status": ["present_registered", "none", "unknown"]})
    >>> truth = pd.DataFrame({"person_id": ["T1", "T2", "T3"],
    ...                       "residency_status": ["present_registered", "absent_registered",
    ...                                            "present_registered"]})
    >>> s = residency_scores(built, truth, pd.Series({"P1": "T1", "P2": "T2", "P3": "T3"}))
    >>> (round(s["accuracy"], 4), s["accuracy_decided"], s["unknown"])
    (0.3333, 0.5, 1)
    """
    built = built.copy()
    for column in ("residency_rule", "months_rule", "residence_room", "division_code"):
        if column not in built:
            built[column] = None
    mine = truth.rename(columns={"person_id": "true_id", "residency_status": "true_status"})
    for column in ("residence_room_id", "street_code"):
        if column not in mine:
            mine[column] = None
    both = built.assign(true_id=built["person_id"].map(true_person)).merge(
        mine[["true_id", "true_status", "residence_room_id", "street_code"]], on="true_id"
    )
    both["residency_status"] = both["residency_status"].fillna("none")
    both["right"] = both["residency_status"] == both["true_status"]
    both["live_street"] = (
        both["division_code"]
        .astype(object)
        .map(lambda c: str(c)[:STREET_DIGITS] if isinstance(c, str) and c else None)
    )
    both["true_street"] = (
        both["street_code"]
        .astype(object)
        .map(lambda c: str(c)[:STREET_DIGITS] if isinstance(c, str) and c else None)
    )
    decided = both["residency_status"] != UNDECIDED
    rules = both["residency_rule"].fillna("(none)")
    months = both[both["months_rule"].notna()]
    return {
        "accuracy": float(both["right"].mean()) if len(both) else 0.0,
        "accuracy_decided": float(both.loc[decided, "right"].mean()) if decided.any() else 0.0,
        "persons": len(both),
        "decided": int(decided.sum()),
        "unknown": int((~decided).sum()),
        "recall_by_status": {
            str(status): float(both.loc[both["true_status"] == status, "right"].mean())
            for status in sorted(both["true_status"].unique())
        },
        "by_rule": {str(rule): _rule_scores(g) for rule, g in both.groupby(rules, sort=True)},
        "by_months_rule": {
            str(rule): _months_scores(g) for rule, g in months.groupby("months_rule", sort=True)
        },
    }


def _fraction(value: float | None) -> str:
    return "–" if value is None else f"{value:.4f}"


def residency_rows(residency: dict[str, Any]) -> list[tuple[str, str]]:
    """Rows of the headline scores: the accuracy, and over the decided with 待核实's count.

    >>> rows = residency_rows({"accuracy": 0.99, "accuracy_decided": 0.995, "unknown": 3,
    ...     "decided": 97, "persons": 100, "by_rule": {}, "by_months_rule": {}})
    >>> rows[1]
    ('residency: accuracy over the decided / 待核实 (unknown)', '0.9950 / 3')
    """
    return [
        ("residency status (人户状态): accuracy", f"{residency['accuracy']:.4f}"),
        (
            "residency: accuracy over the decided / 待核实 (unknown)",
            f"{residency['accuracy_decided']:.4f} / {residency['unknown']:,}",
        ),
    ]


def rule_rows(residency: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """Rows of the residency rules' table: rule, persons decided, status and room precision.

    >>> rule_rows({"by_rule": {"listed": {"persons": 97, "status_precision": 1.0,
    ...     "room_precision": 0.99}}, "by_months_rule": {}})[0][1:]
    ('97', '1.0000', '0.9900')
    """
    from popbase.population.residency_rules import rule_labels

    labels = rule_labels()
    rows = [
        (
            f"{rule} ({labels.get(rule, '?')})",
            f"{s['persons']:,}",
            _fraction(s["status_precision"]),
            _fraction(s.get("room_precision")),
        )
        for rule, s in residency.get("by_rule", {}).items()
    ]
    rows += [
        (
            f"months: {rule} ({labels.get(rule, '?')})",
            f"{s['persons']:,}",
            _fraction(s["status_precision"]),
            "–",
        )
        for rule, s in residency.get("by_months_rule", {}).items()
    ]
    return rows
