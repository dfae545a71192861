"""Limits on guessing: sign-in lockout and back-off, address buckets, lookups that miss."""

from __future__ import annotations

import asyncio
import multiprocessing
import threading
import time
import warnings
from pathlib import Path

import pytest

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

from popbase.api import create_app
from popbase.api.gate import Gate
from popbase.config.settings import AccessConfig, PasswordHashConfig, ThrottleConfig
from popbase.security.throttle import DAY_SECONDS, BoundedHashing, HasherBusyError, Throttle

PASSWORD = "a long enough password"
CHEAP = PasswordHashConfig(time_cost=2, memory_kib=19456, parallelism=1)


def throttle(tmp_path: Path, **limits: float) -> Throttle:
    settings = ThrottleConfig(**limits)  # type: ignore[arg-type]
    return Throttle(tmp_path / "throttle.sqlite", settings)


def test_wrong_passwords_lock_a_name_for_a_doubling_time(tmp_path: Path) -> None:
    t = throttle(tmp_path, sign_in_failures=5, lock_seconds=30, address_burst=1000)
    now = 1000.0
    for _ in range(4):
        assert t.sign_in_wait("wang", "10.0.0.1", now) == 0
        assert t.sign_in_failed("wang", now) == 0
    assert t.sign_in_failed("wang", now) == 30  # the fifth
    assert t.sign_in_wait("wang", "10.0.0.2", now + 10) == pytest.approx(20)  # any address
    assert t.sign_in_wait("li", "10.0.0.1", now + 10) == 0  # another name is not locked
    assert t.sign_in_wait("wang", "10.0.0.1", now + 31) == 0
    assert t.sign_in_failed("wang", now + 31) == 60  # the sixth doubles the lock
    assert t.sign_in_failed("wang", now + 92) == 120
    t.sign_in_succeeded("wang", "10.0.0.1", now + 92)
    assert t.sign_in_wait("wang", "10.0.0.1", now + 93) == 0
    assert t.sign_in_failed("wang", now + 93) == 0  # counting starts again


def test_failures_long_past_are_forgotten(tmp_path: Path) -> None:
    t = throttle(tmp_path, sign_in_failures=2, failure_memory_seconds=60)
    t.sign_in_failed("wang", 0)
    assert t.sign_in_failed("wang", 61) == 0  # the first is forgotten
    assert t.sign_in_failed("wang", 62) > 0


def test_an_address_gets_a_burst_of_sign_ins_then_one_per_interval(tmp_path: Path) -> None:
    t = throttle(tmp_path, address_burst=3, address_refill_seconds=6)
    assert [t.sign_in_wait(f"u{i}", "10.0.0.9", 0) for i in range(3)] == [0, 0, 0]
    assert t.sign_in_wait("u3", "10.0.0.9", 0) == pytest.approx(6)
    assert t.sign_in_wait("u4", "10.0.0.8", 0) == 0  # another address has its own bucket
    assert t.sign_in_wait("u5", "10.0.0.9", 6) == 0
    assert t.sign_in_wait("u6", "10.0.0.9", 7) == pytest.approx(5)


def test_right_passwords_give_their_token_back(tmp_path: Path) -> None:
    """A street office behind one address: fifty sign-ins in a minute, all right."""
    t = throttle(tmp_path, address_burst=3)
    for i in range(50):
        assert t.sign_in_wait(f"officer{i}", "10.0.0.9", i) == 0
        t.sign_in_succeeded(f"officer{i}", "10.0.0.9", i)


def test_misses_in_a_window_throttle_exact_lookups_until_the_oldest_leaves(
    tmp_path: Path,
) -> None:
    t = throttle(tmp_path, lookup_misses=3, lookup_window_seconds=100)
    assert [t.missed("wang", at) for at in (0, 10, 20)] == [1, 2, 3]
    assert t.lookup_wait("wang", 30) == pytest.approx(70)
    assert t.lookup_wait("li", 30) == 0
    assert t.lookup_wait("wang", 101) == 0  # the miss at 0 has left the window
    assert t.missed("wang", 101) == 3  # 10, 20 and 101


def test_a_day_caps_misses_that_the_short_window_would_let_through(tmp_path: Path) -> None:
    """Ten misses every quarter of an hour would try every candidate a masked ID leaves
    (500, given a birth date and a sex) in a day; the daily limit stops the run."""
    t = throttle(tmp_path, lookup_misses=10, lookup_window_seconds=900, lookup_misses_per_day=50)
    tried, now = 0, 0.0
    while now < DAY_SECONDS:
        wait = t.lookup_wait("wang", now)
        if wait > 0:
            now += wait
            continue
        t.missed("wang", now)
        tried += 1
    assert tried == 50  # ten a quarter hour for an hour, then nothing until a day has passed
    assert t.lookup_wait("wang", DAY_SECONDS) == 0
    assert t.lookup_wait("li", now) == 0


def _miss_many(path: str, user: str, times: int) -> None:
    t = Throttle(Path(path), ThrottleConfig(lookup_misses=1000, lookup_window_seconds=3600))
    for _ in range(times):
        t.missed(user)


