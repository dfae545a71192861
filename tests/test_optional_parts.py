"""Every optional part optional: a city lacking any of them builds, scores, exports and serves.

The tiny sample city is delivered again without each optional part in turn (and without
all of them at once), built, scored against its truth and exported; the city without any
of them is also asked every command and every endpoint.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from typer.testing import CliRunner, Result

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

from browser_fixtures import add_user, open_dashboard, serve_city
from popbase.cli import app
from popbase.config import load_project
from popbase.ops.evaluate import evaluate_project
from popbase.ops.snapshot import current_snapshot
from popbase.pipeline import run
from popbase.sample.shapes import OPTIONAL_PARTS, Shape, write_shape

ALL = frozenset(OPTIONAL_PARTS)


@pytest.fixture(scope="module")
def sample(copy_city: Callable[..., Path]) -> Path:
    """The tiny sample city's project, without its build."""
    return copy_city(snapshots=False)


@pytest.fixture(scope="module")
def canonical_scores(built_city: Path) -> dict[str, Any]:
    return evaluate_project(load_project(built_city))


@pytest.fixture(scope="module")
def without(
    sample: Path, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[frozenset[str]], tuple[Path, dict[str, Any]]]:
    """``without(parts)``: the city delivered without ``parts``, built once; its report."""
    built: dict[frozenset[str], tuple[Path, dict[str, Any]]] = {}

    def build(parts: frozenset[str]) -> tuple[Path, dict[str, Any]]:
        if parts not in built:
            shape = Shape(omit=parts)
            folder = tmp_path_factory.mktemp(shape.name) / "project"
            write_shape(sample, folder, shape)
            result = run(load_project(folder))
            built[parts] = folder, result.report
        return built[parts]

    return build


@pytest.mark.parametrize("part", [*OPTIONAL_PARTS, "all"])
def test_a_city_without_an_optional_part_builds_scores_and_exports(
    part: str,
    without: Callable[[frozenset[str]], tuple[Path, dict[str, Any]]],
    canonical_scores: dict[str, Any],
    tmp_path: Path,
) -> None:
    folder, report = without(ALL if part == "all" else frozenset({part}))
    assert report["account"]["unaccounted"] == 0
    # Every table came out of its stage as declared: nothing had to be cast back.
    assert "schema_casts" not in report
    scores = evaluate_project(load_project(folder))
    # Leaving a source out may lose what only it knows, never the address engine.
    assert scores["link"]["precision"] >= canonical_scores["link"]["precision"] - 0.001
    assert scores["person"]["precision"] >= 0.999
    assert scores["residency"]["accuracy"] > 0.8
    out = tmp_path / "district.csv"
    exported = CliRunner().invoke(
        app, ["export", str(folder), "--level", "district", "--format", "csv", "--out", str(out)]
    )
    assert exported.exit_code == 0, exported.output
    assert "1 units (district)" in exported.output


@pytest.fixture(scope="module")
def bare_city(without: Callable[[frozenset[str]], tuple[Path, dict[str, Any]]]) -> Path:
    """The city without any optional part: divisions, buildings, and the person sources."""
    return without(ALL)[0]


def _invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args])


def test_every_command_answers_on_a_city_without_optional_parts(
    bare_city: Path, tmp_path: Path
) -> None:
    commands: list[tuple[str | Path, ...]] = [
        ("report", bare_city, "--json", tmp_path / "report.json"),
        ("report", bare_city, "--quarantine", tmp_path / "quarantine.xlsx"),
        ("eval", bare_city, "--json", tmp_path / "eval.json"),
        ("quality", bare_city, "--out", tmp_path / "quality"),
        ("check", "space", bare_city, "--json", tmp_path / "space.json"),
        ("cypher", bare_city, "MATCH (p:Person) RETURN count(p) AS n"),
        ("cypher", bare_city, "MATCH (f:Facility) RETURN count(f) AS n"),
        ("cypher", bare_city, "MATCH (g:Grid) RETURN count(g) AS n"),
    ]
    for level in ("district", "street", "community"):
        out = tmp_path / f"{level}.gpkg"
        commands.append(("export", bare_city, "--level", level, "--format", "gpkg", "--out", out))
    for command in commands:
        result = _invoke(*command)
        assert result.exit_code == 0, (command, result.output)
        assert "Traceback" not in result.output
    quality = json.loads((tmp_path / "quality" / "quality.json").read_text(encoding="utf-8"))
    assert {s["source"] for s in quality["sources"]} == {
        s.name for s in load_project(bare_city).config.sources
    }


