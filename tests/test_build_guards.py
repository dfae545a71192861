"""Bad input can neither stall a build nor silently empty what it publishes.

A tiny sample city is delivered again with a megabyte in an ID column and 10 KB values
elsewhere (quarantined at ingest as ``value_too_long``, before resolution), with an empty
and a shrunken source (publication stops unless accepted), and built after a killed build
(its folders are removed). What a build writes is its owner's alone.
"""

from __future__ import annotations

import csv
import io
import os
import signal
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import openpyxl
import pandas as pd
import pytest

from popbase.config import SourceConfig, load_project
from popbase.errors import ConfigError, EmptyFileError, PartialDeliveryError
from popbase.io.sources import SourceRows, read_source
from popbase.io.tables import read_table
from popbase.ops import snapshot
from popbase.ops.delivery import shortfalls
from popbase.ops.ingest import set_aside_too_long
from popbase.ops.snapshot import current_snapshot
from popbase.pipeline import run
from test_cli import assert_clean_failure, invoke
from test_pipeline import assert_every_row_accounted, edit_yaml

BOM = b"\xef\xbb\xbf"
MEGABYTE_ID = "3" * 1_000_000


def _header(folder: Path, source: str, field: str) -> str:
    """The header a source maps ``field`` to, as the project file says."""
    config = next(s for s in load_project(folder).config.sources if s.name == source)
    return config.columns[field]


def _file(folder: Path, source: str) -> Path:
    config = next(s for s in load_project(folder).config.sources if s.name == source)
    return folder / config.path


def spoil(folder: Path, source: str, rows: list[int], values: dict[str, str]) -> None:
    """Write ``values`` (by canonical field) into data rows ``rows`` (0-based) of a CSV."""
    path = _file(folder, source)
    data = path.read_bytes()
    bom = data.startswith(BOM)
    table = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    for row in rows:
        for field, value in values.items():
            table[row + 1][table[0].index(_header(folder, source, field))] = value
    out = io.StringIO(newline="")
    csv.writer(out).writerows(table)
    path.write_bytes((BOM if bom else b"") + out.getvalue().encode("utf-8"))


@pytest.fixture(scope="module")
def long_values_city(copy_city: Callable[..., Path]) -> dict[str, Any]:
    """The tiny city with over-long values in three sources, built once."""
    folder = copy_city(snapshots=False)
    spoil(folder, "health", [1], {"id_number": MEGABYTE_ID})
    spoil(
        folder,
        "civil_affairs",
        [2, 3, 4],
        {"name": "王" * 10_000, "residence_address": "上海市" * 3_400},
    )
    spoil(folder, "hotline", [5, 6], {"phone": "1" * 10_000, "text": "垃圾" * 5_000})
    result = run(load_project(folder))
    return {"folder": folder, "report": result.report, "snapshot": result.snapshot}


def work_sql(city: dict[str, Any], sql: str) -> pd.DataFrame:
    with duckdb.connect(str(city["snapshot"].work_db), read_only=True) as con:
        return con.execute(sql).df()


def test_over_long_values_are_quarantined_at_ingest_and_every_row_accounted(
    long_values_city: dict[str, Any],
) -> None:
    limit = csv.field_size_limit(2_000_000)  # the check reads the files with the csv module
    try:
        accounting = assert_every_row_accounted(long_values_city["folder"])
    finally:
        csv.field_size_limit(limit)
    too_long = {
        s: a["quarantined_by_reason"].get("value_too_long", 0) for s, a in accounting.items()
    }
    assert too_long == dict.fromkeys(accounting, 0) | {
        "health": 1,
        "civil_affairs": 3,
        "hotline": 2,
    }
    aside = work_sql(
        long_values_city,
        "SELECT source, row_number, stage, detail FROM quarantine "
        "WHERE reason = 'value_too_long' ORDER BY source, row_number",
    )
    assert aside[["source", "row_number"]].values.tolist() == [
        ["civil_affairs", 4],
        ["civil_affairs", 5],
        ["civil_affairs", 6],
        ["health", 3],
        ["hotline", 7],
        ["hotline", 8],
    ]
    assert set(aside["stage"]) == {"ingest"}
    health = aside.loc[aside["source"] == "health", "detail"].item()
    id_header = _header(long_values_city["folder"], "health", "id_number")
    assert f"id_number ({id_header}) has 1,000,000 characters, over the limit of 64" in health
    assert "Fix:" in health
    civil = aside.loc[aside["source"] == "civil_affairs", "detail"].iloc[0]
    assert "over the limit of 100" in civil and "over the limit of 500" in civil


