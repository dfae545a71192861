"""The residency stage on a tiny sample city: each person's rule, ``unknown`` counted apart.

Hand-made tables test each rule (``test_residency.py``); here the whole build shows that
every person gets exactly one placement rule, that the statuses agree with the rules, that
a registered person whose only evidence is a social-security row ends ``unknown`` and is
counted in 户籍人口 and 待核实 but not in 实有人口, and that ``popbase eval``'s per-rule
report adds up to every scored person.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from stdnum.cn import ric

from popbase.config import load_project
from popbase.io.tables import read_table
from popbase.ops.evaluate import evaluate_project
from popbase.ops.snapshot import current_snapshot
from popbase.pipeline import run
from popbase.population.residency_rules import MONTHS_RULE_NAMES, RULE_NAMES
from test_pipeline import append_line

# A person the tiny city does not hold: registered here, insured in the city, listed nowhere.
# (stdnum's check digit is of the first 17 characters of an 18-character number.)
NEWCOMER_ID = "31011219900101123" + ric.calc_check_digit("31011219900101123" + "0")


def base(project: Path, sql: str) -> pd.DataFrame:
    """Query the current snapshot of ``project`` (its output folder is the project's)."""
    proj = load_project(project)
    con = duckdb.connect(str(current_snapshot(proj.output_dir).base_db), read_only=True)
    try:
        return con.execute(sql).df()
    finally:
        con.close()


@pytest.fixture(scope="module")
def weak_city(copy_city: Callable[..., Path]) -> Path:
    """The tiny city with one more registered person, known only to social security."""
    folder = copy_city(snapshots=False)
    sources = folder / "sources"
    police = read_table(sources / "police_hukou.csv").frame
    social = read_table(sources / "social_security.csv").frame
    hukou_address = police["户籍地址"].iloc[0]
    employer = social.iloc[0]
    append_line(
        sources / "police_hukou.csv",
        f"GA_NEW1,{NEWCOMER_ID},赵新来,男,汉族,19900101,H_NEW1,户主,{hukou_address},20150301,正常",
    )
    append_line(
        sources / "social_security.csv",
        f"RS_NEW1,{NEWCOMER_ID},赵新来,{employer['单位统一社会信用代码']},"
        f"{employer['单位名称']},正常缴费,2024-07-23",
    )
    run(load_project(folder))
    return folder


def test_every_person_has_one_rule_that_agrees_with_the_status(built_city: Path) -> None:
    persons = base(
        built_city, "SELECT person_id, residency_status, residency_rule, months_rule FROM persons"
    )
    assert persons["residency_rule"].notna().all()
    assert set(persons["residency_rule"]) <= set(RULE_NAMES)
    assert set(persons["months_rule"].dropna()) <= set(MONTHS_RULE_NAMES)
    status_of = persons.groupby("residency_rule")["residency_status"].agg(set).to_dict()
    assert status_of.get("deceased", {"none"}) == {"none"}
    assert status_of.get("not_here", {"none"}) == {"none"}
    assert status_of.get("said_away", {"absent_registered"}) == {"absent_registered"}
    assert status_of.get("presence_unlocated", {"unknown"}) == {"unknown"}
    # 常住/流动 needs a months rule; 人在户在 and the absent have none.
    lives_elsewhere_registered = persons["residency_status"].isin(
        ["present_resident", "present_floating"]
    )
    assert persons.loc[lives_elsewhere_registered, "months_rule"].notna().all()
    assert persons.loc[~lives_elsewhere_registered, "months_rule"].isna().all()


def test_an_insured_person_listed_nowhere_is_unknown_and_counted_apart(
    weak_city: Path, built_city: Path
) -> None:
    newcomer = base(
        weak_city,
        "SELECT p.residency_status, p.residency_rule, p.room_id, p.hukou_room_id, b.community_code "
        "FROM persons p JOIN record_outcomes o USING (person_id) "
        "JOIN rooms r ON r.room_id = p.hukou_room_id JOIN buildings b USING (building_id) "
        "WHERE o.record_no = 'GA_NEW1'",
    )
    assert newcomer[["residency_status", "residency_rule"]].to_dict("records") == [
        {"residency_status": "unknown", "residency_rule": "presence_unlocated"}
    ]
    assert newcomer["room_id"].isna().all()  # no residence is made up
    community = str(newcomer["community_code"].iloc[0])
    query = f"SELECT resident, registered, absent, unknown FROM units WHERE code = '{community}'"
    after, before = base(weak_city, query).iloc[0], base(built_city, query).iloc[0]
    assert after["unknown"] == before["unknown"] + 1
    assert after["registered"] == before["registered"] + 1
    assert (after["resident"], after["absent"]) == (before["resident"], before["absent"])
    # The district's 待核实 is the persons given that status, counted once.
    persons = base(
        weak_city, "SELECT count(*) AS n FROM persons WHERE residency_status = 'unknown'"
    )
    district = base(weak_city, "SELECT sum(unknown) AS n FROM units WHERE level = 'district'")
    assert int(district["n"].iloc[0]) == int(persons["n"].iloc[0]) >= 1


def test_the_per_rule_report_adds_up_to_every_scored_person(built_city: Path) -> None:
    residency = evaluate_project(load_project(built_city))["residency"]
    by_rule = residency["by_rule"]
    assert set(by_rule) <= set(RULE_NAMES)
    assert sum(r["persons"] for r in by_rule.values()) == residency["persons"]
    assert residency["decided"] + residency["unknown"] == residency["persons"]
    assert by_rule.get("presence_unlocated", {"persons": 0})["persons"] == residency["unknown"]
    # Unknown is no right answer: the plain accuracy counts it wrong.
    right = sum(
        round(r["status_precision"] * r["persons"])
        for r in by_rule.values()
        if r["status_precision"] is not None
    )
    assert right == round(residency["accuracy"] * residency["persons"])
    assert residency["accuracy"] <= residency["accuracy_decided"]
    months = residency["by_months_rule"]
    persons = base(
        built_city,
        "SELECT count(*) AS n FROM persons WHERE months_rule IS NOT NULL",
    )
    assert sum(m["persons"] for m in months.values()) <= int(persons["n"].iloc[0])
    for rule in by_rule.values():
        assert sum(rule["true_statuses"].values()) == rule["persons"]
