"""The command line: sample, build, report and eval through Typer, as a user types them."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from popbase.cli import app
from popbase.ops.snapshot import current_snapshot

TINY = ["--persons", "300", "--seed", "1", "--streets", "1", "--communities-per-street", "2"]
COMMANDS = ("sample", "build", "report", "eval", "serve")


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args])


def assert_clean_failure(result: Result, *says: str) -> None:
    """Exit 1 with an ``error:`` saying ``says``, and no traceback."""
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert result.stderr.count("error:") == 1
    error = result.stderr[result.stderr.index("error:") :]
    for text in says:
        assert text in error


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """``popbase sample``, ``build``, ``report --json`` and ``eval --json`` on a tiny city."""
    root = tmp_path_factory.mktemp("cli")
    project = root / "city"
    results = {
        "sample": invoke("sample", project, *TINY),
        "build": invoke("build", project),
        "report": invoke("report", project, "--json", root / "report.json"),
        "eval": invoke("eval", project, "--json", root / "eval.json"),
    }
    return {"root": root, "project": project, **results}


def test_help_lists_the_commands() -> None:
    result = invoke("--help")
    assert result.exit_code == 0
    for command in COMMANDS:
        assert f" {command} " in result.output
    for command in COMMANDS:
        assert invoke(command, "--help").exit_code == 0


def test_sample_writes_a_project_with_its_truth(session: dict[str, object]) -> None:
    result, project = session["sample"], session["project"]
    assert isinstance(result, Result) and isinstance(project, Path)
    assert result.exit_code == 0, result.output
    assert f"wrote {project}" in result.stderr
    assert (project / "popbase.yaml").is_file()
    assert (project / "truth" / "persons.parquet").is_file()
    assert (project / "sources" / "police_hukou.csv").is_file()


def test_build_makes_a_current_snapshot_and_prints_the_accounting(
    session: dict[str, object],
) -> None:
    result, project = session["build"], session["project"]
    assert isinstance(result, Result) and isinstance(project, Path)
    assert result.exit_code == 0, result.output
    snapshot = current_snapshot(project)
    assert f"snapshot {snapshot.id} is now current" in result.stderr
    assert "record accounting" in result.stderr
    for name in ("base.duckdb", "graph.lbug", "report.json", "manifest.json"):
        assert (snapshot.path / name).exists(), name


def test_report_json_is_the_snapshots_report(session: dict[str, object]) -> None:
    result, root, project = session["report"], session["root"], session["project"]
    assert isinstance(result, Result) and isinstance(root, Path) and isinstance(project, Path)
    assert result.exit_code == 0, result.output
    written = json.loads((root / "report.json").read_text(encoding="utf-8"))
    assert written == current_snapshot(project).report()
    assert all(a["unaccounted"] == 0 for a in written["accounting"].values())
    assert "police_hukou" in result.stderr  # the accounting table


def test_eval_prints_a_short_table_and_writes_every_score(session: dict[str, object]) -> None:
    result, root, project = session["eval"], session["root"], session["project"]
    assert isinstance(result, Result) and isinstance(root, Path) and isinstance(project, Path)
    assert result.exit_code == 0, result.output
    written = json.loads((root / "eval.json").read_text(encoding="utf-8"))
    # The headline scores, a line each: not the hundreds of lines of the JSON; then the
    # residency rules' table, a line per rule that decided someone.
    headline, rules = result.stdout.split("residency rules:")
    assert len(headline.splitlines()) < 25
    assert "listed" in rules and len(rules.splitlines()) < 30
    assert set(written["residency"]["by_rule"]) <= set(rules.replace("\n", " ").split())
    assert f"{written['residency']['accuracy']:.4f}" in result.stdout
    assert f"{written['link']['precision']:.4f} / {written['link']['recall']:.4f}" in result.stdout
    assert written["snapshot"] == current_snapshot(project).id
    assert {"link", "person", "community_residents", "fused"} <= set(written)
    assert 0.0 <= written["person"]["precision"] <= 1.0
    assert written["community_residents"]["communities"] == 2


def test_sample_refuses_a_folder_that_holds_a_project(session: dict[str, object]) -> None:
    project = session["project"]
    assert isinstance(project, Path)
    assert_clean_failure(invoke("sample", project, *TINY), str(project))


def test_report_and_eval_before_any_build_say_to_build_first(
    copy_city: Callable[..., Path],
) -> None:
    project = copy_city(snapshots=False)
    for command in ("report", "eval"):
        assert_clean_failure(invoke(command, project), "no current snapshot", "popbase build")


def test_eval_of_a_project_without_truth_says_so(copy_city: Callable[..., Path]) -> None:
    project = copy_city()
    shutil.rmtree(project / "truth")
    assert_clean_failure(invoke("eval", project), "no ground truth here")


def test_build_of_a_folder_without_a_project_file_says_how_to_make_one(tmp_path: Path) -> None:
    assert_clean_failure(invoke("build", tmp_path), "popbase.yaml", "popbase sample DIR")