@pytest.fixture(scope="module")
def bare_client(
    bare_city: Path,
    tmp_path_factory: pytest.TempPathFactory,
    signed_in_client: Callable[..., TestClient],
) -> Iterator[Callable[[str], TestClient]]:
    output = load_project(bare_city).output_dir
    access = tmp_path_factory.mktemp("bare_access")
    opened: dict[str, TestClient] = {}

    def client(role: str) -> TestClient:
        if role not in opened:
            opened[role] = signed_in_client(output, access, role, "3101")
            opened[role].__enter__()
        return opened[role]

    yield client
    for c in opened.values():
        c.__exit__(None, None, None)


def _served(bare_city: Path, sql: str) -> list[tuple[Any, ...]]:
    db = current_snapshot(load_project(bare_city).output_dir).base_db
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


@pytest.mark.parametrize("role", ["admin", "health"])
def test_every_endpoint_answers_on_a_city_without_optional_parts(
    role: str, bare_city: Path, bare_client: Callable[[str], TestClient]
) -> None:
    client = bare_client(role)
    [(district,)] = _served(bare_city, "SELECT code FROM units WHERE level = 'district'")
    [(committee,)] = _served(
        bare_city, "SELECT min(code) FROM units WHERE level = 'community' AND resident > 0"
    )
    [(building,)] = _served(bare_city, "SELECT min(building_id) FROM buildings WHERE resident > 0")
    [(person, household)] = _served(
        bare_city,
        "SELECT person_id, household_id FROM persons WHERE household_id IS NOT NULL "
        "ORDER BY person_id LIMIT 1",
    )
    paths = [
        "/api/summary",
        *(f"/api/units?level={level}" for level in ("district", "street", "community", "grid")),
        f"/api/units/{district}",
        f"/api/units/{committee}",
        "/api/buildings?bbox=120,30,123,32&limit=50",
        f"/api/buildings/{building}/rooms",
        "/api/quality",
        f"/api/residency?unit={district}",
        f"/api/residency?unit={committee}",
        "/api/tags",
        f"/api/tags/cross?unit={district}&tags=elderly,hypertension",
    ]
    if role == "admin":
        paths += [
            "/api/report",
            f"/api/persons?unit={committee}&limit=5",
            f"/api/persons/{person}",
            f"/api/households/{household}",
        ]
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, (path, response.text)
    if role == "admin":
        grids = client.get("/api/units?level=grid").json()
        assert grids["features"] == []


@pytest.mark.browser
def test_the_dashboard_draws_a_city_without_optional_parts(
    bare_city: Path, chromium: Any, tmp_path: Path
) -> None:
    [(district, resident)] = _served(
        bare_city, "SELECT code, resident FROM units WHERE level = 'district'"
    )
    add_user(bare_city, "bare-district", "district_officer", district)
    with (
        serve_city(bare_city, tmp_path / "server.log") as base,
        open_dashboard(chromium, base, "bare-district") as board,
    ):
        assert board.evaluate("document.body.dataset.mapState") == "idle"
        drawn = board.evaluate(
            "window.popbaseMap.queryRenderedFeatures({layers: ['community-fill']}).length"
        )
        assert drawn > 0
        shown = board.page.locator("#total-resident").text_content()
        assert shown == f"{resident:,}"
        board.assert_clean()
