"""API latency under load: the real server process, 50 concurrent clients over loopback.

Run by ``bench/run.py`` after each build (step ``api``). It adds two users to the built
project with ``popbase users add`` (a committee worker and a district officer, default
Argon2id cost), starts ``popbase serve`` on a free local port, signs both in, and then
runs 50 client threads at once, each with its own keep-alive connection, each sending
``--requests`` requests alternating between:

- a community roll-up: ``GET /api/residency?unit=<committee>`` as the district officer
  (the committee's counts and those of its grids);
- a person lookup: ``GET /api/persons/<id>`` as the committee worker, for persons of
  that committee drawn at random.

Each request is audited like any other. p50 and p99 latencies are reported per kind, in
milliseconds, with the requests per second the server sustained.
"""

from __future__ import annotations

import random
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import duckdb
import httpx

CLIENTS = 50
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


BENCH_USERS = ("bench_committee", "bench_district")


def _remove_bench_users(folder: Path) -> None:
    for name in BENCH_USERS:
        _popbase("users", "remove", str(folder), name, check=False)


def api_figures(folder: Path, requests_per_client: int = 40, seed: int = 0) -> dict[str, Any]:
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
    _remove_bench_users(folder)
    _popbase("users", "add", str(folder), "bench_committee", "--role", "community_worker",
             "--scope", community, "--password-stdin", stdin=PASSWORD + "\n")  # fmt: skip
    _popbase("users", "add", str(folder), "bench_district", "--role", "district_officer",
             "--scope", district, "--password-stdin", stdin=PASSWORD + "\n")  # fmt: skip
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "popbase", "serve", str(folder), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(300):
            try:
                # The page needs no sign-in: it answers as soon as the server is up.
                if httpx.get(f"{url}/", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        tokens = {}
        for name in BENCH_USERS:
            r = httpx.post(f"{url}/api/token", json={"username": name, "password": PASSWORD})
            r.raise_for_status()
            tokens[name] = {"Authorization": f"Bearer {r.json()['access_token']}"}
        rollups: list[float] = []
        lookups: list[float] = []
        failures: list[int] = []
        lock = threading.Lock()
        start_line = threading.Barrier(CLIENTS)

        def client(k: int) -> None:
            rng = random.Random(seed + k)
            mine_r: list[float] = []
            mine_l: list[float] = []
            bad: list[int] = []
            with httpx.Client(base_url=url, timeout=30) as c:
                c.get("/api/residency", params={"unit": community},
                      headers=tokens["bench_district"])  # fmt: skip
                start_line.wait()
                for i in range(requests_per_client):
                    t = time.perf_counter()
                    if (i + k) % 2:
                        r = c.get("/api/residency", params={"unit": community},
                                  headers=tokens["bench_district"])  # fmt: skip
                        mine_r.append(time.perf_counter() - t)
                    else:
                        r = c.get(f"/api/persons/{rng.choice(persons)}",
                                  headers=tokens["bench_committee"])  # fmt: skip
                        mine_l.append(time.perf_counter() - t)
                    if r.status_code != 200:
                        bad.append(r.status_code)
            with lock:
                rollups.extend(mine_r)
                lookups.extend(mine_l)
                failures.extend(bad)

        threads = [threading.Thread(target=client, args=(k,)) for k in range(CLIENTS)]
        began = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - began
    finally:
        server.terminate()
        server.wait(timeout=30)
        _remove_bench_users(folder)
    if failures:
        raise RuntimeError(f"{len(failures)} requests failed: {sorted(set(failures))}")
    return {
        "clients": CLIENTS,
        "community_rollup": _percentiles(rollups),
        "person_lookup": _percentiles(lookups),
        "requests_per_second": round((len(rollups) + len(lookups)) / elapsed, 1),
    }


if __name__ == "__main__":
    import json

    print(json.dumps(api_figures(Path(sys.argv[1])), indent=2))