def test_over_long_rows_never_reach_resolution(long_values_city: dict[str, Any]) -> None:
    reached = work_sql(
        long_values_city,
        "SELECT count(*) AS n FROM person_records r JOIN quarantine q USING (record_id) "
        "WHERE q.reason = 'value_too_long'",
    )
    assert reached["n"].item() == 0
    longest = work_sql(long_values_city, "SELECT max(length(id_number)) AS n FROM person_records")
    assert longest["n"].item() <= 64
    with duckdb.connect(str(long_values_city["snapshot"].base_db), read_only=True) as con:
        outcomes = con.execute(
            "SELECT DISTINCT outcome, quarantine_stage FROM record_outcomes "
            "WHERE reason = 'value_too_long'"
        ).fetchall()
    assert outcomes == [("quarantined", "ingest")]


class _Folder:
    """What reading a source needs of a project: its folder."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, p: Path) -> Path:
        return self.root / p


def test_a_limit_is_raised_in_the_project_file(tmp_path: Path) -> None:
    (tmp_path / "people.csv").write_text(
        "姓名,身份证号\n" + "王" * 150 + ",110101199003071234\n张三,110101199003071234\n",
        encoding="utf-8",
    )
    source = SourceConfig(
        name="people",
        department="测试",
        kind="person",
        path=Path("people.csv"),
        columns={"name": "姓名", "id_number": "身份证号"},
    )

    def aside(overrides: dict[str, int]) -> tuple[pd.DataFrame, SourceRows]:
        rows = read_source(_Folder(tmp_path), source)  # type: ignore[arg-type]
        return set_aside_too_long(source, rows, overrides), rows

    quarantined, rows = aside({})
    assert quarantined["row_number"].tolist() == [2]
    assert quarantined["detail"].item().startswith("name (姓名) has 150 characters")
    assert rows.records["row_number"].tolist() == [3]
    quarantined, rows = aside({"name": 200})
    assert quarantined.empty and len(rows.records) == 2


def test_an_unknown_field_under_max_length_is_a_config_error(
    copy_city: Callable[..., Path],
) -> None:
    folder = copy_city(snapshots=False)
    edit_yaml(folder, "\nsources:\n", "\ningest:\n  max_length: {nmae: 200}\nsources:\n")
    with pytest.raises(ConfigError, match="unknown field 'nmae'"):
        load_project(folder)


@pytest.mark.parametrize("content", [b"", BOM, BOM + b"\r\n  \n", b"\n\n\t\n"])
def test_an_empty_csv_says_it_is_empty(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(content)
    with pytest.raises(EmptyFileError, match=r"empty\.csv: the file is empty .*Fix: export"):
        read_table(path)


def test_an_empty_workbook_sheet_says_it_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "blank.xlsx"
    openpyxl.Workbook().save(path)
    with pytest.raises(EmptyFileError, match=r"its sheet has no filled cell.*set `sheet:`"):
        read_table(path)


def test_a_value_longer_than_a_read_block_is_read_not_the_whole_file_lost(
    tmp_path: Path,
) -> None:
    path = tmp_path / "pasted.csv"
    path.write_text("编号,备注\n1,好\n2," + "长" * 10_000_000 + "\n3,好\n", encoding="utf-8")
    table = read_table(path)
    assert table.frame["编号"].tolist() == ["1", "2", "3"]
    assert table.frame["备注"].str.len().tolist() == [1, 10_000_000, 1]


def test_a_file_with_text_after_blank_lines_is_not_empty(tmp_path: Path) -> None:
    path = tmp_path / "late.csv"
    path.write_bytes(BOM + b"\n" * 300 + "姓名,电话\n张三,1\n".encode())
    assert "张三" in read_table(path, skip_rows=300).frame["姓名"].tolist()


def _current(folder: Path) -> str:
    return current_snapshot(load_project(folder).output_dir).id


def test_an_empty_or_shrunken_source_stops_publication_unless_accepted(
    copy_city: Callable[..., Path],
) -> None:
    folder = copy_city()
    served = _current(folder)
    before = current_snapshot(load_project(folder).output_dir).report()["accounting"]
    social_before = before["social_security"]["accepted"] + before["social_security"]["merged"]
    _file(folder, "health").write_bytes(BOM)
    social = _file(folder, "social_security")
    lines = social.read_bytes().splitlines(keepends=True)
    kept = len(lines) * 3 // 10
    social.write_bytes(b"".join(lines[: kept + 1]))

    result = invoke("build", folder)
    assert_clean_failure(
        result,
        "publication stopped",
        "source 'health': none of its files could be read",
        "health_records.csv (file_empty:",
        "the file is empty",
        "source 'social_security'",
        f"usable last time {social_before:,}",
        "--accept-partial health --accept-partial social_security",
    )
    assert _current(folder) == served
    names = sorted(p.name for p in (folder / snapshot.SNAPSHOTS).iterdir())
    assert names == [served, names[1]] and names[1].endswith(".failed")

    # Accepting one source is not accepting the other.
    with pytest.raises(PartialDeliveryError) as refused:
        run(load_project(folder), accept_partial=["health"])
    assert refused.value.sources == ["social_security"]
    assert _current(folder) == served

    result = invoke(
        "build", folder, "--accept-partial", "health", "--accept-partial", "social_security"
    )
    assert result.exit_code == 0, result.output
    assert "source 'health' published as accepted (--accept-partial)" in result.stderr
    assert _current(folder) != served
    report = current_snapshot(load_project(folder).output_dir).report()
    accepted = {a["source"]: a for a in report["deliveries"]["accepted_partial"]}
    assert sorted(accepted) == ["health", "social_security"]
    assert accepted["social_security"]["usable"] == kept
    assert report["accounting"]["health"]["rows_in"] == 0


def test_only_sources_still_configured_and_once_delivered_are_compared() -> None:
    accounting = {
        "a": {"rows_in": 10, "accepted": 6, "merged": 3},
        "b": {"rows_in": 4, "accepted": 0, "merged": 0, "quarantined": 4},
    }
    # "gone" is no longer configured; "b" was published empty before (nothing to lose).
    assert shortfalls(accounting, {}, {"a": 10, "b": 0, "gone": 500}, 0.5) == []
    found = shortfalls(accounting, {}, {"a": 19}, 0.5)
    assert [s.source for s in found] == ["a"]
    empty = shortfalls(
        {"c": {"rows_in": 3, "quarantined_by_reason": {"row_malformed": 3}}}, {}, {}, 0.5
    )
    assert empty[0].problem == "none of its rows could be read"
    # Empty now and in the served snapshot: nothing is lost.
    assert shortfalls({"d": {"rows_in": 0}}, {}, {"d": 0}, 0.5) == []
    assert [s.source for s in shortfalls({"d": {"rows_in": 0}}, {}, {"d": 7}, 0.5)] == ["d"]


def test_accepting_a_source_the_project_lacks_is_an_error_before_building(
    copy_city: Callable[..., Path],
) -> None:
    folder = copy_city()
    result = invoke("build", folder, "--accept-partial", "heatlh")
    assert_clean_failure(result, "names no source of the project: heatlh", "Fix:", "health")
    assert sorted(p.name for p in (folder / snapshot.SNAPSHOTS).iterdir()) == [_current(folder)]


_HOLD_A_BUILD = """
import sys, time
from pathlib import Path
from popbase.ops.snapshot import start_build
print(start_build(Path(sys.argv[1])), flush=True)
time.sleep(600)
"""


def test_a_killed_build_is_cleaned_at_the_next_start_a_running_one_is_not(
    tmp_path: Path,
) -> None:
    out = tmp_path / "output"
    child = subprocess.Popen(
        [sys.executable, "-c", _HOLD_A_BUILD, str(out)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    try:
        assert child.stdout is not None
        running = Path(child.stdout.readline().strip())
        work = snapshot.work_folder(running)
        (work / "work.duckdb").write_bytes(b"raw ID numbers")
        mine = snapshot.start_build(out)
        assert running.is_dir() and work.is_dir(), "a running build was removed"
        child.send_signal(signal.SIGKILL)
        child.wait()
        snapshot.fail_build(mine)
        following = snapshot.start_build(out)
        assert not running.exists() and not work.exists()
        assert (out / snapshot.SNAPSHOTS / f"{mine.name.split('.')[0]}.failed").is_dir()
        snapshot.fail_build(following)
    finally:
        child.kill()
        child.wait()
        if child.stdout is not None:
            child.stdout.close()


def _private(path: Path) -> bool:
    return stat.S_IMODE(path.stat().st_mode) & 0o077 == 0


def test_what_a_build_writes_is_its_owners_alone(long_values_city: dict[str, Any]) -> None:
    snap = long_values_city["snapshot"]
    output = load_project(long_values_city["folder"]).output_dir
    for folder in (output / snapshot.SNAPSHOTS, output / snapshot.WORK, snap.path):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    files = [p for p in (*snap.path.rglob("*"), *snap.work_db.parent.rglob("*")) if p.is_file()]
    assert {p.name for p in files} >= {
        "base.duckdb",
        "report.json",
        "work.duckdb",
        "health.parquet",
    }
    assert [p for p in files if not _private(p)] == []


def test_the_command_line_creates_files_for_their_owner_only(built_city: Path) -> None:
    before = os.umask(0o022)
    try:
        assert invoke("report", built_city).exit_code == 0
        during = os.umask(0o022)
    finally:
        os.umask(before)
    assert during == 0o077
