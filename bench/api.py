"""API latency under load: the real server processes, 50 concurrent clients over loopback.

Run by ``bench/run.py`` after each build (step ``api``). It adds two users to the built
project with ``popbase users add`` (a committee worker and a district officer, default
Argon2id cost), starts ``popbase serve --workers 2`` (one process per core) on a free
local port, signs both in, and then runs 50 clients at once, each on its own keep-alive
connection, each sending its requests one after another (the next as soon as the last
is answered), 200 requests each, alternating between:

- a community roll-up: ``GET /api/residency?unit=<committee>`` as the district officer,
  for committees of the district drawn at random (the committee's counts and those of
  its grids; the first roll-up of each committee is worked out, later ones are not);
- a person lookup: ``GET /api/persons/<id>`` as the committee worker, for persons of
  that committee drawn at random.

The clients are coroutines on one event loop writing plain HTTP/1.1, so that the load
generator, which shares the machine's cores with the server, takes as little of them as
it can. Each request is audited like any other. p50 and p99 latencies are reported per
kind, in milliseconds, with the requests per second the server sustained.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import httpx

CLIENTS = 50
# Server processes: one per core of the bench machine.
WORKERS = 2
PASSWORD = "bench password 2026"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _percentiles(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {
        "requests": len(ordered),
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p99_ms": round(p99 * 1000, 2),
    }


def _popbase(*args: str, stdin: str | None = None, check: bool = True) -> None:
    subprocess.run(
        [sys.executable, "-m", "popbase", *args],
        input=stdin,
        text=True,
        check=check,
        capture_output=True,
    )


def _wait_for_workers(url: str, server: subprocess.Popen[bytes], workers: int) -> None:
    """Wait until every worker process has started (each answers ``/healthz`` once ready).

    A worker that does not listen yet takes no connections: without the wait, the first
    worker up would take all fifty.
    """
    seen: set[int] = set()
    deadline = time.monotonic() + 120
    while len(seen) < workers:
        if server.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the server did not start {workers} workers")
        with contextlib.suppress(httpx.TransportError):
            seen.add(int(httpx.get(f"{url}/healthz", timeout=1).json()["worker"]))
        time.sleep(0.05)


async def _request(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str, token: str
) -> int:
    """Send one keep-alive GET and read its whole answer; return the status."""
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\r\n".encode()
    )
    status = int((await reader.readline()).split()[1])
    length = None
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    if length is None:
        raise RuntimeError(f"{path}: answer without Content-Length")
    await reader.readexactly(length)
    return status


async def _load(
    port: int,
    committees: list[str],
    persons: list[str],
    tokens: dict[str, str],
    requests_per_client: int,
    seed: int,
) -> tuple[list[float], list[float], list[int], float]:
    """50 clients on keep-alive connections, each sending its requests one after another."""
    rollups: list[float] = []
    lookups: list[float] = []
    failures: list[int] = []
    start_line = asyncio.Barrier(CLIENTS)

    async def client(k: int) -> None:
        rng = random.Random(seed + k)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        await _request(
            reader, writer, "/api/residency?unit=" + committees[0], tokens["bench_district"]
        )
        await start_line.wait()
        for i in range(requests_per_client):
            t = time.perf_counter()
            if (i + k) % 2:
                path = f"/api/residency?unit={rng.choice(committees)}"
                status = await _request(reader, writer, path, tokens["bench_district"])
                rollups.append(time.perf_counter() - t)
            else:
                path = f"/api/persons/{rng.choice(persons)}"
                status = await _request(reader, writer, path, tokens["bench_committee"])
                lookups.append(time.perf_counter() - t)
            if status != 200:
                failures.append(status)
        writer.close()

    began = time.perf_counter()
    await asyncio.gather(*(client(k) for k in range(CLIENTS)))
    return rollups, lookups, failures, time.perf_counter() - began


BENCH_USERS = ("bench_committee", "bench_district")


def _remove_bench_users(folder: Path) -> None:
    for name in BENCH_USERS:
        _popbase("users", "remove", str(folder), name, check=False)


def api_figures(
    folder: Path, requests_per_client: int = 200, seed: int = 0, workers: int = WORKERS
) -> dict[str, Any]:
    """Time community roll-ups and person lookups on the project in ``folder``."""
    from popbase.config import load_project
    from popbase.ops.snapshot import current_snapshot

    project = load_project(folder)
    base = current_snapshot(project.output_dir).base_db
    with duckdb.connect(str(base), read_only=True) as con:
        [(community,)] = con.execute(
            "SELECT code FROM units WHERE level = 'community' ORDER BY resident DESC LIMIT 1"
        ).fetchall()
        persons = [
            r[0]
            for r in con.execute(
                "SELECT person_id FROM persons WHERE starts_with(division_code, ?)", [community]
            ).fetchall()
        ]
        district = community[:6]
        committees = [
            r[0]
            for r in con.execute(
                "SELECT code FROM units WHERE level = 'community' AND starts_with(code, ?) "
                "ORDER BY code",
                [district],
            ).fetchall()
        ]
    _remove_bench_users(folder)
    _popbase("users", "add", str(folder), "bench_committee", "--role", "community_worker",
             "--scope", community, "--password-stdin", stdin=PASSWORD + "\n")  # fmt: skip
    _popbase("users", "add", str(folder), "bench_district", "--role", "district_officer",
             "--scope", district, "--password-stdin", stdin=PASSWORD + "\n")  # fmt: skip
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    command = ["serve", str(folder), "--port", str(port), "--workers", str(workers)]
    server = subprocess.Popen(
        [sys.executable, "-m", "popbase", *command],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_workers(url, server, workers)
        tokens = {}
        for name in BENCH_USERS:
            r = httpx.post(f"{url}/api/token", json={"username": name, "password": PASSWORD})
            r.raise_for_status()
            tokens[name] = r.json()["access_token"]
        rollups, lookups, failures, elapsed = asyncio.run(
            _load(port, committees, persons, tokens, requests_per_client, seed)
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
        _remove_bench_users(folder)
    if failures:
        raise RuntimeError(f"{len(failures)} requests failed: {sorted(set(failures))}")
    return {
        "clients": CLIENTS,
        "workers": workers,
        "community_rollup": _percentiles(rollups),
        "person_lookup": _percentiles(lookups),
        "requests_per_second": round((len(rollups) + len(lookups)) / elapsed, 1),
    }


if __name__ == "__main__":
    import json

    workers = int(sys.argv[2]) if len(sys.argv) > 2 else WORKERS
    print(json.dumps(api_figures(Path(sys.argv[1]), workers=workers), indent=2))
