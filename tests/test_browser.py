"""The map dashboard in headless Chromium against the real server.

The city served is the point city (``point_city_fixtures``): the buildings of one street
are footprints, those of the other points delivered in GCJ-02, so the map draws both.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import duckdb
import pytest

from browser_fixtures import (
    PASSWORD,
    VIEWPORT,
    Dashboard,
    add_user,
    api_get,
    open_dashboard,
    serve_city,
    sign_in,
    token,
)
from popbase.config import load_project
from popbase.ops.snapshot import current_snapshot
from popbase.security.audit_check import Verdict, verify_chain
from popbase.security.audit_key import audit_key_for

pytestmark = pytest.mark.browser
pytest_plugins = ["point_city_fixtures"]


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
      const layers = ["building-circle", "building-fill", "community-fill"];
      const hits = map.queryRenderedFeatures([x, y], { layers });
      if (hits.length && hits[0].layer.id === "community-fill") {
        return { x, y, name: hits[0].properties.name, code: hits[0].properties.code };
      }
    }
  }
  return null;
}
"""


@pytest.fixture(scope="module")
def city(point_city: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the built point city with two users: a city officer and a street officer."""
    folder = tmp_path_factory.mktemp("browser_city") / "project"
    shutil.copytree(point_city, folder, symlinks=True)
    codes = _unit_codes(load_project(folder).output_dir)
    add_user(folder, "city", "city_officer", codes["district"][0][:4])
    add_user(folder, "street", "street_officer", codes["street"][0])
    return folder


def _unit_codes(output_dir: Path) -> dict[str, list[str]]:
    db = current_snapshot(output_dir).base_db
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute("SELECT level, code FROM units ORDER BY code").fetchall()
    codes: dict[str, list[str]] = {}
    for level, code in rows:
        codes.setdefault(level, []).append(code)
    return codes


@pytest.fixture(scope="module")
def live_server(city: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The real server (``popbase serve``) on a free local port."""
    log = tmp_path_factory.mktemp("server") / "server.log"
    # Two worker processes, as a multi-core deployment runs: they share one audit chain.
    with serve_city(city, log, workers=2) as base:
        yield base


@pytest.fixture(scope="module")
def browser(chromium: Any, live_server: str) -> Any:
    """Headless Chromium, once the server is up."""
    return chromium


@pytest.fixture(scope="module")
def dashboard(browser: Any, live_server: str) -> Iterator[Dashboard]:
    with open_dashboard(browser, live_server, "city") as board:
        yield board


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
    # The committee's 人户状态 follow from /api/residency, 待核实 counted apart.
    residency = dashboard.page.locator("#selection-body dl.figures").nth(1)
    residency.wait_for(timeout=5_000)
    assert "待核实" in residency.text_content()
    assert "户籍人口" in residency.text_content()
    if screenshot := os.environ.get("POPBASE_SCREENSHOT"):
        dashboard.page.screenshot(path=screenshot)
    dashboard.assert_clean()


def test_the_language_switch_changes_the_panel_and_back(dashboard: Dashboard) -> None:
    page = dashboard.page
    heading = page.locator("#totals h2")
    uses = page.locator("#legend-uses li")
    assert heading.text_content() == "总览"
    assert uses.first.text_content() == "住宅"
    assert uses.count() == 10  # every class of use, and the rest
    page.locator("#lang-switch").click()
    assert heading.text_content() == "Overview"
    assert uses.first.text_content() == "residential"
    assert page.locator("#lang-switch").text_content() == "中文"
    assert dashboard.evaluate("document.documentElement.lang") == "en"
    assert dashboard.evaluate("localStorage.getItem('popbase.lang')") == "en"
    assert page.locator("#selection h2").text_content() == "Selected unit"
    page.locator("#lang-switch").click()
    assert heading.text_content() == "总览"
    assert page.locator("#lang-switch").text_content() == "English"
    assert dashboard.evaluate("localStorage.getItem('popbase.lang')") == "zh"
    dashboard.assert_clean()


def _building(base: str, geometry_type: str) -> dict[str, Any]:
    """The building of ``geometry_type`` with the most residents, as the API serves it."""
    everything = api_get(base, "/api/buildings?bbox=-180,-90,180,90&limit=50000", "city")
    kind = [f for f in everything["features"] if f["geometry"]["type"] == geometry_type]
    return max(kind, key=lambda f: f["properties"]["resident"] or 0)


def _dense_point(base: str) -> dict[str, Any]:
    """The point building with the most point buildings around it (within about 250 m).

    The circles tests look at several circles at once: the view is centred where point
    buildings of several uses and sizes stand together, wherever the sample put them.
    """
    everything = api_get(base, "/api/buildings?bbox=-180,-90,180,90&limit=50000", "city")
    points = [f for f in everything["features"] if f["geometry"]["type"] == "Point"]
    xy = [f["geometry"]["coordinates"] for f in points]

    def neighbours(i: int) -> tuple[int, int]:
        x, y = xy[i]
        near = sum(abs(x - a) < 0.0025 and abs(y - b) < 0.0025 for a, b in xy)
        return near, points[i]["properties"]["resident"] or 0

    return points[max(range(len(points)), key=neighbours)]


def _zoom_to(dashboard: Dashboard, feature: dict[str, Any], zoom: float, layer: str) -> None:
    """Centre the map on ``feature`` at ``zoom`` and wait until ``layer`` draws it."""
    coords = feature["geometry"]["coordinates"]
    lon, lat = coords if feature["geometry"]["type"] == "Point" else coords[0][0]
    dashboard.evaluate(
        "([lon, lat, zoom]) => window.popbaseMap.jumpTo({center: [lon, lat], zoom})",
        [lon, lat, zoom],
    )
    dashboard.page.wait_for_function(
        "([layer, id]) => window.popbaseMap.queryRenderedFeatures({layers: [layer]})"
        ".some((f) => f.properties.building_id === id)",
        arg=[layer, feature["properties"]["building_id"]],
        timeout=30_000,
    )


def test_buildings_appear_when_zoomed_in(dashboard: Dashboard) -> None:
    _zoom_to(dashboard, _building(dashboard.base, "Polygon"), 17, "building-fill")
    assert any("/api/buildings?bbox=" in u for u in dashboard.requests)
    dashboard.assert_clean()


# A point on the canvas over a footprint with residents, with the building's id.
FIND_BUILDING_JS = """
() => {
  const map = window.popbaseMap;
  const { width, height } = map.getCanvas().getBoundingClientRect();
  for (let y = height * 0.2; y < height * 0.9; y += 10) {
    for (let x = width * 0.2; x < width * 0.9; x += 10) {
      const [hit] = map.queryRenderedFeatures([x, y], { layers: ["building-fill"] });
      if (hit && hit.properties.resident > 0) return { x, y, id: hit.properties.building_id };
    }
  }
  return null;
}
"""


def _click_lists_rooms(dashboard: Dashboard, spot: dict[str, Any]) -> None:
    """Click the building ``spot`` names (its ``id`` at ``x``, ``y`` on the canvas)."""
    box = dashboard.page.locator("#map canvas").bounding_box()
    path = f"/api/buildings/{spot['id']}/rooms"
    with dashboard.page.expect_response(lambda r: r.url.endswith(path)) as answer:
        dashboard.page.mouse.click(box["x"] + spot["x"], box["y"] + spot["y"])
    assert answer.value.status == 200
    occupancy = api_get(dashboard.base, path, "city")
    assert occupancy["rooms"]  # a building with residents has rooms
    meta = dashboard.page.locator("#selection-body .unit-meta")
    meta.wait_for(timeout=5_000)
    assert spot["id"] in (meta.text_content() or "")
    rows = dashboard.page.locator("#selection-body .rooms tr")
    rows.first.wait_for(timeout=5_000)
    assert rows.count() == len({r["floor"] for r in occupancy["rooms"]})
    first_room = occupancy["rooms"][0]
    expected = f"{first_room['room_no']} ({first_room['resident']})"
    assert (rows.first.locator("td").text_content() or "").startswith(expected)


def test_clicking_a_building_lists_its_rooms_floor_by_floor(dashboard: Dashboard) -> None:
    _zoom_to(dashboard, _building(dashboard.base, "Polygon"), 17, "building-fill")
    spot = dashboard.evaluate(FIND_BUILDING_JS)
    assert spot is not None
    _click_lists_rooms(dashboard, spot)
    dashboard.assert_clean()


# Each rendered circle: its id, use class, residents and centre on the canvas.
RENDERED_CIRCLES_JS = """
() => {
  const map = window.popbaseMap;
  return map.queryRenderedFeatures({ layers: ["building-circle"] }).map((f) => {
    const { x, y } = map.project(f.geometry.coordinates);
    const p = f.properties;
    return { id: p.building_id, use: p.use, useClass: p.use_class, resident: p.resident, x, y };
  });
}
"""

# The classes words of the delivered table must fall in, whatever a build makes of them.
WORD_CLASSES = {
    "住宅": "residential",
    "商住": "mixed",
    "商业": "commercial",
    "办公": "office",
    "工业厂房": "industrial",
    "公共服务": "public",
}


def test_point_buildings_are_circles_coloured_by_use(
    dashboard: Dashboard, point_city_delivery: tuple[Path, Any]
) -> None:
    delivered = point_city_delivery[1].set_index("building_id")
    _zoom_to(dashboard, _dense_point(dashboard.base), 16, "building-circle")
    circles = dashboard.evaluate(RENDERED_CIRCLES_JS)
    assert len(circles) > 3
    words = set()
    for circle in circles:
        row = delivered.loc[circle["id"]]
        assert not row["surveyed"]  # only points are circles: no dot on a footprint's corner
        word = row["用途"]
        words.add(word)
        assert circle["useClass"] == WORD_CLASSES.get(word, circle["useClass"]), circle
        assert circle["useClass"] != "other", circle
    assert {"住宅", "商住"} <= words
    # A footprint is never a circle, nor a point a fill.
    fills = dashboard.evaluate(
        "window.popbaseMap.queryRenderedFeatures({layers: ['building-fill']})"
        ".map((f) => f.geometry.type)"
    )
    assert "Point" not in fills
    assert dashboard.page.locator("#legend-sizes").is_visible()
    dashboard.assert_clean()


# How far from (x, y) to the east a query still finds building `id`: bisection to 1/16 px
# (a circle is hit from its centre out to its edge, and nowhere beyond).
HIT_RADIUS_JS = """
([x, y, id]) => {
  const map = window.popbaseMap;
  const hit = (d) => map.queryRenderedFeatures([x + d, y], { layers: ["building-circle"] })
    .some((f) => f.properties.building_id === id);
  if (!hit(0)) return -1;
  let inside = 0;
  let outside = 100;
  while (outside - inside > 1 / 16) {
    const d = (inside + outside) / 2;
    if (hit(d)) inside = d;
    else outside = d;
  }
  return inside;
}
"""
# The radius the page's own layers module gives `resident` persons at the current zoom.
RADIUS_JS = """
async (resident) => {
  const layers = await import(new URL("static/layers.js", document.baseURI));
  return layers.circleRadius(resident, window.popbaseMap.getZoom());
}
"""


def test_a_circles_area_grows_with_its_residents(dashboard: Dashboard) -> None:
    _zoom_to(dashboard, _dense_point(dashboard.base), 16.5, "building-circle")
    circles = [c for c in dashboard.evaluate(RENDERED_CIRCLES_JS) if c["resident"] is not None]
    assert len({c["resident"] for c in circles}) >= 3
    for circle in circles:
        reach = dashboard.evaluate(HIT_RADIUS_JS, [circle["x"], circle["y"], circle["id"]])
        radius = dashboard.evaluate(RADIUS_JS, circle["resident"])
        # A query reaches the circle's radius and its 0.8 px white ring.
        assert abs(reach - (radius + 0.8)) <= 0.5, (circle, reach, radius)
    biggest = max(circles, key=lambda c: c["resident"])
    smallest = min(circles, key=lambda c: c["resident"])
    assert dashboard.evaluate(RADIUS_JS, biggest["resident"]) > dashboard.evaluate(
        RADIUS_JS, smallest["resident"]
    )
    dashboard.assert_clean()


# Replaces the buildings on the map with circles at canvas points, as a department sees
# them: counts suppressed (null) beside one shown; returns their centres.
SUPPRESSED_CIRCLES_JS = """
async (buildings) => {
  const map = window.popbaseMap;
  const { width, height } = map.getCanvas().getBoundingClientRect();
  const features = buildings.map((b, i) => {
    const x = width * (0.3 + 0.2 * i);
    const y = height / 2;
    return {
      type: "Feature",
      geometry: { type: "Point", coordinates: map.unproject([x, y]).toArray() },
      properties: { building_id: b.id, resident: b.resident, use: b.use, use_class: b.useClass },
    };
  });
  const idle = new Promise((resolve) => map.once("idle", resolve));
  map.getSource("buildings").setData({ type: "FeatureCollection", features });
  await idle;
  return features.map((f) => map.project(f.geometry.coordinates));
}
"""


def test_a_suppressed_count_is_drawn_at_one_size_that_says_nothing(
    dashboard: Dashboard,
) -> None:
    _zoom_to(dashboard, _building(dashboard.base, "Point"), 16, "building-circle")
    buildings = [
        {"id": "S1", "resident": None, "use": "住宅", "useClass": "residential"},
        {"id": "S2", "resident": None, "use": "办公", "useClass": "office"},
        {"id": "S3", "resident": 40, "use": "住宅", "useClass": "residential"},
    ]
    centres = dashboard.evaluate(SUPPRESSED_CIRCLES_JS, buildings)
    reach = [
        dashboard.evaluate(HIT_RADIUS_JS, [c["x"], c["y"], b["id"]])
        for c, b in zip(centres, buildings, strict=True)
    ]
    top = dashboard.evaluate(
        "async () => (await import(new URL('static/layers.js', document.baseURI)))"
        ".SUPPRESSED_DRAWN_AS"
    )
    # Hollow, with a 2 px ring, at the size of the top of the suppressed range.
    suppressed = dashboard.evaluate(RADIUS_JS, top) + 2
    assert abs(reach[0] - suppressed) <= 0.5 and abs(reach[1] - suppressed) <= 0.5
    assert abs(reach[2] - (dashboard.evaluate(RADIUS_JS, 40) + 0.8)) <= 0.5
    dashboard.assert_clean()


def test_clicking_a_circle_lists_its_rooms(dashboard: Dashboard) -> None:
    building = _building(dashboard.base, "Point")
    _zoom_to(dashboard, building, 17, "building-circle")
    circles = dashboard.evaluate(RENDERED_CIRCLES_JS)
    spot = next(c for c in circles if c["id"] == building["properties"]["building_id"])
    _click_lists_rooms(dashboard, spot)
    dashboard.assert_clean()


def _unit_labels(dashboard: Dashboard, layer: str) -> list[str]:
    return list(
        dashboard.evaluate(
            "(layer) => window.popbaseMap.queryRenderedFeatures({layers: [layer]})"
            ".map((f) => f.properties.name)",
            layer,
        )
    )


def _label_pixels(dashboard: Dashboard, x: float, y: float, layer: str) -> tuple[bytes, bytes]:
    """Screenshots around (x, y) with ``layer`` shown and hidden."""
    box = dashboard.page.locator("#map canvas").bounding_box()
    clip = {"x": box["x"] + x - 80, "y": box["y"] + y - 20, "width": 160, "height": 40}
    shots = []
    for visibility in ("visible", "none"):
        dashboard.evaluate(
            """async ([layer, visibility]) => {
              const map = window.popbaseMap;
              const idle = new Promise((resolve) => map.once("idle", resolve));
              map.setLayoutProperty(layer, "visibility", visibility);
              map.triggerRepaint();
              await idle;
            }""",
            [layer, visibility],
        )
        shots.append(dashboard.page.screenshot(clip=clip))
    dashboard.evaluate(
        "(layer) => window.popbaseMap.setLayoutProperty(layer, 'visibility', 'visible')", layer
    )
    return shots[0], shots[1]


def test_streets_and_committees_are_named_on_the_map(dashboard: Dashboard) -> None:
    streets = api_get(dashboard.base, "/api/units?level=street", "city")
    box = streets["bbox"]
    dashboard.evaluate(
        "(b) => window.popbaseMap.fitBounds([b.slice(0, 2), b.slice(2)], {duration: 0})", box
    )
    dashboard.page.wait_for_function(
        "window.popbaseMap.queryRenderedFeatures({layers: ['street-label']}).length > 0",
        timeout=30_000,
    )
    # The whole area in view: every street named, no committee yet.
    names = sorted(f["properties"]["name"] for f in streets["features"])
    assert sorted(_unit_labels(dashboard, "street-label")) == names
    assert _unit_labels(dashboard, "community-label") == []
    committees = api_get(dashboard.base, "/api/units?level=community", "city")["features"]
    committee = max(committees, key=lambda f: f["properties"]["area_km2"])["properties"]
    dashboard.evaluate(
        "([lon, lat]) => window.popbaseMap.jumpTo({center: [lon, lat], zoom: 14})",
        [committee["label_lon"], committee["label_lat"]],
    )
    dashboard.page.wait_for_function(
        "(name) => window.popbaseMap.queryRenderedFeatures({layers: ['community-label']})"
        ".some((f) => f.properties.name === name)",
        arg=committee["name"],
        timeout=30_000,
    )
    # The name is drawn (glyphs from the machine's fonts), at the centre of the view.
    size = dashboard.page.locator("#map canvas").bounding_box()
    shown, hidden = _label_pixels(
        dashboard, size["width"] / 2, size["height"] / 2, "community-label"
    )
    assert shown != hidden
    dashboard.assert_clean()  # no glyph or font requested from anywhere


def test_the_panel_names_the_signed_in_user(dashboard: Dashboard) -> None:
    info = dashboard.page.locator("#user-info").text_content() or ""
    assert info.startswith("city · city_officer")
    assert dashboard.page.locator("#login").is_hidden()
    dashboard.assert_clean()


def test_a_wrong_password_is_refused_with_a_message(browser: Any, live_server: str) -> None:
    page = browser.new_page(viewport=VIEWPORT)
    page.goto(live_server + "/")
    page.locator("#login-user").fill("city")
    page.locator("#login-password").fill("not the password")
    page.locator("#login-submit").click()
    page.wait_for_function("document.querySelector('#login-error').textContent !== ''")
    assert page.locator("#login-error").text_content() == "用户名或密码错误"
    # Nothing of the base was loaded.
    assert page.evaluate("document.body.dataset.mapState") == "loading"
    assert page.locator("#total-resident").text_content() == "–"
    page.close()


def test_a_street_officer_sees_only_its_street(browser: Any, live_server: str, city: Path) -> None:
    codes = _unit_codes(load_project(city).output_dir)
    street = codes["street"][0]
    mine = sorted(c for c in codes["community"] if c.startswith(street))
    page = browser.new_page(viewport=VIEWPORT)
    sign_in(page, live_server, "street", PASSWORD)
    shown = page.evaluate(
        "[...new Set(window.popbaseMap.querySourceFeatures('communities')"
        ".map((f) => f.properties.code))]"
    )
    assert sorted(shown) == mine
    assert len(mine) < len(codes["community"])
    expected = api_get(live_server, f"/api/units/{street}", "street")["resident"]
    assert page.locator("#total-resident").text_content() == f"{expected:,}"
    # Signing out forgets the token and asks again.
    page.locator("#sign-out").click()
    page.locator("#login-user").wait_for(state="visible")
    assert page.evaluate("sessionStorage.getItem('popbase.session')") is None
    page.close()


def _audit_of(city: Path) -> Verdict:
    """The check of the city's audit log under the key its server made."""
    project = load_project(city)
    log = project.path(project.config.access.audit_log)
    key = audit_key_for(project.output_dir, None, log)
    return verify_chain(log, key.secret, key.checkpoint_of(log))


def test_two_server_processes_answer_alike_and_keep_one_audit_chain(
    live_server: str, city: Path
) -> None:
    before = _audit_of(city)
    assert before.findings == []
    bearer = token(live_server, "street")

    def summary(_: int) -> Any:
        request = urllib.request.Request(
            live_server + "/api/summary", headers={"Authorization": f"Bearer {bearer}"}
        )
        with urllib.request.urlopen(request) as response:
            return json.load(response)["totals"]

    # Enough requests at once that both processes serve some, appending in batches.
    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(summary, range(200)))
    assert all(a == answers[0] for a in answers)
    after = _audit_of(city)
    assert after.findings == []
    assert after.keyed >= before.keyed + 201  # the sign-in and the 200 summaries
