"""Events and tags from a source's own columns: a file without an event-type column.

The cells are read on a tiny backend first (flags, dates, values split, none-words,
unreadable values counted); then the sample city's health and civil-affairs files are
rewritten into the shape departments deliver them (a 慢病类型 column, a 孕产妇 flag, a
人员类别 column, a constant event type) and must give the tags of the canonical shape.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest
import yaml

from popbase.backends import DuckDBBackend
from popbase.config import EventColumn, SourceConfig, load_project
from popbase.errors import MissingColumnError
from popbase.io.sources import read_source
from popbase.ops.snapshot import current_snapshot
from popbase.pipeline import run
from popbase.portraits.column_events import (
    RECORD_EVENTS,
    UNREADABLE_EVENT_VALUES,
    add_record_events,
    events_given,
    source_cells,
    unreadable_summary,
)
from popbase.portraits.tagging import person_events_sql
from popbase.sample.shape_events import events_in_columns
from popbase.values.unreadable import unreadable_in_report, unreadable_warning

# ---- reading the cells, on a tiny backend ----

HEALTH = {
    "name": "health",
    "department": "卫健",
    "kind": "person",
    "path": "health.csv",
    "columns": {"id_number": "身份证号", "event_date": "建档日期"},
    "events": [
        {"column": "慢病类型", "event_type": "慢病管理", "values": ["高血压", "糖尿病"]},
        {"column": "孕产妇", "event_type": "孕产妇建册", "date": "建册日期"},
        {"column": "人员类别", "values": {"低保对象": "最低生活保障", "群众": None}},
    ],
    "tags": [{"column": "是否党员", "tag": "party_member"}],
}
# Per record: its own event date and detail (mapped columns), and its cells.
ROWS: dict[str, tuple[str | None, str | None, dict[str, str]]] = {
    "r1": ("2026-01-05", None, {"慢病类型": "高血压、糖尿病", "孕产妇": "否", "是否党员": "√"}),
    "r2": (None, None, {"慢病类型": "糖尿病", "孕产妇": "是", "建册日期": "2026年3月2日"}),
    "r3": ("2025-12-01", None, {"孕产妇": "2026-04-01", "人员类别": "低保对象，群众"}),
    "r4": (None, None, {"慢病类型": "无", "孕产妇": "不清楚", "人员类别": "低保户；低保对象"}),
    "r5": ("2026-02-02", "复诊", {"慢病类型": "高血压/冠心病/冠心病", "是否党员": "TRUE"}),
    "r6": ("2026-06-30", None, {"孕产妇": "Y", "建册日期": "上个月", "是否党员": "0"}),
}


@pytest.fixture
def derived() -> tuple[DuckDBBackend, dict[str, int]]:
    """The rows' cells read, and the events of person ``p`` (all six records)."""
    source = SourceConfig.model_validate(HEALTH)
    db = DuckDBBackend()
    cells = pd.DataFrame(
        [{"record_id": r, **c} for r, (_, _, c) in ROWS.items()],
        columns=["record_id", *source.reading_columns],
    )
    db.put("record_events", RECORD_EVENTS.empty_table())
    db.put("unreadable_event_values", UNREADABLE_EVENT_VALUES.empty_table())
    add_record_events(db, source, source_cells(cells))
    given = events_given(db, [source])
    db.put(
        "person_records_valid",
        pd.DataFrame(
            {
                "record_id": list(ROWS),
                "source": "health",
                "event_type": pd.Series([None] * len(ROWS), dtype="string"),
                "event_detail": [detail for _, detail, _ in ROWS.values()],
                "event_date": [date for date, _, _ in ROWS.values()],
                "as_of": pd.Timestamp("2026-10-31"),
            }
        ),
    )
    db.put("person_members", pd.DataFrame({"record_id": list(ROWS), "person_id": "p"}))
    db.execute(person_events_sql())
    return db, given


