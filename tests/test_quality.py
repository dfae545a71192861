"""The quality report: per-source rates recomputed independently, flags, and change."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from typer.testing import CliRunner

from popbase.cli import app
from popbase.config import load_project
from popbase.io.tables import read_table
from popbase.ops.quality import quality_report, write_quality
from popbase.ops.snapshot import current_snapshot
from popbase.pipeline import run


@pytest.fixture(scope="module")
def rebuilt(copy_city: Callable[..., Path]) -> Path:
    """A copy of the built city with a second build and strict thresholds."""
    folder = copy_city()
    config = folder / "popbase.yaml"
    config.write_text(
        config.read_text(encoding="utf-8")
        + "\nquality:\n  min_link_rate: 1.0\n  max_change_pct: 0\n",
        encoding="utf-8",
    )
    run(load_project(folder))
    return folder


def test_rates_match_an_independent_count(rebuilt: Path) -> None:
    project = load_project(rebuilt)
    report = quality_report(project)
    by_source = {s["source"]: s for s in report["sources"]}
    with duckdb.connect(str(current_snapshot(project.output_dir).base_db), read_only=True) as con:
        outcomes = con.execute("SELECT source, outcome, quarantine_stage FROM record_outcomes").df()
    for source, rows in outcomes.groupby("source"):
        early = rows["quarantine_stage"].isin(["ingest", "validate"])
        expected = 1 - early.sum() / len(rows)
        assert by_source[source]["validation_rate"] == pytest.approx(expected), source
        assert by_source[source]["rows_in"] == len(rows)
    # Completeness of the police register, from its own file.
    police = next(s for s in project.config.sources if s.name == "police_hukou")
    raw = read_table(project.path(police.path)).frame
    fields = by_source["police_hukou"]["fields"]
    for field, column in police.columns.items():
        filled = raw[column].notna().mean()
        assert fields[field] == pytest.approx(filled, abs=1e-4), field
    assert by_source["police_hukou"]["completeness"] == pytest.approx(
        sum(fields.values()) / len(fields)
    )
    assert all(0.0 <= s["consistency"] <= 1.0 for s in report["sources"] if s["consistency"])


def test_flags_follow_the_thresholds_and_change_is_measured(rebuilt: Path) -> None:
    report = quality_report(load_project(rebuilt))
    assert report["previous_snapshot"] is not None
    # The same sources built twice: no community changed.
    assert all(c["change_pct"] == 0 for c in report["communities"] if c["resident"])
    assert report["thresholds"]["min_link_rate"] == 1.0
    for source in report["sources"]:
        below = source["link_rate"] is not None and source["link_rate"] < 1.0
        assert ("link_rate" in source["flags"]) == below, source["source"]
    assert report["flagged"]["sources"] == sum(bool(s["flags"]) for s in report["sources"])


def test_html_and_json_are_written(rebuilt: Path, tmp_path: Path) -> None:
    report = write_quality(load_project(rebuilt), tmp_path)
    page = (tmp_path / "quality.html").read_text(encoding="utf-8")
    assert "数据质量报告" in page and "<table>" in page
    assert ('class="flag"' in page) == bool(report["flagged"]["sources"])
    saved = pd.read_json(tmp_path / "quality.json", typ="series")
    assert saved["snapshot"] == report["snapshot"]
    result = CliRunner().invoke(app, ["quality", str(rebuilt), "--out", str(tmp_path / "q")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "q" / "quality.html").is_file()


def _with_check(first17: str) -> str:
    from popbase.population.resident_id import check_digit

    return first17 + check_digit(first17)


def test_ids_of_unlisted_areas_are_kept_and_counted_per_source(
    copy_city: Callable[..., Path],
) -> None:
    folder = copy_city(snapshots=False)
    police = folder / "sources" / "police_hukou.csv"
    rows = [
        # area unlisted in a province that exists: a county renamed since the tables
        ("GA-NEW-1", _with_check("31019919800101001"), "陆新民", "男"),
        # 黔西市 (2021): listed by the NBS, not by the timeline
        ("GA-NEW-2", _with_check("52058119800101002"), "王黔西", "女"),
        # no province 99: not a resident ID of this country
        ("GA-NEW-3", _with_check("99019919800101003"), "赵无省", "男"),
    ]
    with police.open("ab") as fh:
        for record, id_number, name, sex in rows:
            line = f"{record},{id_number},{name},{sex},汉族,19800101,,,,,正常\n"
            fh.write(line.encode("gb18030"))
    project = load_project(folder)
    report = run(project).report
    assert report["validate"]["ids_unrecognised_area"] == 1
    by_source = {s["source"]: s for s in quality_report(project)["sources"]}
    assert by_source["police_hukou"]["ids_unrecognised_area"] == 1
    assert by_source["community_ledger"]["ids_unrecognised_area"] == 0
    db = current_snapshot(project.output_dir).base_db
    with duckdb.connect(str(db), read_only=True) as con:
        outcomes = dict(
            con.execute(
                "SELECT record_no, coalesce(reason, outcome) FROM record_outcomes "
                "WHERE record_no LIKE 'GA-NEW-%'"
            ).fetchall()
        )
    assert outcomes == {
        "GA-NEW-1": "accepted",
        "GA-NEW-2": "accepted",
        "GA-NEW-3": "id_unknown_area",
    }
