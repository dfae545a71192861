"""Score the current snapshot against a sample's ground truth (``truth/``).

The JSON keeps one stable shape that scripts can rely on (ratios 0-1, percentages as
percent)::

    {"link": {"precision", "recall", "linked", "truth_links", "by_kind", "by_source"},
     "person": {"precision", "recall", "records"},
     "community_residents": {"mean_abs_pct_error", "max_abs_pct_error", "communities",
                             "resident_total", "truth_total"},
     "fused": {"persons", "sex", "birth_date", "residence_room", "hukou_room", "employer", …},
     "household": {"precision", "recall"},
     "residency": {"accuracy", "accuracy_decided", "persons", "decided", "unknown",
                   "recall_by_status", "by_rule", "by_months_rule"},
     "tags": {tag: {"accuracy", "precision", "recall", "true", "tagged"}}}

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
from popbase.ops.evaluate_residency import residency_rows, residency_scores
from popbase.ops.snapshot import current_snapshot

__all__ = ["evaluate_project", "headline_scores", "residency_scores"]


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
        "share_within_0_5_pct": float((err <= 0.5).mean()) if len(err) else 0.0,
        "communities": len(err),
        "resident_total": int(p.sum()),
        "truth_total": int(t.sum()),
    }


# Fused attributes scored against the truth: built column → truth column.
FUSED_ATTRIBUTES = {
    "sex": "sex",
    "birth_date": "birth_date",
    "residence_room": "residence_room_id",
    "hukou_room": "hukou_room_id",
    "employer": "employer_credit_code",
}


def true_person_of(outcomes: pd.DataFrame, records: pd.DataFrame) -> pd.Series:
    """Each built person's true person: the one most of its records belong to.

    Examples
    --------
    >>> outcomes = pd.DataFrame({"source": ["a", "a", "b"], "record_no": ["1", "2", "1"],
    ...                          "person_id": ["P1", "P1", "P1"]})
    >>> records = pd.DataFrame({"source": ["a", "a", "b"], "record_no": ["1", "2", "1"],
    ...                         "person_id": ["T1", "T1", "T2"]})
    >>> true_person_of(outcomes, records).to_dict()
    {'P1': 'T1'}
    """
    pairs = outcomes.dropna(subset=["person_id"]).merge(
        records[records["person_id"] != ""], on=["source", "record_no"], suffixes=("", "_true")
    )
    counts = pairs.groupby(["person_id", "person_id_true"]).size().reset_index(name="n")
    counts = counts.sort_values(["person_id", "n", "person_id_true"], ascending=[True, False, True])
    first = counts.drop_duplicates("person_id")
    return pd.Series(first["person_id_true"].to_numpy(), index=first["person_id"].to_numpy())


def fused_scores(
    built: pd.DataFrame,
    truth: pd.DataFrame,
    true_person: pd.Series,
    scored: dict[str, set[str]] | None = None,
) -> dict[str, Any]:
    """Accuracy of each fused attribute over the built persons that stand for a true one.

    A value is right when it equals the truth's, or when both have none (an absent
    person has no residence room); the fraction right per attribute. ``scored`` limits
    an attribute to the true persons some source could tell it for (an employer is
    known only from records that carry one).
    """
    built = built.assign(true_id=built["person_id"].map(true_person)).dropna(subset=["true_id"])
    theirs = {column: f"{name}_true" for name, column in FUSED_ATTRIBUTES.items()}
    truth = truth[["person_id", *theirs]].rename(columns={**theirs, "person_id": "true_id"})
    both = built.merge(truth, on="true_id")
    scores: dict[str, Any] = {"persons": len(both)}
    for name in FUSED_ATTRIBUTES:
        mine, true = _text_or_none(both[name]), _text_or_none(both[f"{name}_true"])
        right = (mine == true) | (mine.isna() & true.isna())
        if scored and name in scored:
            # Over everyone too: what no source tells is missing there, not wrong.
            scores[f"{name}_all_persons"] = float(right.mean()) if len(both) else 0.0
            right = right[both["true_id"].isin(scored[name])]
        scores[name] = float(right.mean()) if len(right) else 0.0
    return scores


def _told(project: Project, records: pd.DataFrame) -> dict[str, set[str]]:
    """The true persons some source could tell each attribute for.

    The residence room for those with a residence address in some record; the employer
    for those with a record in a source that carries an employer's credit code.
    """
    employer = [s.name for s in project.config.sources if "employer_credit_code" in s.columns]
    return {
        "residence_room": set(records.loc[records["address_kind"] == "residence", "person_id"]),
        "employer": set(records.loc[records["source"].isin(employer), "person_id"]) - {""},
    }


def household_scores(
    built: pd.DataFrame, truth: pd.DataFrame, true_person: pd.Series
) -> dict[str, float]:
    """Pairwise precision and recall of register households (户号) against the truth's.

    The truth's register household is everyone registered at the same hukou room; persons
    the register does not hold (no true hukou room) are left out.
    """
    true_of = built["person_id"].map(true_person)
    both = built.assign(true_id=true_of).merge(
        truth[["person_id", "hukou_room_id"]].rename(columns={"person_id": "true_id"}),
        on="true_id",
    )
    both = both[both["hukou_room_id"].fillna("") != ""]
    return pairwise_scores(
        both["household_id"].reset_index(drop=True), both["hukou_room_id"].reset_index(drop=True)
    )


def _truth_tags(truth: pd.DataFrame) -> dict[str, pd.Series]:
    """Each tag the truth can score, as a flag per true person.

    Services (a family-doctor sign-up, chronic-disease management, pregnancy care,
    assistance) are delivered where a person lives, and the sample's departments serve
    the people living here: someone who lives elsewhere has none of them here.
    """
    chronic = truth["chronic_disease"].fillna("")
    served_here = truth["presence"] == "resident"
    return {
        "minor": truth["age"] < 18,
        "elderly": truth["age"] >= 60,
        "oldest_old": truth["age"] >= 80,
        "floating": truth["residency_status"] == "present_floating",
        "registered_absent": truth["residency_status"] == "absent_registered",
        "hypertension": chronic.str.contains("高血压") & served_here,
        "diabetes": chronic.str.contains("糖尿病") & served_here,
        "family_doctor": truth["family_doctor"].astype(bool) & served_here,
        "pregnant": truth["pregnant"].astype(bool) & served_here,
        "disabled": truth["disabled"].astype(bool) & served_here,
        "low_income": truth["low_income"].astype(bool) & served_here,
        "elderly_care_subsidy": truth["elderly_care"].astype(bool) & served_here,
    }


def tag_scores(
    built_tags: pd.DataFrame,
    defined: set[str],
    persons: pd.Series,
    truth: pd.DataFrame,
    true_person: pd.Series,
) -> dict[str, Any]:
    """Accuracy, precision and recall of each defined tag the truth knows, over the living.

    ``built_tags`` holds ``person_id, tag``; ``defined`` the tags of the rules in use;
    ``persons`` the built person ids. A built person is scored against the true person
    it stands for, if that one is alive.
    """
    flags = _truth_tags(truth)
    truth_ids = truth["person_id"].to_numpy()
    living = set(truth_ids[(truth["presence"] != "deceased").to_numpy()])
    ids = persons[persons.map(true_person).isin(living)]
    true_of = ids.map(true_person)
    scores: dict[str, Any] = {}
    for tag in sorted(defined & set(flags)):
        flag = pd.Series(flags[tag].to_numpy(), index=truth_ids)
        expected = true_of.map(flag).fillna(False).astype(bool).to_numpy()
        tagged = ids.isin(set(built_tags.loc[built_tags["tag"] == tag, "person_id"])).to_numpy()
        hits = int((expected & tagged).sum())
        scores[tag] = {
            "accuracy": float((expected == tagged).mean()) if len(ids) else 0.0,
            "precision": hits / max(int(tagged.sum()), 1),
            "recall": hits / max(int(expected.sum()), 1),
            "true": int(expected.sum()),
            "tagged": int(tagged.sum()),
        }
    return scores


def _text_or_none(values: pd.Series) -> pd.Series:
    """Values as text, missing for none or empty, so both sides compare alike."""
    return values.astype(object).map(lambda v: None if pd.isna(v) or v == "" else str(v))


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
        served = {str(r[0]) for r in con.execute("DESCRIBE persons").fetchall()}
        # Snapshots made before the rules were recorded have no rule columns.
        rules = ", ".join(c for c in ("residency_rule", "months_rule") if c in served)
        built = con.execute(
            "SELECT person_id, sex, strftime(birth_date, '%Y-%m-%d') AS birth_date, "
            "room_id AS residence_room, hukou_room_id AS hukou_room, "
            "employer_credit_code AS employer, household_id, residency_status, "
            f"division_code {', ' + rules if rules else ''} FROM persons"
        ).df()
        built_tags = con.execute("SELECT person_id, tag FROM person_tags").df()
        defined = {str(r[0]) for r in con.execute("SELECT tag FROM tags").fetchall()}
    finally:
        con.close()
    records = pd.read_parquet(truth_dir / "records.parquet")
    # Only what the project delivers is scored: a project without, say, the hotline's
    # tickets cannot be asked to resolve them.
    records = records[records["source"].isin([s.name for s in project.config.sources])]
    persons = pd.read_parquet(
        truth_dir / "persons.parquet",
        columns=[
            "person_id", "presence", "community_code", "sex", "birth_date",
            "residence_room_id", "hukou_room_id", "employer_credit_code", "residency_status",
            "street_code", "age", "chronic_disease", "family_doctor", "pregnant", "disabled",
            "low_income", "elderly_care",
        ],
    )  # fmt: skip
    people = records[records["person_id"] != ""].drop_duplicates(["source", "record_no"])
    pred = people.merge(
        outcomes.drop_duplicates(["source", "record_no"]),
        on=["source", "record_no"],
        how="left",
        suffixes=("_true", ""),
    )
    person = pairwise_scores(pred["person_id"], pred["person_id_true"])
    true_person = true_person_of(outcomes, records)
    return {
        "snapshot": snap.id,
        "link": _link_scores(records, outcomes, links),
        "person": {**person, "records": len(pred)},
        "community_residents": _community_scores(persons, units),
        "fused": fused_scores(built, persons, true_person, _told(project, records)),
        "household": household_scores(built, persons, true_person),
        "residency": residency_scores(built, persons, true_person),
        "tags": tag_scores(built_tags, defined, built["person_id"], persons, true_person),
    }


def _pair(a: float, b: float) -> str:
    return f"{a:.4f} / {b:.4f}"


def headline_scores(scores: dict[str, Any]) -> list[tuple[str, str]]:
    """The scores a reader looks at first, as (measure, value) rows for a short table.

    Parameters
    ----------
    scores
        What :func:`evaluate_project` returns.

    Returns
    -------
    list of tuple
        One row per measure, values formatted; the whole scores go to ``--json``.
    """
    link, person, units = scores["link"], scores["person"], scores["community_residents"]
    fused, household, residency = scores["fused"], scores["household"], scores["residency"]
    rows = [
        ("address links to rooms: precision / recall", _pair(link["precision"], link["recall"])),
        (
            "person resolution (pairwise): precision / recall",
            _pair(person["precision"], person["recall"]),
        ),
        (
            "register households (户号): precision / recall",
            _pair(household["precision"], household["recall"]),
        ),
        (
            "residents per committee: mean / max abs. error",
            f"{units['mean_abs_pct_error']:.2f} % / {units['max_abs_pct_error']:.1f} %",
        ),
        (
            "residents found / true residents",
            f"{units['resident_total']:,} / {units['truth_total']:,}",
        ),
        ("fused sex / birth date", _pair(fused["sex"], fused["birth_date"])),
        (
            "fused residence room (where told) / hukou room",
            _pair(fused["residence_room"], fused["hukou_room"]),
        ),
        *residency_rows(residency),
    ]
    tags = scores["tags"]
    if tags:
        worst = min(tags, key=lambda t: (tags[t]["accuracy"], t))
        rows.append(("tags: lowest accuracy (tag)", f"{tags[worst]['accuracy']:.4f} ({worst})"))
    return rows


def evaluate_path(path: Path) -> dict[str, Any]:
    """Load the project at ``path`` and score it."""
    from popbase.config import load_project

    return evaluate_project(load_project(path))
