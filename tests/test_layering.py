"""The build's layering: stages share only what lies below them, never each other.

A stage module (one whose function :data:`popbase.pipeline.STAGES` runs) imports the
shared module :mod:`popbase.context` and helpers, never the pipeline that orders the stages
nor another stage's module; so each can be read, run and tested alone, and the stages can
run on another engine one day.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import popbase
from popbase.pipeline import STAGES

SRC = Path(popbase.__file__).resolve().parent
STAGE_MODULES = sorted({stage.run.__module__ for stage in STAGES})
# Modules that run the build as a whole: the command line (and the pipeline itself).
RUNNERS = {"popbase.cli", "popbase.pipeline"}


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path) -> set[str]:
    """Every popbase module ``path`` imports, at the top or inside functions, and each
    imported name as ``module.name`` (a module imported by name from its package)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("popbase"):
            out.add(node.module)
            out.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("popbase"))
    return out


MODULES = {module_name(p): p for p in SRC.rglob("*.py")}


def test_the_stages_are_found() -> None:
    assert len(STAGE_MODULES) >= 10
    assert {"popbase.address.match", "popbase.population.validate"} <= set(STAGE_MODULES)


@pytest.mark.parametrize("module", sorted(set(MODULES) - RUNNERS))
def test_only_the_runners_import_the_pipeline(module: str) -> None:
    assert "popbase.pipeline" not in imported(MODULES[module]), module


@pytest.mark.parametrize("module", STAGE_MODULES)
def test_no_stage_imports_another_stage(module: str) -> None:
    others = imported(MODULES[module]) & (set(STAGE_MODULES) - {module})
    assert not others, f"{module} imports the stage module(s) {sorted(others)}"


def test_the_check_sees_an_import_inside_a_function(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    path.write_text(
        "def f():\n    from popbase.ops import ingest\n    import popbase.pipeline\n",
        encoding="utf-8",
    )
    assert {"popbase.ops.ingest", "popbase.pipeline"} <= imported(path)


@pytest.mark.parametrize("module", sorted(m for m in MODULES if not m.startswith("popbase.store")))
def test_the_graph_is_reached_only_through_the_store(module: str) -> None:
    assert "popbase.store.ladybug_store" not in imported(MODULES[module]), module
