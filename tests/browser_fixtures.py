"""The real server and headless Chromium, for the dashboard's tests.

Load with ``pytest_plugins = ["browser_fixtures"]``. ``serve_city`` starts ``popbase
serve`` on a free port; ``chromium`` is a session's headless Chromium (skipped where
Debian's chromium is missing); ``open_dashboard`` signs a user in through the page's own
form and records what the page asked of the network and said on its console.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from popbase.config import load_project
from popbase.security.access import load_roles
from popbase.security.users import UserStore, hasher_for
from popbase.web import CHROMIUM_ARGS

CHROMIUM = Path("/usr/bin/chromium")
IDLE_TIMEOUT_MS = 60_000
VIEWPORT = {"width": 1440, "height": 900}
PASSWORD = "a long enough password"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_until_up(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"the server exited with {server.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    pytest.fail(f"the server did not answer {url} within 30 s:\n{log.read_text()}")


def add_user(city: Path, name: str, role: str, scope: str) -> None:
    """Add a user of ``role`` and ``scope`` to the city's users (OWASP's floor cost)."""
    project = load_project(city)
    store = UserStore(
        project.path(project.config.access.users), load_roles(), hasher_for(2, 19456, 1)
    )
    store.add(name, role, scope, PASSWORD)


@contextmanager
def serve_city(city: Path, log: Path, workers: int = 1) -> Iterator[str]:
    """``popbase serve`` of ``city`` on a free local port; yields its base URL."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing; `make system` installs Debian's chromium")
    port = free_port()
    command = [
        *(sys.executable, "-m", "popbase", "serve", str(city)),
        *("--port", str(port), "--workers", str(workers)),
    ]
    with log.open("wb") as out:
        server = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(f"{base}/", server, log)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=10)


def token(base: str, user: str) -> str:
    request = urllib.request.Request(
        f"{base}/api/token",
        data=json.dumps({"username": user, "password": PASSWORD}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as response:
        return str(json.load(response)["access_token"])


def api_get(base: str, path: str, user: str) -> Any:
    request = urllib.request.Request(
        base + path, headers={"Authorization": f"Bearer {token(base, user)}"}
    )
    with urllib.request.urlopen(request) as response:
        return json.load(response)


@dataclass
class Dashboard:
    """The loaded page and what it did on the network and the console."""

    page: Any
    base: str
    requests: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def evaluate(self, script: str, arg: Any = None) -> Any:
        return self.page.evaluate(script, arg)

    def assert_clean(self) -> None:
        assert self.errors == []
        assert self.failed == []
        # Only this server: no tiles, fonts or glyphs from any other host.
        off_site = [
            u for u in self.requests if not u.startswith((self.base + "/", "data:", "blob:"))
        ]
        assert off_site == []


def sign_in(page: Any, base: str, user: str, password: str) -> None:
    """Open the dashboard, sign in through its form and wait for the map."""
    page.goto(base + "/")
    page.locator("#login-user").fill(user)
    page.locator("#login-password").fill(password)
    page.locator("#login-submit").click()
    page.wait_for_selector(
        "body[data-map-state=idle], body[data-map-state=error]", timeout=IDLE_TIMEOUT_MS
    )


@contextmanager
def open_dashboard(chromium: Any, base: str, user: str) -> Iterator[Dashboard]:
    """A new page signed in as ``user``, recording requests, failures and errors."""
    page = chromium.new_page(viewport=VIEWPORT)
    board = Dashboard(page, base)
    page.on("request", lambda r: board.requests.append(r.url))
    page.on("requestfailed", lambda r: board.failed.append(f"{r.url}: {r.failure}"))
    page.on("pageerror", lambda e: board.errors.append(f"page error: {e}"))
    page.on(
        "console",
        lambda m: board.errors.append(f"console: {m.text}") if m.type == "error" else None,
    )
    sign_in(page, base, user, PASSWORD)
    try:
        yield board
    finally:
        page.close()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Headless Chromium; each test opens pages of its own (a page is a fresh session).

    One per test module: while Playwright's synchronous API is open it keeps an event
    loop running in the main thread, which other modules' ``asyncio.run`` cannot share.
    """
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing; `make system` installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS))
        try:
            yield browser
        finally:
            browser.close()
