"""``popbase serve --workers N``: the real server processes, their port and their upkeep."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from popbase.api.workers import ServeError, check_port_free, spreads_connections
from popbase.config import load_project
from popbase.ops.snapshot import PERSON_CARDS_FILE, current_snapshot

pytestmark = pytest.mark.skipif(not spreads_connections(), reason="needs Linux SO_REUSEPORT")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(conn: socket.socket, path: str) -> tuple[int, bytes]:
    """One keep-alive GET on an open connection: the status and the body."""
    conn.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    data = b""
    while b"\r\n\r\n" not in data:
        data += conn.recv(4096)
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    length = next(
        int(v) for k, _, v in (h.partition(":") for h in lines) if k.lower() == "content-length"
    )
    while len(body) < length:
        body += conn.recv(4096)
    return int(lines[0].split()[1]), body


def _worker_of(port: int) -> int:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        status, body = _get(conn, "/healthz")
        assert status == 200
        return int(json.loads(body)["worker"])


def _wait_for_workers(port: int, server: subprocess.Popen[bytes], count: int) -> set[int]:
    seen: set[int] = set()
    deadline = time.monotonic() + 60
    while len(seen) < count:
        assert server.poll() is None, f"the server exited with {server.returncode}"
        assert time.monotonic() < deadline, f"only {len(seen)} of {count} workers answered"
        try:
            seen.add(_worker_of(port))
        except OSError:
            time.sleep(0.2)
    return seen


@pytest.fixture()
def served(copy_city: Callable[..., Path]) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """``popbase serve --workers 2`` on a copy of the built city, and its port."""
    port = _free_port()
    command = [sys.executable, "-m", "popbase", "serve", str(copy_city()), "--port", str(port)]
    server = subprocess.Popen([*command, "--workers", "2"], stdout=subprocess.DEVNULL)
    try:
        yield port, server
    finally:
        server.terminate()
        server.wait(timeout=60)


def test_a_burst_of_connections_is_spread_over_the_workers(
    served: tuple[int, subprocess.Popen[bytes]],
) -> None:
    port, server = served
    _wait_for_workers(port, server, 2)
    # Forty connections opened at once, as forty dashboards would: each worker takes a
    # share (all on one, or 4 of 40, has odds below one in a million by the hash).
    conns = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(40)]
    try:
        workers = Counter(int(json.loads(_get(c, "/healthz")[1])["worker"]) for c in conns)
    finally:
        for c in conns:
            c.close()
    assert len(workers) == 2
    assert min(workers.values()) >= 5, workers


def test_a_worker_that_dies_is_replaced_and_sigterm_stops_them_all(
    served: tuple[int, subprocess.Popen[bytes]],
) -> None:
    port, server = served
    first = _wait_for_workers(port, server, 2)
    victim = min(first)
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 60
    seen: set[int] = set()
    while not (seen - first):
        assert server.poll() is None, f"the server exited with {server.returncode}"
        assert time.monotonic() < deadline, "no new worker answered after one was killed"
        try:
            seen.add(_worker_of(port))
        except OSError:
            time.sleep(0.2)
    workers = (first - {victim}) | (seen - first)
    server.terminate()
    assert server.wait(timeout=60) == 0
    for pid in workers:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)  # no worker outlives the server


def test_a_port_in_use_is_refused_with_the_fix() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = int(taken.getsockname()[1])
        with pytest.raises(ServeError, match=f"127.0.0.1:{port}.*--port"):
            check_port_free("127.0.0.1", port)
    check_port_free("127.0.0.1", port)  # free again once closed


def test_workers_that_fail_at_their_start_stop_the_server_with_a_message(
    copy_city: Callable[..., Path],
) -> None:
    city = copy_city()
    # A damaged lookup file: the app cannot start, and would fail again at each restart.
    cards = current_snapshot(load_project(city).output_dir).path / PERSON_CARDS_FILE
    cards.write_bytes(b"not an arrow file")
    command = [sys.executable, "-m", "popbase", "serve", str(city), "--workers", "2"]
    done = subprocess.run(
        [*command, "--port", str(_free_port())], capture_output=True, text=True, timeout=120
    )
    assert done.returncode != 0
    assert "a server process ended at its start" in done.stdout + done.stderr


def test_no_worker_outlives_a_killed_server(
    served: tuple[int, subprocess.Popen[bytes]],
) -> None:
    port, server = served
    workers = _wait_for_workers(port, server, 2)
    server.kill()  # SIGKILL: the server cannot stop its workers itself
    server.wait(timeout=10)
    deadline = time.monotonic() + 60
    for pid in workers:
        while _alive(pid):
            assert time.monotonic() < deadline, f"worker {pid} outlived its server"
            time.sleep(0.2)
    with pytest.raises(OSError):
        _worker_of(port)  # and nothing answers on the port any more


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A worker that has ended but is not yet reaped is a zombie: it serves nothing.
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
