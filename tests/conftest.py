"""Shared fixtures, one section per topic."""

from __future__ import annotations

import shutil
import warnings
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import duckdb
import pandas as pd
import pytest

with warnings.catch_warnings():
    # Starlette's TestClient asks for httpx2 and still works with httpx.
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

from popbase.api import create_app
from popbase.api.gate import Gate
from popbase.config import AccessConfig, PasswordHashConfig, load_project
from popbase.ops.snapshot import current_snapshot
from popbase.pipeline import run
from popbase.sample.city import SampleOptions, generate_sample

# The browser helpers are imported by several test modules: loaded here, before them, so
# that pytest rewrites their assertions.
pytest_plugins = ["browser_fixtures"]

# Fixture modules are plugins (`pytest_plugins`), not modules to search for doctests.
collect_ignore = [
    "browser_fixtures.py",
    "point_city_fixtures.py",
    "sample_fixtures.py",
    "space_fixtures.py",
]

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


@pytest.fixture(scope="session")
def served_sql(served_project: Path) -> Callable[[str], pd.DataFrame]:
    """``served_sql(sql)``: a query's result on the built city's served base."""
    db = current_snapshot(served_project).base_db

    def query(sql: str) -> pd.DataFrame:
        with duckdb.connect(str(db), read_only=True) as con:
            return con.execute(sql).df()

    return query


# ---------------------------------------------------------------------------------------
# Signed-in API clients: a gate with its own users file and audit trail
# ---------------------------------------------------------------------------------------

API_PASSWORD = "a long enough password"


@pytest.fixture(scope="session")
def signed_in_client() -> Callable[..., TestClient]:
    """``signed_in_client(output_dir, access_dir, role, scope)``: see :func:`_signed_in`."""
    return _signed_in


@pytest.fixture(scope="session")
def clients_by_role() -> Callable[..., AbstractContextManager[Callable[..., TestClient]]]:
    """``with clients_by_role(make) as client_of:`` — ``client_of(role, scope)`` opens
    ``make(role, scope)`` once per role and scope; all are closed at the end."""
    return _clients_by_role


@contextmanager
def _clients_by_role(
    make: Callable[[str, str], TestClient],
) -> Iterator[Callable[..., TestClient]]:
    opened: dict[tuple[str, str], TestClient] = {}

    def client(role: str, scope: str = "3101") -> TestClient:
        if (role, scope) not in opened:
            opened[role, scope] = make(role, scope)
            opened[role, scope].__enter__()
        return opened[role, scope]

    try:
        yield client
    finally:
        for c in opened.values():
            c.__exit__(None, None, None)


def _signed_in(
    output_dir: Path, access_dir: Path, role: str = "admin", scope: str = "3101"
) -> TestClient:
    """A test client of the app over ``output_dir``, signed in as a user of ``role``.

    The users file and audit trail live in ``access_dir``; hashes take OWASP's floor cost.
    Use it as a context manager, like any ``TestClient``.
    """
    access = AccessConfig(
        users=access_dir / "users.json",
        audit_log=access_dir / "audit.log",
        password_hash=PasswordHashConfig(time_cost=2, memory_kib=19456, parallelism=1),
    )
    gate = Gate(output_dir, access, access_dir)
    name = f"{role}-{scope}"
    if name not in gate.users.users():
        gate.users.add(name, role, scope, API_PASSWORD)
    client = TestClient(create_app(output_dir, gate))
    issued = gate.login(name, API_PASSWORD)
    assert issued is not None
    client.headers["Authorization"] = f"Bearer {issued[0]}"
    return client
