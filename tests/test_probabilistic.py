"""Probabilistic resolution: records without a reliable ID join the persons they belong to."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from popbase.config import ResolutionConfig, load_project
from popbase.errors import ConfigError
from popbase.ops.snapshot import current_snapshot
from popbase.pipeline import run
from popbase.population.probabilistic import (
    EXACT_COLUMNS,
    decide,
    equal_share,
    exact_u,
    name_forms,
)
from test_pipeline import assert_every_row_accounted, edit_yaml


def _work(folder: Path, sql: str) -> pd.DataFrame:
    con = duckdb.connect(str(current_snapshot(load_project(folder).output_dir).work_db), True)
    try:
        return con.execute(sql).df()
    finally:
        con.close()


def _truth_person(folder: Path) -> pd.Series:
    """The true person of every person row, by ``source:record_no``."""
    truth = pd.read_parquet(folder / "truth" / "records.parquet")
    truth = truth[truth["person_id"] != ""].drop_duplicates(["source", "record_no"])
    return pd.Series(
        truth["person_id"].to_numpy(), index=truth["source"] + ":" + truth["record_no"]
    )


# ---- the decision over a record's candidates ----


def test_a_clear_best_person_is_linked_despite_a_weak_runner_up() -> None:
    pairs = pd.DataFrame(
        {"record_id": ["r"] * 2, "person_id": ["P1", "P2"], "pair_probability": [0.9999, 0.6]}
    )
    out = decide(pairs, ResolutionConfig())
    assert out["decision"].tolist() == ["linked"]
    assert out["runner_up_person_id"].tolist() == ["P2"]
    assert 0.999 < out["match_probability"].iloc[0] < 0.9999


def test_two_strong_candidates_send_the_record_to_review() -> None:
    pairs = pd.DataFrame(
        {"record_id": ["r"] * 2, "person_id": ["P1", "P2"], "pair_probability": [0.99, 0.98]}
    )
    out = decide(pairs, ResolutionConfig())
    assert out["decision"].tolist() == ["review"]
    assert out["person_id"].tolist() == ["P1"]


def test_a_weak_match_is_neither_linked_nor_reviewed() -> None:
    pairs = pd.DataFrame({"record_id": ["r"], "person_id": ["P1"], "pair_probability": [0.3]})
    assert decide(pairs, ResolutionConfig()).empty


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "c"]),
            st.sampled_from(["P1", "P2", "P3", "P4"]),
            st.floats(0.01, 1.0),
        ),
        min_size=1,
        max_size=20,
    ),
    st.floats(0.05, 0.95),
    st.floats(0.0, 0.04),
)
def test_decisions_follow_the_thresholds(
    rows: list[tuple[str, str, float]], match: float, gap: float
) -> None:
    config = ResolutionConfig(match_threshold=match, review_threshold=match - gap)
    pairs = pd.DataFrame(rows, columns=["record_id", "person_id", "pair_probability"])
    out = decide(pairs, config)
    assert out["record_id"].is_unique
    best = pairs.groupby("record_id")["pair_probability"].max()
    for row in out.itertuples():
        # Weighed against the other candidates, the best can only lose probability.
        assert 0.0 < row.match_probability <= best[row.record_id] + 1e-12
        assert row.pair_probability == best[row.record_id]
        assert (row.decision == "linked") == (row.match_probability >= match)
        assert row.match_probability >= config.review_threshold


def test_a_caller_named_by_surname_and_form_of_address_keeps_surname_and_sex() -> None:
    out = name_forms(pd.Series(["李女士", "王 先生", "欧阳娜娜", "  ", None, "李女士"]))
    assert out["raw"].tolist() == ["李女士", "王 先生", "欧阳娜娜", "  "]
    assert out["name"].tolist() == [None, None, "欧阳娜娜", None]
    assert out["surname"].tolist() == ["李", "王", "欧", None]
    assert out["sex"].tolist() == ["F", "M", None, None]
    assert out["name_sound"].tolist() == [None, None, "ou yang na na", None]


# ---- in a build ----


def test_linked_records_leave_quarantine_and_join_their_true_person(built_city: Path) -> None:
    report = current_snapshot(load_project(built_city).output_dir).report()["resolve"]
    links = _work(
        built_city,
        "SELECT p.record_id, p.person_id, p.decision, r.source || ':' || r.record_no AS key, "
        "m.person_id AS member_of, q.reason AS quarantined "
        "FROM probable_links p JOIN person_records r USING (record_id) "
        "LEFT JOIN person_members m USING (record_id) "
        "LEFT JOIN quarantine q USING (record_id)",
    )
    linked = links[links["decision"] == "linked"]
    assert report["records_linked_probabilistically"] == len(linked) > 0
    assert report["records_for_review"] == int((links["decision"] == "review").sum())
    assert (linked["member_of"] == linked["person_id"]).all()
    assert linked["quarantined"].isna().all()
    review = links[links["decision"] == "review"]
    assert review["member_of"].isna().all() and review["quarantined"].notna().all()

    # Each linked record's person is, by the truth, the person of its ID-bearing records.
    truth = _truth_person(built_city)
    members = _work(
        built_city,
        "SELECT m.person_id, r.source || ':' || r.record_no AS key "
        "FROM person_members m JOIN person_keys k USING (record_id) "
        "JOIN person_records r USING (record_id) WHERE k.id18 IS NOT NULL",
    )
    true_of_person = members.assign(t=members["key"].map(truth)).groupby("person_id")["t"].first()
    right = linked["person_id"].map(true_of_person) == linked["key"].map(truth)
    assert right.mean() >= 0.99, linked[~right]


def test_without_probabilistic_resolution_those_records_stay_in_quarantine(
    copy_city: Callable[..., Path],
) -> None:
    folder = copy_city(snapshots=False)
    edit_yaml(folder, "\nsources:\n", "\nresolution:\n  probabilistic: false\nsources:\n")
    report = run(load_project(folder)).report
    assert report["resolve"]["records_linked_probabilistically"] == 0
    assert report["resolve"]["records_without_id"] > 0
    accounting = assert_every_row_accounted(folder)
    assert accounting["hotline"]["quarantined"] == accounting["hotline"]["rows_in"]


def test_thresholds_in_the_wrong_order_are_a_config_error(
    copy_city: Callable[..., Path],
) -> None:
    folder = copy_city(snapshots=False)
    edit_yaml(
        folder,
        "\nsources:\n",
        "\nresolution:\n  match_threshold: 0.6\n  review_threshold: 0.8\nsources:\n",
    )
    with pytest.raises(ConfigError, match="review_threshold"):
        load_project(folder)


def test_person_ids_stay_the_same_across_deliveries(copy_city: Callable[..., Path]) -> None:
    folder = copy_city()
    before = _work(
        folder,
        "SELECT r.source || ':' || r.record_no AS key, m.person_id "
        "FROM person_members m JOIN person_records r USING (record_id)",
    ).set_index("key")["person_id"]
    # A new delivery: the health source loses a third of its rows and the hotline its
    # first tickets; everything else is delivered again as it was.
    for name, keep in (("health_records.csv", 3), ("hotline_tickets.csv", 5)):
        path = folder / "sources" / name
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        path.write_text(
            lines[0] + "".join(x for i, x in enumerate(lines[1:]) if i % keep), encoding="utf-8"
        )
    run(load_project(folder))
    after = _work(
        folder,
        "SELECT r.source || ':' || r.record_no AS key, m.person_id "
        "FROM person_members m JOIN person_records r USING (record_id)",
    ).set_index("key")["person_id"]
    both = before.index.intersection(after.index)
    assert len(both) > 0.8 * len(after)
    changed = (before[both] != after[both]).sum()
    assert changed == 0


def test_the_share_of_equal_pairs_is_counted_exactly() -> None:
    left = pa.table({"phone": ["1", "1", "2", None]})
    right = pa.table({"phone": ["1", "2", "2", "3", None]})
    con = duckdb.connect()
    try:
        # Pairs with both present: 3 x 4 = 12; equal: 2 x 1 ("1") + 1 x 2 ("2") = 4.
        assert equal_share(con, left, right, "phone") == pytest.approx(4 / 12)
    finally:
        con.close()


def test_exact_levels_take_the_counted_u_and_unseen_levels_a_floor() -> None:
    model = {
        "comparisons": [
            {
                "comparison_levels": [
                    {"sql_condition": '"room_id_l" IS NULL', "is_null_level": True},
                    {"sql_condition": '"room_id_l" = "room_id_r"', "u_probability": None},
                    {"sql_condition": '"building_id_l" = "building_id_r"', "u_probability": None},
                    {"sql_condition": "ELSE", "u_probability": 0.99},
                ]
            },
            {
                "comparison_levels": [
                    {"sql_condition": "damerau_levenshtein(a_l, a_r) <= 1", "u_probability": None}
                ]
            },
        ]
    }
    share = dict.fromkeys(EXACT_COLUMNS, 0.0) | {"room_id": 1e-6, "building_id": 5e-6}
    exact_u(model, share, 1e6)
    room, other = model["comparisons"]
    u = [level.get("u_probability") for level in room["comparison_levels"]]
    assert u[1:] == [1e-6, pytest.approx(4e-6), 0.99]
    assert other["comparison_levels"][0]["u_probability"] == 1e-6
