"""Limits on guessing: sign-in lockout and back-off, and exact lookups that miss.

Three counters, kept in one small SQLite file (``access.throttle.store``) so that the
processes of ``popbase serve --workers N`` share them — a guesser spread over workers
counts once:

- wrong passwords per user name: after ``sign_in_failures`` of them the name is locked
  for ``lock_seconds``, doubled with each further failure up to ``max_lock_seconds``;
  a success, or ``failure_memory_seconds`` without a failure, forgets them. Unknown
  names count alike, so a lock says nothing about whether a name exists.
- sign-ins per client address: a token bucket of ``address_burst``, refilled one per
  ``address_refill_seconds``; each try takes a token and a right password gives it
  back, so guessers over many names get a few tries a minute, while a street office
  behind one address signs in freely. Behind
  a reverse proxy, the address is the last one of ``X-Forwarded-For`` when the proxy is
  listed in ``trusted_proxies``.
- exact lookups that find no one (by ID number: a miss, or a person outside the
  caller's jurisdiction, which is answered as a miss), per user: after
  ``lookup_misses`` in ``lookup_window_seconds`` the user's exact lookups are refused
  until the oldest miss leaves the window, and after ``lookup_misses_per_day`` in 24
  hours until the oldest of those is a day old. Confirming candidates of a masked ID
  number one by one is such a run of misses.

Each answer is the number of seconds to wait (0: go ahead), for a 429 ``Retry-After``.
Every change is one ``BEGIN IMMEDIATE`` transaction, so the processes never lose a count.
"""

from __future__ import annotations

import asyncio
import fcntl
import math
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool

from popbase.config.settings import ThrottleConfig

DAY_SECONDS = 86_400.0
T = TypeVar("T")
SCHEMA = """
CREATE TABLE IF NOT EXISTS failures (
    name TEXT PRIMARY KEY, count INTEGER NOT NULL, last REAL NOT NULL,
    locked_until REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS buckets (
    address TEXT PRIMARY KEY, tokens REAL NOT NULL, updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS misses (user TEXT NOT NULL, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS misses_user ON misses (user, at);
"""


def lock_seconds(failures: int, settings: ThrottleConfig) -> float:
    """How long a user is locked after ``failures`` wrong passwords in a row.

    Examples
    --------
    >>> s = ThrottleConfig(sign_in_failures=5, lock_seconds=30, max_lock_seconds=3600)
    >>> [lock_seconds(n, s) for n in (4, 5, 6, 7, 20)]
    [0.0, 30.0, 60.0, 120.0, 3600.0]
    """
    over = failures - settings.sign_in_failures
    if over < 0:
        return 0.0
    return float(min(settings.max_lock_seconds, settings.lock_seconds * 2.0 ** min(over, 60)))


def refilled(tokens: float, elapsed: float, settings: ThrottleConfig) -> float:
    """A bucket's tokens after ``elapsed`` seconds, at most ``address_burst``.

    >>> s = ThrottleConfig(address_burst=10, address_refill_seconds=6)
    >>> refilled(0.0, 12.0, s), refilled(9.5, 60.0, s), refilled(3.0, -5.0, s)
    (2.0, 10.0, 3.0)
    """
    # A clock set back (or another process's clock) must not take tokens away.
    earned = max(0.0, elapsed) / settings.address_refill_seconds
    return min(float(settings.address_burst), tokens + earned)


def retry_after(seconds: float) -> str:
    """A ``Retry-After`` header value: whole seconds, at least 1.

    >>> retry_after(0.2), retry_after(29.01)
    ('1', '30')
    """
    return str(max(1, math.ceil(seconds)))


