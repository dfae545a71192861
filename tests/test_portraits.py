"""The "1+9+X" portraits: rules files, the SQL each rule becomes, and a build with X tags."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from popbase.backends import DuckDBBackend
from popbase.config import load_project
from popbase.errors import ConfigError, StageError
from popbase.ops.snapshot import current_snapshot
from popbase.pipeline import run
from popbase.portraits.rules import DIMENSION_LABELS, TagRule, load_rules
from popbase.portraits.tagging import TAG_COLUMNS, age_band_sql, tag_sql

AS_OF = dt.date(2026, 10, 31)
NINE = (
    "education",
    "employment",
    "marriage_childbearing",
    "health",
    "elderly_care",
    "social_assistance",
    "housing",
    "participation",
    "identity",
)


def test_the_default_rules_cover_the_1_and_the_9() -> None:
    rules = load_rules().tags
    dimensions = {r.dimension for r in rules}
    assert {"basic", *NINE} <= dimensions
    assert set(DIMENSION_LABELS) == {"basic", *NINE, "x"}
    assert all(r.label and r.label_en for r in rules)


def write_rules(folder: Path, text: str) -> Path:
    path = folder / "tags.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_every_problem_of_a_rules_file_is_reported_at_once(tmp_path: Path) -> None:
    path = write_rules(
        tmp_path,
        """
tags:
  - {id: both, label: 甲, dimension: health, fact: "age > 1", event: 慢病管理}
  - {id: 老人, label: 乙, dimension: elderly_care, fact: "age >= 60"}
  - {id: sneaky, label: 丙, dimension: x, fact: "true; DROP TABLE persons"}
  - {id: dup, label: 丁, dimension: nowhere, event: 残疾人证}
  - {id: period, label: 戊, dimension: x, event: 核酸, valid_from: 2026-03-01,
     valid_to: 2026-01-01}
