"""Placing presence rows with coordinates: here in a unit, away, or unsure."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from popbase.config import load_project
from popbase.errors import ConfigError
from popbase.population.whereabouts import _coordinates, place_points
from popbase.space.offsets import wgs84_to_gcj02
from test_config import edited, problems_of, write_project

# Two grids side by side (about 950 m x 1100 m each), in two committees.
WEST = shapely.box(121.40, 31.10, 121.41, 31.11)
EAST = shapely.box(121.41, 31.10, 121.42, 31.11)
UNITS = pd.DataFrame(
    {"code": ["g1", "g2"], "community_code": ["c1", "c2"], "geometry": [WEST, EAST]}
)


def test_points_are_placed_in_their_grid_away_or_unsure() -> None:
    lon = np.array([121.405, 121.415, 121.60, 121.4205, np.nan, 121.405])
    lat = np.array([31.105, 31.105, 31.105, 31.105, 31.105, np.nan])
    placed = place_points(lon, lat, UNITS)
    assert placed["place"].tolist() == ["here", "here", "away", "unsure", "unsure", "unsure"]
    assert placed["division_code"].tolist()[:2] == ["g1", "g2"]
    assert placed["community_code"].tolist()[:2] == ["c1", "c2"]
    assert placed["division_code"].iloc[2:].isna().all()


def test_the_away_distance_is_measured_in_metres() -> None:
    # 0.005 degrees of longitude east of the area is about 476 m at 31 degrees north.
    lon, lat = np.array([121.425]), np.array([31.105])
    assert place_points(lon, lat, UNITS, away_metres=400.0)["place"].tolist() == ["away"]
    assert place_points(lon, lat, UNITS, away_metres=600.0)["place"].tolist() == ["unsure"]


def test_without_units_or_coordinates_nothing_is_placed() -> None:
    empty = UNITS.iloc[0:0]
    assert place_points(np.array([121.405]), np.array([31.105]), empty)["place"].tolist() == [
        "unsure"
    ]
    assert place_points(np.array([]), np.array([]), UNITS).empty


@settings(max_examples=60, deadline=None)
@given(
    st.floats(121.4001, 121.4199),
    st.floats(31.1001, 31.1099),
)
def test_any_point_inside_the_area_is_here_in_the_unit_that_holds_it(x: float, y: float) -> None:
    placed = place_points(np.array([x]), np.array([y]), UNITS)
    assert placed["place"].iloc[0] == "here"
    expected = "g1" if x < 121.41 else "g2"
    if abs(x - 121.41) > 1e-9:  # on the shared border either grid is right
        assert placed["division_code"].iloc[0] == expected


def test_coordinates_of_each_source_are_brought_from_its_crs() -> None:
    glon, glat = wgs84_to_gcj02(np.array([121.405]), np.array([31.105]))
    rows = pd.DataFrame(
        {
            "source": ["gps", "map", "map"],
            "lon": ["121.405", str(glon[0]), "东经121度"],
            "lat": ["31.105", str(glat[0]), "31.1"],
        }
    )
    lon, lat = _coordinates(rows, {"gps": "EPSG:4326", "map": "GCJ-02"})
    assert lon[0] == pytest.approx(121.405) and lat[0] == pytest.approx(31.105)
    # GCJ-02 is shifted by some 500 m in Shanghai; brought back to within a metre.
    assert abs(glon[0] - 121.405) > 0.003
    assert lon[1] == pytest.approx(121.405, abs=1e-5) and lat[1] == pytest.approx(31.105, abs=1e-5)
    assert np.isnan(lon[2])  # unreadable: the row says nothing


def test_a_source_with_lon_but_no_lat_or_an_unknown_crs_is_a_config_error(
    tmp_path: Path,
) -> None:
    text = edited(
        "    priority: 90\n    columns:\n",
        "    priority: 90\n    crs: EPSG:99999\n    columns:\n      lon: 经度\n",
    )
    problems = problems_of(write_project(tmp_path, text))
    assert any("crs: was 'EPSG:99999', expected a CRS" in p for p in problems), problems
    assert any("map both 'lon' and 'lat'" in p for p in problems), problems


def test_lon_lat_and_a_crs_load(tmp_path: Path) -> None:
    text = edited(
        "    priority: 90\n    columns:\n",
        "    priority: 90\n    presence: true\n    crs: gcj02\n"
        "    columns:\n      lon: 经度\n      lat: 纬度\n",
    )
    police = load_project(write_project(tmp_path, text)).config.sources[0]
    assert police.crs == "gcj02" and police.presence
    assert police.columns["lon"] == "经度"
    with pytest.raises(ConfigError):
        load_project(write_project(tmp_path, edited("crs: gcj02", "crs: nowhere", text)))
