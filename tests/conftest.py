"""Shared fixtures, one section per topic."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from popbase.config import load_project
from popbase.pipeline import run
from popbase.sample.city import SampleOptions, generate_sample

# Fixture modules are plugins (`pytest_plugins`), not modules to search for doctests.
collect_ignore = ["sample_fixtures.py", "space_fixtures.py"]

# ---------------------------------------------------------------------------------------
# Built city: a tiny sample city and one real build of it, shared by the whole session
# ---------------------------------------------------------------------------------------

# 2 streets x 3 committees, 1,500 persons: generated in ~2 s, built in ~2 s.
TINY_CITY = SampleOptions(persons=1500, seed=3, streets=2, communities_per_street=3)


@pytest.fixture(scope="session")
def built_city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder of a tiny sample city with one finished build (``current`` is set).

    Shared by the session: tests must not change it; copy it with ``copy_city`` first.
    """
    folder = tmp_path_factory.mktemp("city") / "project"
    generate_sample(folder, TINY_CITY)
    run(load_project(folder))
    return folder


@pytest.fixture(scope="session")
def copy_city(built_city: Path, tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """Copy the built city (sources, basemap, truth, key and snapshots) to change it freely.

    ``copy_city()`` returns a new copy's folder; ``copy_city(snapshots=False)`` leaves out
    the finished build, so the copy has no ``current`` yet.
    """

    def copy(*, snapshots: bool = True) -> Path:
        dst = tmp_path_factory.mktemp("city_copy") / "project"
        skip = () if snapshots else ("snapshots", "current")
        # `current` is a relative link, so the copy's points at the copy's snapshot.
        shutil.copytree(built_city, dst, symlinks=True, ignore=shutil.ignore_patterns(*skip))
        return dst

    return copy


# ---------------------------------------------------------------------------------------
# Served base: a published snapshot of a small sample city, for the API and the dashboard
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def served_project(built_city: Path) -> Path:
    """The output folder of the built city, whose current snapshot the API serves."""
    return load_project(built_city).output_dir
