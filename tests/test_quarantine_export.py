"""The quarantine written for a data team: every entry, its reason, and the row as delivered."""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import duckdb
import openpyxl
import pytest

from popbase.config import load_project
from popbase.ops.quarantine import work_database, write_quarantine
from popbase.ops.snapshot import current_snapshot, raw_rows_file
from test_cli import assert_clean_failure, invoke


def _work_db(project: Path) -> Path:
    return work_database(current_snapshot(load_project(project).output_dir))


def _entries(work_db: Path) -> dict[str, int]:
    con = duckdb.connect(str(work_db), read_only=True)
    try:
        rows = con.execute("SELECT source, count(*) FROM quarantine GROUP BY 1").fetchall()
    finally:
        con.close()
    return {str(s): int(n) for s, n in rows}


def _review_rows(work_db: Path) -> list[tuple[object, ...]]:
    con = duckdb.connect(str(work_db), read_only=True)
    try:
        return con.execute(
            "SELECT v.source, v.file, v.row_number, q.reason FROM review_queue v "
            "LEFT JOIN quarantine q USING (record_id) ORDER BY ALL"
        ).fetchall()
    finally:
        con.close()


def _raw_row(work_db: Path, source: str, file: str, row_number: int) -> dict[str, object]:
    con = duckdb.connect(str(work_db), read_only=True)
    try:
        record_id = con.execute(
            "SELECT record_id FROM quarantine WHERE source = ? AND file = ? AND row_number = ?",
            [source, file, row_number],
        ).fetchone()
        assert record_id is not None
        raw = raw_rows_file(work_db.parent, source)
        result = con.execute(f"SELECT * FROM read_parquet('{raw}') WHERE record_id = ?", record_id)
        values = result.fetchone()
        assert values is not None
        return dict(zip([d[0] for d in result.description], values, strict=True))
    finally:
        con.close()


def test_the_workbook_holds_every_entry_with_its_original_row(
    built_city: Path, tmp_path: Path
) -> None:
    work_db = _work_db(built_city)
    expected = _entries(work_db)
    assert sum(expected.values()) > 0  # the sample's dirt puts rows in quarantine
    out = tmp_path / "quarantine.xlsx"
    assert write_quarantine(work_db, out) == expected

    book = openpyxl.load_workbook(out, read_only=True)
    review = _review_rows(work_db)
    assert book.sheetnames == ["summary", *sorted(expected), *(["review"] if review else [])]
    # Rows waiting for review are still in quarantine, each with its ID reason.
    assert all(r[3] is not None and str(r[3]).startswith("id_") for r in review)
    if review:
        sheet = list(book["review"].iter_rows(values_only=True))
        assert sorted(tuple(r[:3]) for r in sheet[1:]) == sorted(r[:3] for r in review)
    summary = list(book["summary"].iter_rows(values_only=True))
    assert sum(int(r[4]) for r in summary[1:]) == sum(expected.values())
    for source, n in expected.items():
        rows = list(book[source].iter_rows(values_only=True))
        header, data = rows[0], rows[1:]
        assert len(data) == n
        assert header[:6] == (
            "来源 source",
            "文件 file",
            "行号 row",
            "阶段 stage",
            "原因 reason",
            "说明 detail",
        )
        first = data[0]
        raw = _raw_row(work_db, source, str(first[1]), int(first[2]))
        # The row's own columns follow, as delivered (original names and values).
        original = dict(zip(header[6:], first[6:], strict=True))
        assert {k: v for k, v in original.items() if v is not None} == {
            k: v for k, v in raw.items() if k != "record_id" and v is not None
        }


def test_the_csv_opens_in_a_spreadsheet_and_keeps_the_row_as_json(
    built_city: Path, tmp_path: Path
) -> None:
    work_db = _work_db(built_city)
    out = tmp_path / "quarantine.csv"
    write_quarantine(work_db, out)
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")  # BOM: Excel reads it as UTF-8
    with out.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == sum(_entries(work_db).values())
    first = rows[0]
    raw = _raw_row(work_db, first["source"], first["file"], int(first["row_number"]))
    original = json.loads(first["original"])
    assert original == {k: v for k, v in raw.items() if k != "record_id"}


def test_report_writes_it_and_refuses_what_it_cannot(
    copy_city: Callable[..., Path], tmp_path: Path
) -> None:
    project = copy_city()
    done = invoke("report", project, "--quarantine", tmp_path / "q.xlsx")
    assert done.exit_code == 0, done.output
    assert "quarantine entries written" in done.output
    assert (tmp_path / "q.xlsx").exists()

    assert_clean_failure(
        invoke("report", project, "--quarantine", tmp_path / "q.json"), "as .xlsx or .csv"
    )
    shutil.rmtree(_work_db(project).parent)
    assert_clean_failure(
        invoke("report", project, "--quarantine", tmp_path / "again.xlsx"),
        "working database",
        "popbase build",
    )


def test_an_unknown_format_is_refused_before_reading(built_city: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"as \.xlsx or \.csv"):
        write_quarantine(_work_db(built_city), tmp_path / "quarantine.txt")