class Throttle:
    """The shared counters of one served project.

    Parameters
    ----------
    path
        The SQLite file (created with its folder, readable by its owner only).
    settings
        The limits.
    """

    def __init__(self, path: Path, settings: ThrottleConfig) -> None:
        self.path = Path(path)
        self.settings = settings
        self._local = threading.local()

    def _db(self) -> sqlite3.Connection:
        # One connection per thread: sqlite3 connections are not shared across threads.
        con: sqlite3.Connection | None = getattr(self._local, "con", None)
        if con is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.touch(mode=0o600, exist_ok=True)
            con = sqlite3.connect(self.path, timeout=10.0, isolation_level=None)
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA synchronous=NORMAL")  # counters, not records: a crash may lose one
            con.executescript(SCHEMA)
            self._local.con = con
        return con

    def _transaction(self) -> sqlite3.Connection:
        con = self._db()
        con.execute("BEGIN IMMEDIATE")
        return con

    # ---- sign-in ----

    def sign_in_wait(self, name: str, address: str, now: float | None = None) -> float:
        """Seconds before ``name`` may try a password from ``address`` (0: try now).

        A try let through takes a token of the address's bucket, given back if the
        password is right (:meth:`sign_in_succeeded`): guessers at once cannot pass
        more tries than the bucket holds, and a morning's burst of right ones never waits.
        """
        now = time.time() if now is None else now
        con = self._transaction()
        try:
            row = con.execute("SELECT locked_until FROM failures WHERE name = ?", [name]).fetchone()
            if row is not None and row[0] > now:
                con.execute("COMMIT")
                return float(row[0] - now)
            tokens = self._tokens(con, address, now)
            wait = 0.0
            if tokens >= 1.0:
                tokens -= 1.0
            else:
                wait = (1.0 - tokens) * self.settings.address_refill_seconds
            self._set_tokens(con, address, tokens, now)
            con.execute("COMMIT")
            return wait
        except BaseException:
            con.execute("ROLLBACK")
            raise

    def _tokens(self, con: sqlite3.Connection, address: str, now: float) -> float:
        got = con.execute(
            "SELECT tokens, updated FROM buckets WHERE address = ?", [address]
        ).fetchone()
        if got is None:
            return float(self.settings.address_burst)
        return refilled(got[0], now - got[1], self.settings)

    @staticmethod
    def _set_tokens(con: sqlite3.Connection, address: str, tokens: float, now: float) -> None:
        con.execute(
            "INSERT INTO buckets VALUES (?, ?, ?) ON CONFLICT (address) DO UPDATE "
            "SET tokens = excluded.tokens, updated = excluded.updated",
            [address, tokens, now],
        )

    def sign_in_failed(self, name: str, now: float | None = None) -> float:
        """Count a wrong password for ``name``; the lock it now has, in seconds (0: none)."""
        now = time.time() if now is None else now
        con = self._transaction()
        try:
            row = con.execute("SELECT count, last FROM failures WHERE name = ?", [name]).fetchone()
            recent = row is not None and now - row[1] <= self.settings.failure_memory_seconds
            count = (row[0] if recent and row else 0) + 1
            lock = lock_seconds(count, self.settings)
            con.execute(
                "INSERT INTO failures VALUES (?, ?, ?, ?) ON CONFLICT (name) DO UPDATE "
                "SET count = excluded.count, last = excluded.last, "
                "locked_until = excluded.locked_until",
                [name, count, now, now + lock],
            )
            con.execute("COMMIT")
            return lock
        except BaseException:
            con.execute("ROLLBACK")
            raise

    def sign_in_succeeded(self, name: str, address: str, now: float | None = None) -> None:
        """Forget the failures of ``name``; give ``address`` back the token its try took."""
        now = time.time() if now is None else now
        con = self._transaction()
        try:
            con.execute("DELETE FROM failures WHERE name = ?", [name])
            tokens = min(float(self.settings.address_burst), self._tokens(con, address, now) + 1)
            self._set_tokens(con, address, tokens, now)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise

    # ---- exact lookups ----

    def lookup_wait(self, user: str, now: float | None = None) -> float:
        """Seconds before ``user`` may look a person up exactly again (0: now)."""
        now = time.time() if now is None else now
        wait = 0.0
        for limit, window in self._lookup_windows():
            rows = (
                self._db()
                .execute(
                    "SELECT at FROM misses WHERE user = ? AND at > ? ORDER BY at DESC LIMIT ?",
                    [user, now - window, limit],
                )
                .fetchall()
            )
            if len(rows) >= limit:
                # The oldest of the last `limit` misses must leave the window first.
                wait = max(wait, float(rows[-1][0] + window - now))
        return wait

    def _lookup_windows(self) -> list[tuple[int, float]]:
        return [
            (self.settings.lookup_misses, self.settings.lookup_window_seconds),
            (self.settings.lookup_misses_per_day, DAY_SECONDS),
        ]

    def missed(self, user: str, now: float | None = None) -> int:
        """Count an exact lookup of ``user`` that found no one; the misses in the window."""
        now = time.time() if now is None else now
        window = self.settings.lookup_window_seconds
        kept = max(w for _, w in self._lookup_windows())
        con = self._transaction()
        try:
            con.execute("DELETE FROM misses WHERE at <= ?", [now - kept])
            con.execute("INSERT INTO misses VALUES (?, ?)", [user, now])
            (count,) = con.execute(
                "SELECT count(*) FROM misses WHERE user = ? AND at > ?", [user, now - window]
            ).fetchone()
            con.execute("COMMIT")
            return int(count)
        except BaseException:
            con.execute("ROLLBACK")
            raise


class HasherBusyError(Exception):
    """More sign-ins wait for the password hasher than the queue holds."""


class BoundedHashing:
    """Password checks one at a time, with a short queue; beyond it, refuse at once.

    Argon2id takes tens of milliseconds and 64 MiB per check, on as many threads as its
    parallelism: unbounded, a few anonymous guessers hold every worker thread and core,
    and signed-in requests wait behind them. Here one check runs at a time in each
    process, and — under an exclusive lock on ``lock_path``, when given — one at a time
    across the server's processes, so the other cores stay with signed-in requests. Up
    to ``queue`` more checks wait on the event loop (holding no thread); the next is
    refused at once (:class:`HasherBusyError`, answered 503 with ``Retry-After``).

    Parameters
    ----------
    queue
        Checks that may wait in this process.
    lock_path
        A file the processes of one server lock around each check; None: no lock.
    """

    def __init__(self, queue: int, lock_path: Path | None = None) -> None:
        self.queue = queue
        self.lock_path = lock_path
        self._waiting = 0
        # A semaphore per event loop: a test client or server each runs its own loop.
        self._slots: dict[int, asyncio.Semaphore] = {}

    def _locked(self, check: Callable[..., T], *args: Any) -> T:
        if self.lock_path is None:
            return check(*args)
        self.lock_path.parent.mkdir(parents=True, exist_ok=True)
        with self.lock_path.open("a") as lock:
            # One thread of this process waits here at most: the semaphore lets one by.
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                return check(*args)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    async def run(self, check: Callable[..., T], *args: Any) -> T:
        """Run ``check(*args)`` on a worker thread when its turn comes."""
        loop = asyncio.get_running_loop()
        slot = self._slots.setdefault(id(loop), asyncio.Semaphore(1))
        if slot.locked() and self._waiting >= self.queue:
            raise HasherBusyError
        self._waiting += 1
        try:
            await slot.acquire()
        finally:
            self._waiting -= 1
        try:
            return await run_in_threadpool(self._locked, check, *args)
        finally:
            slot.release()
