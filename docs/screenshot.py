"""Take the README's picture: the dashboard of a built project, in headless Chromium.

    python docs/screenshot.py demo docs/map.png [USER [PASSWORD_FILE]]

Starts the real server on a free port, signs in through the dashboard's own form (as
``demo`` with the password ``make demo`` keeps in ``demo/demo-password``, by default),
waits for the map to be idle, and saves a screenshot.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

from popbase.web import CHROMIUM_ARGS


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main(project: Path, out: Path, user: str, password: str) -> None:
    """Serve ``project``, sign in as ``user`` and save the dashboard to ``out``."""
    port = _free_port()
    cmd = [sys.executable, "-m", "popbase", "serve", str(project), "--port", str(port)]
    server = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(url, timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path="/usr/bin/chromium", args=list(CHROMIUM_ARGS)
            )
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.goto(url)
            page.locator("#login-user").fill(user)
            page.locator("#login-password").fill(password)
            page.locator("#login-submit").click()
            page.wait_for_selector("body[data-map-state=idle]", timeout=60_000)
            page.wait_for_timeout(1_000)
            page.screenshot(path=str(out))
            browser.close()
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    folder = Path(sys.argv[1])
    name = sys.argv[3] if len(sys.argv) > 3 else "demo"
    secret = Path(sys.argv[4]) if len(sys.argv) > 4 else folder / "demo-password"
    main(folder, Path(sys.argv[2]), name, secret.read_text(encoding="utf-8").strip())