def test_processes_and_threads_share_one_count(tmp_path: Path) -> None:
    path = tmp_path / "throttle.sqlite"
    spawn = multiprocessing.get_context("spawn")
    processes = [spawn.Process(target=_miss_many, args=(str(path), "wang", 40)) for _ in range(3)]
    threads = [threading.Thread(target=_miss_many, args=(str(path), "wang", 40)) for _ in range(2)]
    for w in (*processes, *threads):
        w.start()
    for w in (*processes, *threads):
        w.join(60)
    t = Throttle(path, ThrottleConfig(lookup_misses=200, lookup_window_seconds=3600))
    assert t.missed("wang") == 5 * 40 + 1
    assert t.lookup_wait("wang") > 0
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_password_checks_run_one_at_a_time_and_a_full_queue_is_refused() -> None:
    pool = BoundedHashing(queue=1)
    running: list[int] = []
    peak: list[int] = []

    def check(n: int) -> int:
        running.append(n)
        peak.append(len(running))
        time.sleep(0.05)
        running.remove(n)
        return n

    async def main() -> list[int | str]:
        async def one(n: int) -> int | str:
            try:
                return await pool.run(check, n)
            except HasherBusyError:
                return "busy"

        return list(await asyncio.gather(*(one(n) for n in range(4))))

    results = asyncio.run(main())
    # One runs, one waits, two are refused at once; never two checks at a time.
    assert results == [0, 1, "busy", "busy"]
    assert max(peak) == 1


# ---- through the API ----


@pytest.fixture()
def gate(served_project: Path, tmp_path: Path) -> Gate:
    access = AccessConfig(
        users=tmp_path / "users.json",
        audit_log=tmp_path / "audit.log",
        password_hash=CHEAP,
        throttle=ThrottleConfig(
            sign_in_failures=3, lock_seconds=60, address_burst=8, address_refill_seconds=3600
        ),
    )
    gate = Gate(served_project, access, tmp_path)
    gate.users.add("wang", "street_officer", "310112001", PASSWORD)
    return gate


def sign_in(client: TestClient, password: str, name: str = "wang") -> tuple[int, str | None]:
    r = client.post("/api/token", json={"username": name, "password": password})
    return r.status_code, r.headers.get("retry-after")


def test_a_user_locked_after_wrong_passwords_is_refused_even_the_right_one(
    served_project: Path, gate: Gate
) -> None:
    with TestClient(create_app(served_project, gate)) as client:
        assert sign_in(client, PASSWORD) == (200, None)
        assert [sign_in(client, "wrong password")[0] for _ in range(3)] == [401, 401, 401]
        status, after = sign_in(client, PASSWORD)
        assert status == 429 and after is not None and 55 <= int(after) <= 60
        # An unknown name is locked alike: a lock does not tell which names exist.
        assert [sign_in(client, "wrong password", "nobody")[0] for _ in range(4)] == [
            401,
            401,
            401,
            429,
        ]


def test_an_address_that_keeps_trying_is_made_to_wait(served_project: Path, gate: Gate) -> None:
    with TestClient(create_app(served_project, gate)) as client:
        codes = [sign_in(client, "wrong password", f"name{i}")[0] for i in range(10)]
        assert codes[:8] == [401] * 8 and codes[8:] == [429, 429]
        status, after = sign_in(client, PASSWORD)
        assert status == 429 and after is not None and int(after) >= 1


def test_the_processes_of_a_server_check_one_password_at_a_time(tmp_path: Path) -> None:
    """Two pools (two server processes) sharing a lock file never check at once."""
    lock = tmp_path / "throttle.sqlite.hashing.lock"
    running: list[int] = []
    peak: list[int] = []
    guard = threading.Lock()

    def check(n: int) -> int:
        with guard:
            running.append(n)
            peak.append(len(running))
        time.sleep(0.03)
        with guard:
            running.remove(n)
        return n

    def process(first: int) -> None:
        pool = BoundedHashing(queue=5, lock_path=lock)

        async def main() -> None:
            await asyncio.gather(*(pool.run(check, first + n) for n in range(5)))

        asyncio.run(main())

    workers = [threading.Thread(target=process, args=(k * 10,)) for k in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(30)
    assert len(peak) == 10 and max(peak) == 1


def test_behind_a_trusted_proxy_each_forwarded_address_has_its_own_bucket(
    served_project: Path, tmp_path: Path
) -> None:
    access = AccessConfig(
        users=tmp_path / "users.json",
        audit_log=tmp_path / "audit.log",
        password_hash=CHEAP,
        throttle=ThrottleConfig(
            address_burst=2, address_refill_seconds=3600, trusted_proxies=["testclient"]
        ),
    )
    gate = Gate(served_project, access, tmp_path)

    def guess(client: TestClient, name: str, forwarded: str) -> int:
        body = {"username": name, "password": "wrong password"}
        headers = {"X-Forwarded-For": f"203.0.113.9, {forwarded}"}  # the proxy adds the last
        return client.post("/api/token", json=body, headers=headers).status_code

    with TestClient(create_app(served_project, gate)) as client:
        assert [guess(client, f"n{i}", "10.1.1.1") for i in range(3)] == [401, 401, 429]
        assert guess(client, "n9", "10.1.1.2") == 401