def test_each_reading_gives_its_events_with_detail_and_date(
    derived: tuple[DuckDBBackend, dict[str, int]],
) -> None:
    db, given = derived
    rows = db.con.execute(
        "SELECT record_id, event_type, tag, event_detail, event_date FROM person_events "
        "ORDER BY ALL"
    ).fetchall()
    day = dt.date
    assert rows == [
        # A cell of two diseases gives two events, each disease its detail.
        ("r1", "慢病管理", None, "糖尿病", day(2026, 1, 5)),
        ("r1", "慢病管理", None, "高血压", day(2026, 1, 5)),
        # A tick gives the tag directly, dated like the record's events.
        ("r1", None, "party_member", None, day(2026, 1, 5)),
        ("r2", "孕产妇建册", None, None, day(2026, 3, 2)),  # dated by the entry's date column
        ("r2", "慢病管理", None, "糖尿病", day(2026, 10, 31)),  # undated: the as-of date
        ("r3", "孕产妇建册", None, None, day(2026, 4, 1)),  # a date in a flag is its date
        ("r3", "最低生活保障", None, "低保对象", day(2025, 12, 1)),  # 群众 gives nothing
        ("r4", "最低生活保障", None, "低保对象", day(2026, 10, 31)),
        ("r5", "慢病管理", None, "高血压；复诊", day(2026, 2, 2)),  # the record's detail follows
        ("r5", None, "party_member", "复诊", day(2026, 2, 2)),
        ("r6", "孕产妇建册", None, None, day(2026, 6, 30)),  # no date in 建册日期: the record's
    ]
    assert given == {"health": 11}


def test_values_no_entry_reads_are_counted_with_examples(
    derived: tuple[DuckDBBackend, dict[str, int]],
) -> None:
    db, _ = derived
    # 否, 无, 0 say "none"; 不清楚, 低保户 and 冠心病 (twice) are read by no entry, and
    # 上个月 is no date.
    assert unreadable_summary(db) == [
        {
            "source": "health",
            "field": "人员类别",
            "present": 4,
            "unreadable": 1,
            "examples": [{"value": "低保户", "rows": 1, "first": "r4"}],
        },
        {
            "source": "health",
            "field": "孕产妇",
            "present": 5,
            "unreadable": 1,
            "examples": [{"value": "不清楚", "rows": 1, "first": "r4"}],
        },
        {
            "source": "health",
            "field": "建册日期",
            "present": 2,
            "unreadable": 1,
            "examples": [{"value": "上个月", "rows": 1, "first": "r6"}],
        },
        {
            "source": "health",
            "field": "慢病类型",
            "present": 7,
            "unreadable": 2,
            "examples": [{"value": "冠心病", "rows": 2, "first": "r5"}],
        },
    ]


# ---- the sample city in the shape departments deliver ----


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")


def _write(rows: pd.DataFrame, path: Path) -> None:
    rows.to_csv(path, index=False, encoding="utf-8-sig", quoting=csv.QUOTE_ALL)


def _source(config: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(s for s in config["sources"] if s["name"] == name)
    return found


def _edit_config(folder: Path, edit: Callable[[dict[str, Any]], None]) -> None:
    file = folder / "popbase.yaml"
    config = yaml.safe_load(file.read_text(encoding="utf-8"))
    edit(config)
    file.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), "utf-8")


def without_event_types(folder: Path) -> None:
    """Rewrite the health and civil-affairs files without their 业务类型 column.

    As the shape matrix delivers them (:func:`~popbase.sample.shape_events.events_in_columns`):
    diseases in a 慢病类型 column, pregnancy in a 孕产妇 flag (是, or the registration date
    itself), births in a 服务项目 column, family doctors as a tick that gives the tag
    directly, civil affairs' 人员类别. Two 慢病类型 cells say 待查, which no entry reads.
    """
    file = folder / "popbase.yaml"
    config = yaml.safe_load(file.read_text(encoding="utf-8"))
    events_in_columns(folder, config)
    file.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), "utf-8")
    path = folder / "sources" / "health_records.csv"
    health = _read(path)
    doctor = health["家庭医生"] == "√"
    health.loc[health.index[doctor][:2], "慢病类型"] = "待查"
    _write(health, path)


def with_constant_event_type(folder: Path) -> None:
    """Move the chronic-disease rows to a file of their own, without an event-type column.

    Its source says ``event_type: 慢病管理``; its 慢病类型 column (高血压、糖尿病) is the
    events' detail.
    """
    path = folder / "sources" / "health_records.csv"
    health = _read(path)
    chronic = health["业务类型"] == "慢病管理"
    rows = health[chronic].drop(columns=["业务类型", "母亲身份证号"])
    rows = rows.rename(columns={"诊断或备注": "慢病类型", "登记日期": "建档日期"})
    rows["慢病类型"] = rows["慢病类型"].str.replace(";", "、")
    _write(rows, folder / "sources" / "chronic_disease.csv")
    _write(health[~chronic], path)

    def edit(config: dict[str, Any]) -> None:
        health = _source(config, "health")
        columns = {k: v for k, v in health["columns"].items() if k != "event_type"}
        columns |= {"event_date": "建档日期", "event_detail": "慢病类型"}
        chronic = {
            **health,
            "name": "chronic_disease",
            "path": "sources/chronic_disease.csv",
            "event_type": "慢病管理",
            "columns": columns,
        }
        config["sources"].insert(config["sources"].index(health) + 1, chronic)

    _edit_config(folder, edit)