""",
    )
    with pytest.raises(ConfigError) as caught:
        load_rules(path)
    problems = "\n".join(caught.value.problems)
    assert len(caught.value.problems) == 5, problems
    assert "tag 1 ('both')" in problems and "exactly one of `fact`" in problems
    assert "tag 2 ('老人')" in problems and "ASCII letters" in problems
    assert "tag 3 ('sneaky')" in problems and "not a plain condition" in problems
    assert "tag 4 ('dup'), dimension" in problems
    assert "tag 5 ('period')" in problems and "valid_from is after valid_to" in problems


def test_a_tag_defined_twice_is_refused(tmp_path: Path) -> None:
    path = write_rules(
        tmp_path,
        "tags:\n  - {id: a, label: 甲, dimension: x, fact: 'true'}\n"
        "  - {id: a, label: 乙, dimension: x, fact: 'false'}\n",
    )
    with pytest.raises(ConfigError, match="defined twice"):
        load_rules(path)


@pytest.fixture
def db() -> DuckDBBackend:
    backend = DuckDBBackend()
    con = backend.con
    con.execute(
        "CREATE TABLE person_facts AS SELECT * FROM (VALUES "
        "('old', false, 75), ('young', false, 30), ('dead', true, 80)) t(person_id, deceased, age)"
    )
    con.execute(
        "CREATE TABLE person_events AS SELECT * FROM (VALUES "
        "('old', 'health', 'h1', '慢病管理', '高血压;糖尿病', DATE '2024-01-01', NULL),"
        "('young', 'health', 'h2', '孕产妇建册', NULL, DATE '2026-06-01', NULL),"
        "('old', 'health', 'h3', '孕产妇建册', NULL, DATE '2023-06-01', NULL),"
        "('young', 'cdc', 'c1', '核酸阳性', NULL, DATE '2026-02-10', NULL),"
        "('old', 'cdc', 'c2', '核酸阳性', NULL, DATE '2025-12-20', NULL),"
        "('dead', 'health', 'h4', '慢病管理', '高血压', DATE '2025-01-01', NULL),"
        # Tags a record's column gives directly (`tags:` of its source).
        "('young', 'ledger', 'l1', NULL, NULL, DATE '2025-03-01', 'direct'),"
        "('old', 'ledger', 'l2', NULL, NULL, DATE '2026-10-01', 'direct'),"
        "('dead', 'ledger', 'l3', NULL, NULL, DATE '2026-10-01', 'direct')"
        ") t(person_id, source, record_id, event_type, event_detail, event_date, tag)"
    )
    return backend


def tagged(db: DuckDBBackend, **rule: object) -> list[tuple[object, ...]]:
    sql = tag_sql(TagRule.model_validate({"id": "t", "label": "标签", **rule}), AS_OF)
    rows = db.con.execute(f"SELECT * FROM ({sql}) ORDER BY 1").fetchall()
    assert all(len(r) == len(TAG_COLUMNS.split(",")) for r in rows)
    return rows


def test_each_kind_of_rule(db: DuckDBBackend) -> None:
    # A fact: the deceased carry no tags.
    assert [r[0] for r in tagged(db, dimension="elderly_care", fact="age >= 60")] == ["old"]
    # An event narrowed by its detail, with the record that gave it.
    assert tagged(db, dimension="health", event="慢病管理", detail_contains="糖尿病") == [
        ("old", "t", "health", "h1", dt.date(2024, 1, 1), None)
    ]
    # within_days: still valid on the as-of date, and valid until then.
    assert tagged(db, dimension="marriage_childbearing", event="孕产妇建册", within_days=300) == [
        ("young", "t", "health", "h2", dt.date(2026, 6, 1), dt.date(2027, 3, 28))
    ]
    # An X tag for an incident: only events in its period, valid for the period.
    period = {"valid_from": "2026-01-01", "valid_to": "2026-03-31"}
    assert tagged(db, dimension="x", event="核酸阳性", **period) == [
        ("young", "t", "cdc", "c1", dt.date(2026, 1, 1), dt.date(2026, 3, 31))
    ]
    # From one source only.
    assert tagged(db, dimension="x", event=["核酸阳性", "慢病管理"], sources=["health"]) == [
        ("old", "t", "health", "h1", dt.date(2024, 1, 1), None)
    ]


def test_a_tag_a_column_gives_directly_keeps_its_record_and_the_rules_limits(
    db: DuckDBBackend,
) -> None:
    # Beside the rule's events (here from a source without any), with its record; the
    # deceased carry it no more than other tags.
    assert tagged(db, id="direct", dimension="x", event="核酸阳性", sources=["health"]) == [
        ("old", "direct", "ledger", "l2", dt.date(2026, 10, 1), None),
        ("young", "direct", "ledger", "l1", dt.date(2025, 3, 1), None),
    ]
    # The rule's time limit holds for it like for an event: the 2025 one has lapsed.
    assert tagged(db, id="direct", dimension="x", event="核酸阳性", within_days=300) == [
        ("old", "direct", "ledger", "l2", dt.date(2026, 10, 1), dt.date(2027, 7, 28)),
        ("young", "direct", "cdc", "c1", dt.date(2026, 2, 10), dt.date(2026, 12, 7)),
    ]
    # A fact tag: the facts first; a person the fact misses carries it from the record.
    assert tagged(db, id="direct", dimension="x", fact="age >= 60") == [
        ("old", "direct", "facts", None, None, None),
        ("young", "direct", "ledger", "l1", dt.date(2025, 3, 1), None),
    ]


@pytest.mark.parametrize(
    ("age", "band"), [(0, "0-4"), (4, "0-4"), (5, "5-9"), (84, "80-84"), (85, "85+"), (101, "85+")]
)
def test_age_bands(age: int, band: str) -> None:
    assert duckdb.sql(f"SELECT {age_band_sql(str(age))}").fetchone() == (band,)


def with_rules(folder: Path, text: str) -> Path:
    write_rules(folder, text)
    config = folder / "popbase.yaml"
    config.write_text(
        config.read_text(encoding="utf-8") + "\nportraits:\n  rules: tags.yaml\n", encoding="utf-8"
    )
    return folder


def test_a_project_adds_an_x_tag_without_code(copy_city: Callable[..., Path]) -> None:
    defaults = (load_rules().model_dump(mode="json", exclude_none=True))["tags"]
    lines = [f"  - {json.dumps(t, ensure_ascii=False)}" for t in defaults]
    lines.append(
        '  - {"id": "clan_elder", "label": "族长", "dimension": "x", '
        '"fact": "age >= 85 AND household_relation = \'户主\'"}'
    )
    folder = with_rules(copy_city(snapshots=False), "tags:\n" + "\n".join(lines) + "\n")
    project = load_project(folder)
    run(project)
    base = current_snapshot(project.output_dir).base_db
    as_of = project.config.project.as_of
    with duckdb.connect(str(base), read_only=True) as con:
        elders = con.execute("SELECT count(*) FROM person_tags WHERE tag = 'clan_elder'").fetchone()
        expected = con.execute(
            "SELECT count(*) FROM persons WHERE relation = '户主' AND status = 'alive' "
            "AND date_sub('year', birth_date, ?) >= 85",
            [as_of],
        ).fetchone()
        labels = con.execute(
            "SELECT dimension, label FROM tags WHERE tag = 'clan_elder'"
        ).fetchall()
    assert elders == expected and elders is not None and elders[0] > 0
    assert labels == [("x", "族长")]


def test_a_fact_that_does_not_run_names_its_tag(copy_city: Callable[..., Path]) -> None:
    folder = with_rules(
        copy_city(snapshots=False),
        "tags:\n  - {id: tall, label: 高个, dimension: x, fact: 'height > 180'}\n",
    )
    with pytest.raises((ConfigError, StageError)) as caught:
        run(load_project(folder))
    message = str(caught.value)
    assert "tag 'tall'" in message and "height > 180" in message and "residency_status" in message
