"""The map dashboard in headless Chromium against the real server."""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from popbase.web import CHROMIUM_ARGS

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
IDLE_TIMEOUT_MS = 60_000
VIEWPORT = {"width": 1440, "height": 900}

# Counts the colours of a PNG (quantised to 4 bits a channel) that cover at least
# `minShare` of its pixels, and the share of pixels unlike the top-left (background) one.
COUNT_COLOURS_JS = """
async ([png, minShare]) => {
  const img = new Image();
  img.src = "data:image/png;base64," + png;
  await img.decode();
  const canvas = document.createElement("canvas");
  canvas.width = img.width;
  canvas.height = img.height;
  const ctx = canvas.getContext("2d");
  ctx.drawImage(img, 0, 0);
  const px = ctx.getImageData(0, 0, img.width, img.height).data;
  const counts = new Map();
  const key = (i) => ((px[i] >> 4) << 8) | ((px[i + 1] >> 4) << 4) | (px[i + 2] >> 4);
  const background = key(0);
  let other = 0;
  for (let i = 0; i < px.length; i += 4) {
    const k = key(i);
    counts.set(k, (counts.get(k) || 0) + 1);
    if (k !== background) other += 1;
  }
  const total = px.length / 4;
  const major = [...counts.values()].filter((n) => n / total >= minShare).length;
  return { major, foreground: other / total };
}
"""

# A point on the canvas over a community and no building, with that community's name.
FIND_COMMUNITY_JS = """
() => {
  const map = window.popbaseMap;
  const { width, height } = map.getCanvas().getBoundingClientRect();
  for (let y = height * 0.3; y < height * 0.9; y += 25) {
    for (let x = width * 0.3; x < width * 0.9; x += 25) {
      const layers = ["building-fill", "community-fill"];
      const hits = map.queryRenderedFeatures([x, y], { layers });
      if (hits.length && hits[0].layer.id === "community-fill") {
        return { x, y, name: hits[0].properties.name, code: hits[0].properties.code };
      }
    }
  }
  return null;
}
"""


def _free_port() -> int:
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


@pytest.fixture(scope="module")
def live_server(served_project: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The real server (``python -m popbase.api.server``) on a free local port."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing; `make system` installs Debian's chromium")
    port = _free_port()
    log = tmp_path_factory.mktemp("server") / "server.log"
    command = [sys.executable, "-m", "popbase.api.server", str(served_project), "--port", str(port)]
    with log.open("wb") as out:
        server = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(f"{base}/api/summary", server, log)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=10)


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


@pytest.fixture(scope="module")
def dashboard(live_server: str) -> Iterator[Dashboard]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS))
        page = browser.new_page(viewport=VIEWPORT)
        board = Dashboard(page, live_server)
        page.on("request", lambda r: board.requests.append(r.url))
        page.on("requestfailed", lambda r: board.failed.append(f"{r.url}: {r.failure}"))
        page.on("pageerror", lambda e: board.errors.append(f"page error: {e}"))
        page.on(
            "console",
            lambda m: board.errors.append(f"console: {m.text}") if m.type == "error" else None,
        )
        page.goto(live_server + "/")
        page.wait_for_selector(
            "body[data-map-state=idle], body[data-map-state=error]", timeout=IDLE_TIMEOUT_MS
        )
        try:
            yield board
        finally:
            browser.close()


def test_the_map_renders_communities_from_this_server_only(dashboard: Dashboard) -> None:
    state = dashboard.evaluate("[document.body.dataset.mapState, document.body.dataset.mapError]")
    assert state == ["idle", None]
    drawn = dashboard.evaluate(
        "window.popbaseMap.queryRenderedFeatures({layers: ['community-fill']}).length"
    )
    assert drawn > 0
    png = dashboard.page.locator("#map").screenshot()
    colours = dashboard.evaluate(COUNT_COLOURS_JS, [base64.b64encode(png).decode(), 0.005])
    # Background, several choropleth classes and boundary lines.
    assert colours["major"] >= 3
    assert colours["foreground"] > 0.2
    dashboard.assert_clean()


def test_clicking_a_community_shows_its_name(dashboard: Dashboard) -> None:
    spot = dashboard.evaluate(FIND_COMMUNITY_JS)
    assert spot is not None
    box = dashboard.page.locator("#map canvas").bounding_box()
    dashboard.page.mouse.click(box["x"] + spot["x"], box["y"] + spot["y"])
    name = dashboard.page.locator("#selection-body .unit-name")
    name.wait_for(timeout=5_000)
    assert name.text_content() == spot["name"]
    assert spot["code"] in dashboard.page.locator("#selection-body .unit-meta").text_content()
    if screenshot := os.environ.get("POPBASE_SCREENSHOT"):
        dashboard.page.screenshot(path=screenshot)
    dashboard.assert_clean()


def test_the_language_switch_changes_the_panel_and_back(dashboard: Dashboard) -> None:
    page = dashboard.page
    heading = page.locator("#totals h2")
    assert heading.text_content() == "总览"
    page.locator("#lang-switch").click()
    assert heading.text_content() == "Overview"
    assert page.locator("#lang-switch").text_content() == "中文"
    assert dashboard.evaluate("document.documentElement.lang") == "en"
    assert dashboard.evaluate("localStorage.getItem('popbase.lang')") == "en"
    assert page.locator("#selection h2").text_content() == "Selected unit"
    page.locator("#lang-switch").click()
    assert heading.text_content() == "总览"
    assert page.locator("#lang-switch").text_content() == "English"
    assert dashboard.evaluate("localStorage.getItem('popbase.lang')") == "zh"
    dashboard.assert_clean()


def test_buildings_appear_when_zoomed_in(dashboard: Dashboard) -> None:
    url = f"{dashboard.base}/api/buildings?bbox=-180,-90,180,90&limit=1"
    with urllib.request.urlopen(url) as response:
        first = json.load(response)["features"][0]
    lon, lat = first["geometry"]["coordinates"][0][0]
    dashboard.evaluate(
        "([lon, lat]) => window.popbaseMap.jumpTo({center: [lon, lat], zoom: 17})", [lon, lat]
    )
    dashboard.page.wait_for_function(
        "window.popbaseMap.queryRenderedFeatures({layers: ['building-fill']}).length > 0",
        timeout=30_000,
    )
    assert any("/api/buildings?bbox=" in u for u in dashboard.requests)
    dashboard.assert_clean()
