"""``popbase address parse`` and ``popbase eval address`` as a shell pipeline uses them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from popbase.cli import app


def test_parse_reads_lines_and_writes_json_lines() -> None:
    lines = [
        "上海市闵行区七莘路1885弄12号301室",
        "张杨路100号",
        "",
        "上海市闵行区七莘路1885弄12号301室",
    ]
    result = CliRunner().invoke(app, ["address", "parse"], input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["text"] for r in rows] == lines
    assert rows[0]["components"]["roadno"] == "1885弄"
    assert rows[0]["spans"]["roadno"] == [9, 14]
    assert rows[1]["components"] == {"road": "张杨路", "roadno": "100号"}
    assert rows[2]["components"] == {}
    assert rows[3] == rows[0]


def test_parse_with_a_project_knows_its_roads(tmp_path: Path) -> None:
    pytest.importorskip("geopandas")
    from popbase.sample.city import SampleOptions, generate_sample

    project = tmp_path / "city"
    opts = SampleOptions(persons=200, seed=3, streets=1, communities_per_street=1)
    generate_sample(project, opts)
    import geopandas as gpd

    address = str(gpd.read_file(project / "basemap" / "buildings.gpkg")["address"].iloc[0])
    alone = CliRunner().invoke(app, ["address", "parse"], input=address)
    known = CliRunner().invoke(app, ["address", "parse", "--project", str(project)], input=address)
    assert known.exit_code == 0, known.output
    # The bundled gazetteer does not know the sample's roads; the project's buildings do.
    assert json.loads(alone.stdout)["confidence"] < 1.0
    assert json.loads(known.stdout)["confidence"] == 1.0


def test_parse_with_a_missing_project_fails_on_stderr(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["address", "parse", "--project", str(tmp_path)], input="")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "error:" in result.stderr


def test_eval_address_scores_a_corpus_and_writes_json(tmp_path: Path) -> None:
    pytest.importorskip("cpca")
    corpus = tmp_path / "dev.json"
    rows = [
        {"text": "上海市张杨路0号", "tags": ["B-city", "I-city", "E-city", "B-road", "I-road",
                                            "E-road", "B-roadno", "E-roadno"]},
    ]  # fmt: skip
    corpus.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), "utf-8")
    out = tmp_path / "scores.json"
    args = ["eval", "address", "--corpus", str(corpus), "--format", "ccks", "--json", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "roadno" in result.stdout
    scores = json.loads(out.read_text(encoding="utf-8"))
    assert scores["format"] == "ccks" and scores["lines"] == 1
    assert scores["tags"]["roadno"]["f1"] == 1.0
    assert scores["shanghai"]["lines"] == 1


def test_eval_address_refuses_an_unknown_format(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["eval", "address", "--corpus", str(tmp_path / "x"), "--format", "conll"]
    )
    assert result.exit_code == 1
    assert "expected one of" in result.stderr


def test_eval_still_takes_a_project() -> None:
    result = CliRunner().invoke(app, ["eval", "--help"])
    assert result.exit_code == 0
    assert "address" in result.stdout and "project" in result.stdout
    missing = CliRunner().invoke(app, ["eval", "no-such-project"])
    assert missing.exit_code != 0
    assert "No such command" not in missing.output
