"""Score the current snapshot against a sample's ground truth (``truth/``).

The JSON keeps one stable shape that scripts can rely on (ratios 0-1, percentages as
percent)::

    {"link": {"precision", "recall", "linked", "truth_links", "by_kind", "by_source"},
     "person": {"precision", "recall", "records"},
     "community_residents": {"mean_abs_pct_error", "max_abs_pct_error", "communities",
                             "resident_total", "truth_total"}}

Records are matched to truth by (source, record number); a department's repeated export
of one record counts once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from popbase.config import Project
from popbase.errors import SnapshotError
from popbase.ops.snapshot import current_snapshot


def _pairs(counts: pd.Series) -> int:
    n = counts.to_numpy(dtype=np.int64)
    return int((n * (n - 1) // 2).sum())


def pairwise_scores(predicted: pd.Series, truth: pd.Series) -> dict[str, float]:
    """Pairwise precision and recall of a clustering (``None`` predicted = a singleton).

    Examples
    --------
    >>> pairwise_scores(pd.Series(["a", "a", None]), pd.Series(["x", "x", "x"]))
    {'precision': 1.0, 'recall': 0.3333333333333333}
    """
    pred = predicted.astype(object).where(
        predicted.notna(),
        pd.Series(range(len(predicted)), dtype=object).map(lambda i: f"__single{i}"),
    )
    frame = pd.DataFrame({"p": pred.astype(str).to_numpy(), "t": truth.astype(str).to_numpy()})
    both = _pairs(frame.groupby(["p", "t"]).size())
    p = _pairs(frame.groupby("p").size())
    t = _pairs(frame.groupby("t").size())
    return {"precision": both / p if p else 1.0, "recall": both / t if t else 1.0}


def _link_scores(
    truth: pd.DataFrame, outcomes: pd.DataFrame, links: pd.DataFrame
) -> dict[str, Any]:
    t = truth[truth["address_kind"] != ""].drop_duplicates(["source", "record_no"])
    pred = links.merge(outcomes[["record_id", "source", "record_no"]], on=["record_id", "source"])
    pred = pred.drop_duplicates(["source", "record_no", "address_kind"])
    joined = t.merge(
        pred, on=["source", "record_no", "address_kind"], how="left", suffixes=("_true", "")
    )
    true_room = joined["room_id_true"].replace("", None)
    predicted = joined["room_id"].astype(object).where(joined["room_id"].notna(), None)
    correct = (predicted.notna() & (predicted == true_room)).to_numpy()
    has_pred = predicted.notna().to_numpy()
    has_true = true_room.notna().to_numpy()

    def scores(sel: np.ndarray) -> dict[str, float]:
        return {
            "precision": float(correct[sel].sum() / max(has_pred[sel].sum(), 1)),
            "recall": float(correct[sel].sum() / max(has_true[sel].sum(), 1)),
        }

    def grouped(column: str) -> dict[str, dict[str, float]]:
        values = joined[column].to_numpy()
        return {str(v): scores(values == v) for v in sorted(joined[column].unique())}

    return {
        **scores(np.ones(len(joined), dtype=bool)),
        "linked": int(has_pred.sum()),
        "truth_links": int(has_true.sum()),
        "by_kind": grouped("address_kind"),
        "by_source": grouped("source"),
    }


def _community_scores(persons: pd.DataFrame, units: pd.DataFrame) -> dict[str, Any]:
    truth = persons[persons["presence"] == "resident"].groupby("community_code").size()
    comm = units[units["level"] == "community"].set_index("code")["resident"]
    codes = truth.index.union(comm.index)
    t = truth.reindex(codes, fill_value=0).astype(float)
    p = comm.reindex(codes, fill_value=0).astype(float)
    err = (p - t).abs() / t.where(t > 0) * 100
    err = err.dropna()
    return {
        "mean_abs_pct_error": float(err.mean()) if len(err) else 0.0,
        "max_abs_pct_error": float(err.max()) if len(err) else 0.0,
        "communities": len(err),
        "resident_total": int(p.sum()),
        "truth_total": int(t.sum()),
    }


def evaluate_project(project: Project) -> dict[str, Any]:
    """Score the current snapshot of a sample project.

    Raises
    ------
    SnapshotError
        If the project has no ``truth/`` folder or no current snapshot.
    """
    truth_dir = project.root / "truth"
    if not (truth_dir / "records.parquet").exists():
        raise SnapshotError(
            f"{truth_dir}: no ground truth here; `popbase eval` scores sample projects "
            "(made by `popbase sample`)"
        )
    snap = current_snapshot(project.output_dir)
    con = duckdb.connect(str(snap.base_db), read_only=True)
    try:
        outcomes = con.execute(
            "SELECT source, record_id, record_no, kind, outcome, person_id FROM record_outcomes"
        ).df()
        links = con.execute(
            "SELECT source, record_id, address_kind, room_id FROM record_links"
        ).df()
        units = con.execute("SELECT code, level, resident FROM units").df()
    finally:
        con.close()
    records = pd.read_parquet(truth_dir / "records.parquet")
    persons = pd.read_parquet(
        truth_dir / "persons.parquet", columns=["person_id", "presence", "community_code"]
    )
    people = records[records["person_id"] != ""].drop_duplicates(["source", "record_no"])
    pred = people.merge(
        outcomes.drop_duplicates(["source", "record_no"]),
        on=["source", "record_no"],
        how="left",
        suffixes=("_true", ""),
    )
    person = pairwise_scores(pred["person_id"], pred["person_id_true"])
    return {
        "snapshot": snap.id,
        "link": _link_scores(records, outcomes, links),
        "person": {**person, "records": len(pred)},
        "community_residents": _community_scores(persons, units),
    }


def evaluate_path(path: Path) -> dict[str, Any]:
    """Load the project at ``path`` and score it."""
    from popbase.config import load_project

    return evaluate_project(load_project(path))
