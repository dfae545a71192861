"""The map dashboard: a static page (``static/``) that reads the API.

The page uses MapLibre GL JS and Apache ECharts from ``static/vendor/``, copied there
from npm by ``make web``; it loads nothing from any other host (no tiles, fonts or
glyphs), so it works on an offline government network.
"""

from __future__ import annotations

import mimetypes
from importlib import resources
from pathlib import Path

from popbase.errors import PopbaseError

# Browsers run ES modules only when served with a JavaScript type; not every system's
# mime table knows ``.mjs``.
mimetypes.add_type("text/javascript", ".mjs")
mimetypes.add_type("text/javascript", ".js")

# How tests and tools start Debian's Chromium headless: software WebGL (no GPU here), no
# sandbox (root in containers), and none of the background traffic an offline network
# refuses.
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)

VENDOR_FILES = (
    "maplibre-gl.mjs",
    "maplibre-gl-worker.mjs",
    "maplibre-gl.css",
    "echarts.esm.min.mjs",
)


def static_dir() -> Path:
    """Return the folder of the dashboard's static files.

    Raises
    ------
    PopbaseError
        If popbase is installed in a form whose files are not on disk (e.g. a zip).
    """
    folder = resources.files("popbase.web").joinpath("static")
    if not isinstance(folder, Path) or not folder.is_dir():
        raise PopbaseError(
            f"the dashboard's static files are not a folder on disk ({folder}). "
            "Fix: install popbase as a regular (unzipped) package."
        )
    return folder


def missing_vendor_files() -> list[str]:
    """List the npm files the page needs that ``make web`` has not copied yet."""
    vendor = static_dir() / "vendor"
    return [name for name in VENDOR_FILES if not (vendor / name).is_file()]