def built_table(folder: Path, sql: str) -> pd.DataFrame:
    db = current_snapshot(load_project(folder).output_dir).base_db
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).df()


TAGS = "SELECT person_id, tag, source, record_id, valid_from, valid_to FROM person_tags"
HEALTH_TAGS = ("hypertension", "diabetes", "pregnant", "family_doctor", "newborn_family")


def test_a_file_without_event_types_gives_the_tags_of_the_canonical_one(
    built_city: Path, copy_city: Callable[..., Path]
) -> None:
    folder = copy_city(snapshots=False)
    without_event_types(folder)
    report = run(load_project(folder)).report
    canonical = built_table(built_city, f"{TAGS} ORDER BY ALL")
    rewritten = built_table(folder, f"{TAGS} ORDER BY ALL")
    # The same rows were read, so every tag comes from the same record, with the same
    # dates: pregnancies dated in their flag cell, family doctors given directly.
    assert set(canonical["tag"]) >= {*HEALTH_TAGS, "low_income", "disabled", "newly_married"}
    pd.testing.assert_frame_equal(rewritten, canonical)
    # A 已故 in 人员类别 is a funeral: its person is deceased, as in the canonical shape.
    status = "SELECT person_id, status FROM persons ORDER BY ALL"
    pd.testing.assert_frame_equal(built_table(folder, status), built_table(built_city, status))
    assert (built_table(folder, status)["status"] == "deceased").any()
    # What no entry reads is counted, with examples, not dropped.
    [unread] = report["portrait"]["unreadable"]
    assert unread["source"] == "health" and unread["field"] == "慢病类型"
    assert unread["unreadable"] == 2 and [e["value"] for e in unread["examples"]] == ["待查"]
    # ... and shown with the other unreadable values: the build's warning, the served table.
    [summary] = [s for s in unreadable_in_report(report) if s["stage"] == "portrait"]
    assert "Fix: add each value under `values:`" in unreadable_warning(summary)
    served = built_table(folder, "SELECT * FROM unreadable_values WHERE stage = 'portrait'")
    assert served[["source", "field", "unreadable"]].to_numpy().tolist() == [
        ["health", "慢病类型", 2]
    ]
    assert set(report["ingest"]["column_events"]) == {"health", "civil_affairs"}
    accounting = report["accounting"]
    assert all(a["unaccounted"] == 0 for a in accounting.values())
    assert accounting["health"]["rows_in"] == len(_read(folder / "sources/health_records.csv"))


def test_a_constant_event_type_tags_each_person_as_the_event_type_column(
    built_city: Path, copy_city: Callable[..., Path]
) -> None:
    folder = copy_city(snapshots=False)
    with_constant_event_type(folder)
    report = run(load_project(folder)).report
    tags = ", ".join(f"'{t}'" for t in HEALTH_TAGS)
    per_person = (
        f"SELECT person_id, tag, valid_from, valid_to FROM person_tags WHERE tag IN ({tags}) "
        "ORDER BY ALL"
    )
    canonical = built_table(built_city, per_person)
    assert {"hypertension", "diabetes", "pregnant"} <= set(canonical["tag"])
    pd.testing.assert_frame_equal(built_table(folder, per_person), canonical)
    sources = built_table(folder, "SELECT DISTINCT tag, source FROM person_tags")
    assert set(sources.loc[sources["tag"] == "hypertension", "source"]) == {"chronic_disease"}
    accounting = report["accounting"]
    assert all(a["unaccounted"] == 0 for a in accounting.values())
    before = current_snapshot(load_project(built_city).output_dir).report()["accounting"]
    assert (
        accounting["chronic_disease"]["rows_in"] + accounting["health"]["rows_in"]
        == (before["health"]["rows_in"])
    )


def test_a_column_to_read_missing_from_the_file_names_it_and_the_setting(
    built_city: Path,
) -> None:
    project = load_project(built_city)
    health = project.source("health")
    wrong = health.model_copy(
        update={"events": [EventColumn(column="孕产妇标识", event_type="孕产妇建册")]}
    )
    with pytest.raises(MissingColumnError) as caught:
        read_source(project, wrong)
    message = str(caught.value)
    assert "column '孕产妇标识' was declared in popbase.yaml but the file has only: 记录编号" in (
        message
    )
    assert message.endswith("Fix: correct the column name under the source's `events:` or `tags:`.")
