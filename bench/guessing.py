"""Signed-in throughput while anonymous clients guess passwords.

``python bench/guessing.py PROJECT [--seconds 15] [--guessers 10]`` adds a city officer
to a built project (``popbase users add``, the project's Argon2id cost), starts
``popbase serve --workers 2`` on a free local port, signs the officer in, and runs for
the given time 20 signed-in clients, each on its own keep-alive connection sending
``GET /api/persons/<id>`` one after another, while ``--guessers`` clients post wrong
passwords to ``/api/token`` as fast as they are answered (ignoring ``Retry-After``,
as a guesser would). It prints, as JSON, the signed-in requests per second with their
p50 and p99 latency, and the guesses answered per status (401: a password checked;
429/503: refused before any check). With ``--guessers 0`` it gives the baseline.

The server runs the popbase that ``PYTHONPATH`` names, so one machine compares two
versions on copies of one project.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import duckdb
import httpx

SIGNED_IN = 20
WORKERS = 2
PASSWORD = "bench password 2026"
USER = "bench_officer"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _popbase(*args: str, stdin: str | None = None) -> None:
    subprocess.run(
        [sys.executable, "-m", "popbase", *args], input=stdin, text=True, capture_output=True
    )


async def _answer(reader: asyncio.StreamReader) -> int:
    status = int((await reader.readline()).split()[1])
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    await reader.readexactly(length)
    return status


async def _run(
    port: int, token: str, persons: list[str], seconds: float, guessers: int
) -> dict[str, object]:
    times: list[float] = []
    guesses: Counter[int] = Counter()
    stop = time.perf_counter() + seconds

    async def signed_in(k: int) -> None:
        rng = random.Random(k)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while time.perf_counter() < stop:
            t = time.perf_counter()
            writer.write(
                f"GET /api/persons/{rng.choice(persons)} HTTP/1.1\r\nHost: x\r\n"
                f"Authorization: Bearer {token}\r\n\r\n".encode()
            )
            if await _answer(reader) == 200:
                times.append(time.perf_counter() - t)
        writer.close()

    async def guesser(k: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        n = 0
        while time.perf_counter() < stop:
            n += 1
            body = json.dumps({"username": f"user{k}", "password": f"guess {k} {n}"}).encode()
            writer.write(
                b"POST /api/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            guesses[await _answer(reader)] += 1
        writer.close()

    began = time.perf_counter()
    await asyncio.gather(
        *(signed_in(k) for k in range(SIGNED_IN)), *(guesser(k) for k in range(guessers))
    )
    elapsed = time.perf_counter() - began
    ordered = sorted(times)
    return {
        "guessers": guessers,
        "signed_in_requests_per_s": round(len(times) / elapsed, 1),
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p99_ms": round(ordered[round(0.99 * (len(ordered) - 1))] * 1000, 1),
        "guesses_by_status": dict(sorted(guesses.items())),
    }


def main() -> None:
    """Run the bench on the project given on the command line."""
    parser = argparse.ArgumentParser()
    parser.add_argument("project", type=Path)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--guessers", type=int, default=10)
    args = parser.parse_args()
    project = args.project
    db = next(p for p in (project / "current").glob("*.duckdb") if p.name.startswith("base"))
    with duckdb.connect(str(db), read_only=True) as con:
        persons = [r[0] for r in con.execute("SELECT person_id FROM person_cards").fetchall()]
        city = con.execute("SELECT min(code) FROM units WHERE level = 'city'").fetchone()
    scope = str(city[0])[:4] if city and city[0] else "3101"
    _popbase("users", "remove", str(project), USER)
    _popbase(
        "users", "add", str(project), USER, "--role", "city_officer", "--scope", scope,
        "--password-stdin", stdin=PASSWORD + "\n",
    )  # fmt: skip
    port = _free_port()
    serve = ["serve", str(project), "--port", str(port), "--workers", str(WORKERS)]
    server = subprocess.Popen([sys.executable, "-m", "popbase", *serve], env=os.environ.copy())
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.2)
        time.sleep(3)  # the second worker
        signed = httpx.post(f"{url}/api/token", json={"username": USER, "password": PASSWORD})
        token = signed.json()["access_token"]
        figures = asyncio.run(_run(port, token, persons, args.seconds, args.guessers))
        sys.stdout.write(json.dumps(figures) + "\n")
    finally:
        server.terminate()
        server.wait(30)
        _popbase("users", "remove", str(project), USER)


if __name__ == "__main__":
    main()
