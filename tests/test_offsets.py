"""GCJ-02 and BD-09 offsets: published pairs, the inverse's residual, round trips."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from popbase.space.offsets import (
    bd09_to_gcj02,
    bd09_to_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    offset_crs_name,
    offset_geometries_to_wgs84,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)

PAIRS = Path(__file__).parent / "fixtures" / "offset_pairs.csv"
CONVERSIONS = {
    ("wgs", "gcj"): wgs84_to_gcj02,
    ("gcj", "wgs"): gcj02_to_wgs84,
    ("gcj", "bd"): gcj02_to_bd09,
    ("bd", "gcj"): bd09_to_gcj02,
    ("wgs", "bd"): wgs84_to_bd09,
    ("bd", "wgs"): bd09_to_wgs84,
}


def published_cases() -> list[tuple[str, str, str, dict[str, str]]]:
    with PAIRS.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(line for line in f if not line.startswith("#")))
    cases = []
    for row in rows:
        given_ = [s for s in ("wgs", "gcj", "bd") if row[f"{s}_lon"]]
        for src in given_:
            for dst in given_:
                if src != dst:
                    cases.append((f"{row['source']} {row['place']}", src, dst, row))
    return cases


@pytest.mark.parametrize(("name", "src", "dst", "row"), published_cases())
def test_published_pairs(name: str, src: str, dst: str, row: dict[str, str]) -> None:
    lon, lat = CONVERSIONS[src, dst](float(row[f"{src}_lon"]), float(row[f"{src}_lat"]))
    tol = float(row["tol_deg"])
    assert float(lon) == pytest.approx(float(row[f"{dst}_lon"]), abs=tol), name
    assert float(lat) == pytest.approx(float(row[f"{dst}_lat"]), abs=tol), name


def test_published_pairs_cover_every_direction() -> None:
    assert {(src, dst) for _, src, dst, _ in published_cases()} == set(CONVERSIONS)


# A coarse grid over China: the module docstring's figures, re-measured.
GRID_LON, GRID_LAT = (
    a.ravel() for a in np.meshgrid(np.arange(73, 135, 0.37), np.arange(18, 53, 0.29))
)


def test_inverse_residual_over_china_is_below_1e_10_degrees() -> None:
    lon, lat = gcj02_to_wgs84(GRID_LON, GRID_LAT)
    back_lon, back_lat = wgs84_to_gcj02(lon, lat)
    assert np.abs(back_lon - GRID_LON).max() < 1e-10
    assert np.abs(back_lat - GRID_LAT).max() < 1e-10
    # ... where the one-step inverse (subtract the shift computed at the GCJ-02 point)
    # errs by metres.
    shifted_lon, _ = wgs84_to_gcj02(GRID_LON, GRID_LAT)
    one_step = GRID_LON - (shifted_lon - GRID_LON)
    assert np.abs(one_step - lon).max() > 1e-5


def test_baidu_inverse_residual_over_china_is_below_1e_10_degrees() -> None:
    lon, lat = bd09_to_gcj02(GRID_LON, GRID_LAT)
    back_lon, back_lat = gcj02_to_bd09(lon, lat)
    assert np.abs(back_lon - GRID_LON).max() < 1e-10
    assert np.abs(back_lat - GRID_LAT).max() < 1e-10


def test_missing_coordinates_stay_missing() -> None:
    lon, lat = gcj02_to_wgs84([np.nan, 121.5], [31.2, np.nan])
    assert np.isnan(lon[0]) and np.isnan(lat[1])


# Inside China, away from the rectangle's edges (where a shift may cross it).
china_lon = st.floats(73.0, 135.0)
china_lat = st.floats(4.0, 53.0)


@settings(max_examples=300, deadline=None)
@given(china_lon, china_lat)
def test_gcj02_round_trips(lon: float, lat: float) -> None:
    x, y = gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat))
    assert abs(float(x) - lon) < 1e-6 and abs(float(y) - lat) < 1e-6
    x, y = wgs84_to_gcj02(*gcj02_to_wgs84(lon, lat))
    assert abs(float(x) - lon) < 1e-6 and abs(float(y) - lat) < 1e-6


@settings(max_examples=300, deadline=None)
@given(china_lon, china_lat)
def test_bd09_round_trips(lon: float, lat: float) -> None:
    x, y = bd09_to_wgs84(*wgs84_to_bd09(lon, lat))
    assert abs(float(x) - lon) < 1e-6 and abs(float(y) - lat) < 1e-6
    x, y = gcj02_to_bd09(*bd09_to_gcj02(lon, lat))
    assert abs(float(x) - lon) < 1e-6 and abs(float(y) - lat) < 1e-6


outside = st.one_of(
    st.tuples(st.floats(-180, 71.9), st.floats(-90, 90)),
    st.tuples(st.floats(137.9, 180), st.floats(-90, 90)),
    st.tuples(st.floats(-180, 180), st.floats(55.9, 90)),
    st.tuples(st.floats(-180, 180), st.floats(-90, 0.8)),
)


@settings(max_examples=200, deadline=None)
@given(outside)
def test_identity_outside_china(point: tuple[float, float]) -> None:
    for convert in CONVERSIONS.values():
        x, y = convert(*point)
        assert (float(x), float(y)) == point


def test_the_shift_is_hundreds_of_metres_in_shanghai() -> None:
    lon, lat = wgs84_to_gcj02(121.47, 31.23)
    assert 0.002 < float(lon) - 121.47 < 0.006
    assert -0.004 < float(lat) - 31.23 < 0


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("GCJ-02", "GCJ-02"),
        ("gcj02", "GCJ-02"),
        ("Gcj_02", "GCJ-02"),
        ("BD-09", "BD-09"),
        ("bd09", "BD-09"),
        ("EPSG:4326", None),
        (None, None),
    ],
)
def test_offset_crs_names(text: str | None, name: str | None) -> None:
    assert offset_crs_name(text) == name


def test_every_vertex_of_a_polygon_is_converted() -> None:
    ring = np.array([[121.40, 31.20], [121.41, 31.20], [121.41, 31.21], [121.40, 31.21]])
    gcj = np.column_stack(wgs84_to_gcj02(ring[:, 0], ring[:, 1]))
    polygon = shapely.Polygon(gcj)
    back = offset_geometries_to_wgs84(np.array([polygon, None], dtype=object), "gcj02")
    assert back[1] is None
    coords = shapely.get_coordinates(back[0])[:-1]
    assert np.abs(coords - ring).max() < 1e-9
    with pytest.raises(ValueError, match="expected GCJ-02 or BD-09"):
        offset_geometries_to_wgs84(back, "EPSG:4326")
