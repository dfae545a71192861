"""Values that cannot be read: counted per source and field, shown, never silently empty.

A tiny city is built once with values dirtied in its sources and basemap — dates that are
no dates, unknown words, coordinates and months that are not numbers — and once more with
a project vocabulary that knows some of the words. Rows stay accepted; each unreadable
value is counted, with examples, in the build's table, the report, the quality report and
the build's warnings.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import geopandas as gpd
import openpyxl
import pandas as pd
import pytest

from popbase.config import load_project
from popbase.io.tables import read_table
from popbase.ops.quality import write_quality
from popbase.ops.snapshot import current_snapshot
from popbase.population.resident_id import validate_id_numbers
from test_cli import invoke
from test_pipeline import base_table, edit_yaml


def rewrite_csv(path: Path, column: str, values: dict[int, str]) -> list[list[str]]:
    """Set ``column`` of the data rows numbered in ``values`` (0 = first data row)."""
    data = path.read_bytes()
    bom = data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    at = rows[0].index(column)
    for i, value in values.items():
        rows[i + 1][at] = value
    out = io.StringIO()
    csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n").writerows(rows)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + out.getvalue().encode("utf-8"))
    return rows


def id_rows(path: Path, column: str, n: int) -> list[int]:
    """The first ``n`` data rows whose ID is valid (their outcome does not hang on sex or date)."""
    rows = list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8-sig"))))
    at = rows[0].index(column)
    valid = validate_id_numbers(pd.Series([r[at] for r in rows[1:]]))["valid"]
    return [i for i, ok in enumerate(valid) if ok][:n]


LEDGER_START = "居住起始日期"


def dirty_ledger(folder: Path) -> dict[str, list[str]]:
    """In one ledger workbook: real date cells, and 2026年9月 for 人在户不在 rows without months."""
    book_path = sorted((folder / "sources" / "community_ledgers").glob("*.xlsx"))[0]
    book = openpyxl.load_workbook(book_path)
    sheet = book.worksheets[0]
    names = [c.value for c in sheet[3]]
    start, months, status = (
        names.index(LEDGER_START) + 1,
        names.index("居住时长（月）") + 1,
        names.index("人户状态") + 1,
    )
    record = f"community_ledger:sources/community_ledgers/{book_path.name}:"
    cells, month_only = [], []
    for row in range(4, sheet.max_row + 1):
        if sheet.cell(row, status).value == "人在户不在（常住）" and len(month_only) < 6:
            sheet.cell(row, start).value = "2026年9月"
            sheet.cell(row, months).value = None
            month_only.append(f"{record}{row}")
        elif sheet.cell(row, start).value and len(cells) < 4:
            # The sample writes dates in several forms (2011-03-09, 2011-3-9, 2011/3/9).
            ymd = re.fullmatch(r"(\d{4})\D(\d{1,2})\D(\d{1,2})", str(sheet.cell(row, start).value))
            if ymd is None:
                continue
            day = dt.date(*(int(part) for part in ymd.groups()))
            sheet.cell(row, start).value = day
            sheet.cell(row, start).number_format = "yyyy/m/d"
            cells.append(f"{record}{row}")
    book.save(book_path)
    return {"date_cells": cells, "month_only": month_only}


def dirty_buildings(folder: Path) -> list[str]:
    path = folder / "basemap" / "buildings.gpkg"
    buildings = gpd.read_file(path)
    assert set(buildings["use"]) >= {"residential"}
    ids = buildings["building_id"].astype(str).tolist()[:4]
    buildings.loc[buildings.index[:4], "use"] = ["祠堂", "祠堂", "住宅", "商住两用"]
    # Floors as a text field, as surveys write them: 12层 reads as 12, 高层 not at all.
    floors = buildings["floors"].astype(int).astype(str)
    floors.iloc[:2] = ["高层", "12层"]
    buildings["floors"] = floors
    buildings.to_file(path, driver="GPKG")
    return ids


@pytest.fixture(scope="module")
def dirty(copy_city: Callable[..., Path]) -> dict[str, Any]:
    """The tiny city with unreadable values, built with ``popbase build``."""
    folder = copy_city(snapshots=False)
    sources = folder / "sources"
    health = sources / "health_records.csv"
    rows = id_rows(health, "身份证号", 12)
    birth = ["出生不详吧"] * 3 + ["1990-02-30"] * 2 + ["19900231", "某年某月", "不详", "不详"]
    rewrite_csv(health, "出生日期", dict(zip(rows, birth, strict=False)))
    rewrite_csv(health, "性别", dict(zip(rows[9:], ["男女", "男女", "9"], strict=True)))
    operator = sources / "operator_night_residence.csv"
    rewrite_csv(operator, "夜间常驻经度", {0: "东经121度", 1: "东经121度"})
    rewrite_csv(operator, "本地驻留月数", {2: "很久"})
    social = sources / "social_security.csv"
    rewrite_csv(social, "参保状态", {0: "待核查", 1: "待核查", 2: "待核查"})
    ledger = dirty_ledger(folder)
    buildings = dirty_buildings(folder)
    build = invoke("build", folder)
    assert build.exit_code == 0, build.output
    return {"folder": folder, "build": build, "ledger": ledger, "buildings": buildings}


def summaries(folder: Path) -> dict[tuple[str, str], dict[str, Any]]:
    report = current_snapshot(load_project(folder).output_dir).report()
    entries = report["space"]["unreadable"] + report["validate"]["unreadable"]
    return {(e["source"], e["field"]): e for e in entries}


def test_the_clean_sample_has_no_unreadable_value(built_city: Path) -> None:
    assert summaries(built_city) == {}


def test_each_source_and_field_counts_its_unreadable_values(dirty: dict[str, Any]) -> None:
    found = summaries(dirty["folder"])
    assert {k: v["unreadable"] for k, v in found.items()} == {
        ("buildings", "floors"): 1,
        ("buildings", "use"): 2,
        ("health", "birth_date"): 7,  # 不详 means no value: not counted
        ("health", "sex"): 2,  # 9 (GB/T 2261.1: unspecified) is no value either
        ("operator_presence", "lon"): 2,
        ("operator_presence", "residence_months"): 1,
        ("social_security", "person_status"): 3,
    }
    birth = found[("health", "birth_date")]
    assert [(e["value"], e["rows"]) for e in birth["examples"]] == [
        ("出生不详吧", 3),
        ("1990-02-30", 2),
        ("19900231", 1),
    ]
    first = birth["examples"][0]["first"]
    assert first.startswith("health:sources/health_records.csv:")
    delivered = read_table(dirty["folder"] / "sources" / "health_records.csv").frame
    assert birth["present"] == int(delivered["出生日期"].notna().sum())
    use = found[("buildings", "use")]
    assert use["examples"] == [{"value": "祠堂", "rows": 2, "first": dirty["buildings"][0]}]


def test_rows_with_unreadable_values_are_still_accepted(
    dirty: dict[str, Any], built_city: Path
) -> None:
    clean = current_snapshot(load_project(built_city).output_dir).report()["accounting"]
    dirtied = current_snapshot(load_project(dirty["folder"]).output_dir).report()["accounting"]
    for source in ("health", "operator_presence", "social_security", "community_ledger"):
        assert dirtied[source] == clean[source], source


def test_unreadable_values_are_missing_for_the_stages(dirty: dict[str, Any]) -> None:
    work = current_snapshot(load_project(dirty["folder"]).output_dir).work_db
    with duckdb.connect(str(work), read_only=True) as con:
        values = con.execute(
            "SELECT DISTINCT birth_date FROM person_records WHERE source = 'health'"
        ).fetchall()
        statuses = con.execute(
            "SELECT DISTINCT person_status FROM person_records WHERE source = 'social_security'"
        ).fetchall()
    dates = {v for (v,) in values if v is not None}
    assert all(dt.date.fromisoformat(v).isoformat() == v for v in dates)  # ISO, or missing
    assert {s for (s,) in statuses} == {"active", "suspended", None}
    buildings = base_table(
        dirty["folder"],
        "SELECT building_id, use, floors FROM buildings WHERE building_id IN "
        f"({', '.join(repr(b) for b in dirty['buildings'])}) ORDER BY building_id",
    )
    first, second, third, fourth = buildings["use"].tolist()
    assert buildings["building_id"].tolist() == sorted(dirty["buildings"])
    assert third == "residential" and fourth == "mixed"
    assert pd.isna(first) and pd.isna(second)  # unknown use: missing (and counted)
    assert pd.isna(buildings["floors"].iloc[0]) and buildings["floors"].iloc[1] == 12


def test_workbook_date_cells_and_month_only_dates_are_read(dirty: dict[str, Any]) -> None:
    work = current_snapshot(load_project(dirty["folder"]).output_dir).work_db
    ledger = dirty["ledger"]
    with duckdb.connect(str(work), read_only=True) as con:
        since = dict(
            con.execute(
                "SELECT record_id, residence_since FROM person_records WHERE record_id IN "
                f"({', '.join('?' for _ in ledger['date_cells'] + ledger['month_only'])})",
                ledger["date_cells"] + ledger["month_only"],
            ).fetchall()
        )
    assert len(ledger["date_cells"]) == 4 and len(ledger["month_only"]) == 6
    for record in ledger["date_cells"]:
        assert dt.date.fromisoformat(since[record]).isoformat() == since[record]
    assert {since[r] for r in ledger["month_only"]} == {"2026-09-01"}
    # From 2026-09-01 to the as-of date 2026-10-31: one month here, so 流动.
    persons = base_table(
        dirty["folder"],
        "SELECT DISTINCT p.residency_status, p.months_here FROM persons p "
        "JOIN record_outcomes o USING (person_id) WHERE o.record_id IN "
        f"({', '.join(repr(r) for r in ledger['month_only'])}) "
        "AND p.residency_status IN ('present_resident', 'present_floating')",
    )
    assert persons.to_dict("records") == [
        {"residency_status": "present_floating", "months_here": 1}
    ]


def test_the_build_warns_once_per_source_and_field(dirty: dict[str, Any]) -> None:
    stderr = dirty["build"].stderr
    assert stderr.count("warning:") == 7
    assert "health.birth_date: 7 of" in stderr and "'出生不详吧' (3 rows)" in stderr
    assert "buildings.use: 2 of" in stderr and "count as missing" in stderr


def test_report_and_quality_show_them(dirty: dict[str, Any], tmp_path: Path) -> None:
    folder = dirty["folder"]
    result = invoke("report", folder, "--json", tmp_path / "report.json")
    assert result.exit_code == 0
    assert "values that could not be read" in result.stderr and "东经121度" in result.stderr
    written = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    shown = written["space"]["unreadable"] + written["validate"]["unreadable"]
    assert {(e["source"], e["field"]) for e in shown} == set(summaries(folder))
    report = write_quality(load_project(folder), tmp_path / "quality")
    quality = json.loads((tmp_path / "quality" / "quality.json").read_text(encoding="utf-8"))
    assert quality["unreadable"] == report["unreadable"]
    by_field = {(e["source"], e["field"]): e for e in quality["unreadable"]}
    months = by_field[("operator_presence", "residence_months")]
    assert months["unreadable"] == 1 and months["examples"][0]["value"] == "很久"
    assert 0 < months["share"] < 0.01
    page = (tmp_path / "quality" / "quality.html").read_text(encoding="utf-8")
    assert "无法识别的值 Unreadable values" in page and "待核查 ×3" in page


def test_a_projects_vocabulary_makes_its_words_readable(dirty: dict[str, Any]) -> None:
    folder = dirty["folder"]
    (folder / "words.yaml").write_text(
        "person_status:\n  suspended: [待核查]\nbuilding_use:\n  public: [祠堂]\n",
        encoding="utf-8",
    )
    edit_yaml(folder, "\nsources:\n", "\nvocabulary: words.yaml\nsources:\n")
    build = invoke("build", folder)
    assert build.exit_code == 0, build.output
    found = summaries(folder)
    assert ("social_security", "person_status") not in found
    assert ("buildings", "use") not in found
    assert ("health", "birth_date") in found
    first = dirty["buildings"][0]
    use = base_table(folder, f"SELECT use FROM buildings WHERE building_id = '{first}'")
    assert use["use"].tolist() == ["public"]
