"""The sample city's real space: divisions that tile, buildings, rooms, facilities, firms."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

import geopandas as gpd
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from popbase.population.credit_code import validate_credit_codes
from popbase.sample.frame import load_district
from popbase.space.crs import GEOGRAPHIC, SHANGHAI_PROJECTED, transform_geometries

if TYPE_CHECKING:
    from sample_fixtures import SampleCity

pytest_plugins = ["sample_fixtures"]

GAP_TOLERANCE = 1e-6  # of the parent's area
OVERLAP_TOLERANCE = 1e-9
FACILITY_USE = {
    "kindergarten": "kindergarten",
    "primary_school": "school",
    "middle_school": "school",
    "health_centre": "health",
    "elderly_care": "elderly_care",
}


def assert_tiles(parent: BaseGeometry, children: list[BaseGeometry], what: str) -> None:
    """``children`` cover ``parent`` without gaps and without overlapping each other."""
    assert children, f"{what}: no children"
    assert all(c.is_valid and c.area > 0 for c in children), f"{what}: invalid or empty tile"
    union = shapely.union_all(children)
    gap = shapely.symmetric_difference(union, parent).area / parent.area
    assert gap < GAP_TOLERANCE, f"{what}: union differs from parent by {gap:.2e} of its area"
    overlap = sum(a.intersection(b).area for a, b in itertools.combinations(children, 2))
    assert overlap / parent.area < OVERLAP_TOLERANCE, f"{what}: children overlap by {overlap} m²"


def level(city: SampleCity, name: str) -> gpd.GeoDataFrame:
    d = city.divisions
    return d[d["level"] == name]


def test_district_is_the_real_boundary(any_city: SampleCity) -> None:
    frame = load_district(any_city.options.district)
    real = transform_geometries(frame.boundary, GEOGRAPHIC, SHANGHAI_PROJECTED)
    district = level(any_city, "district")
    assert district["code"].tolist() == [frame.code]
    assert district["name"].tolist() == [frame.name]
    geom = district.geometry.iloc[0]
    assert shapely.symmetric_difference(geom, real).area / real.area < GAP_TOLERANCE


def test_streets_tile_the_district(any_city: SampleCity) -> None:
    district = level(any_city, "district").geometry.iloc[0]
    assert_tiles(district, list(level(any_city, "street").geometry), "streets")


def test_committees_tile_their_street(any_city: SampleCity) -> None:
    communities = level(any_city, "community")
    for street in level(any_city, "street").itertuples():
        children = communities.loc[communities["parent_code"] == street.code, "geometry"]
        assert_tiles(street.geometry, list(children), f"committees of {street.code}")


def test_grids_tile_their_committee(any_city: SampleCity) -> None:
    grids = any_city.grids
    for community in level(any_city, "community").itertuples():
        children = grids.loc[grids["community_code"] == community.code, "geometry"]
        assert len(children) >= 2, f"{community.code} is one grid"
        assert_tiles(community.geometry, list(children), f"grids of {community.code}")


def test_division_codes_are_the_real_nested_codes(any_city: SampleCity) -> None:
    opts = any_city.options
    frame = load_district(opts.district)
    # The sample keeps the first streets and the first committees of each, as asked.
    streets = frame.streets[: opts.streets]
    expected_streets = [(s.code, s.name) for s in streets]
    expected_communities = [
        (code, name, s.code)
        for s in streets
        for code, name in s.communities[: opts.communities_per_street]
    ]
    st = level(any_city, "street")
    cm = level(any_city, "community")
    assert list(zip(st["code"], st["name"], strict=True)) == expected_streets
    assert list(zip(cm["code"], cm["name"], cm["parent_code"], strict=True)) == expected_communities
    assert (st["parent_code"] == frame.code).all()
    assert st["code"].str.fullmatch(rf"{frame.code}\d{{3}}").all()
    for code, parent in zip(cm["code"], cm["parent_code"], strict=True):
        assert len(code) == 12 and code.isdigit() and code[:9] == parent, code


def test_grid_codes_extend_committee_codes(any_city: SampleCity) -> None:
    grids = any_city.grids
    communities = set(level(any_city, "community")["code"])
    assert grids["grid_code"].is_unique
    assert set(grids["community_code"]) == communities
    assert grids["grid_code"].str.fullmatch(r"\d{15}").all()
    assert (grids["grid_code"].str[:12] == grids["community_code"]).all()


def test_every_building_lies_inside_exactly_one_committee(any_city: SampleCity) -> None:
    footprints = any_city.footprints
    assert footprints.crs.to_epsg() == 4549
    communities = level(any_city, "community")[["code", "geometry"]]
    assert communities.crs.to_epsg() == 4549
    joined = gpd.sjoin(footprints, communities, predicate="within", how="left")
    assert joined["code"].notna().all(), "a footprint is not inside any committee"
    assert joined.groupby("building_id").size().eq(1).all()
    truth = any_city.buildings.set_index("building_id")["community_code"]
    assert joined["code"].tolist() == truth.reindex(joined["building_id"]).tolist()
    assert set(footprints["building_id"]) == set(truth.index)


def test_every_building_is_in_its_grid(any_city: SampleCity) -> None:
    b = any_city.buildings
    grids = any_city.grids.set_index("grid_code")
    assert (b["grid_code"].str[:12] == b["community_code"]).all()
    inside = shapely.contains_xy(grids.geometry.reindex(b["grid_code"]).to_numpy(), b["x"], b["y"])
    assert inside.all(), b.loc[~inside, ["building_id", "grid_code"]]


def test_building_addresses_are_unique(any_city: SampleCity) -> None:
    footprints = any_city.footprints
    assert footprints["building_id"].is_unique
    assert (footprints["address"] != "").all()
    assert footprints["address"].is_unique, footprints.loc[
        footprints["address"].duplicated(keep=False), ["building_id", "address"]
    ]


def test_rooms_are_dwellings_within_their_building(any_city: SampleCity) -> None:
    rooms = any_city.rooms
    b = any_city.buildings.set_index("building_id")
    assert rooms["room_id"].is_unique
    at = b.reindex(rooms["building_id"])
    assert at["use"].notna().all(), "a room is in a building that does not exist"
    assert at["use"].isin(["residential", "mixed"]).all()
    floor, floors = rooms["floor"].to_numpy(), at["floors"].to_numpy()
    assert ((floor >= 1) & (floor <= floors)).all()
    # Mixed buildings keep their ground floor for shops.
    assert (floor[at["use"].to_numpy() == "mixed"] >= 2).all()
    assert (rooms["community_code"].to_numpy() == at["community_code"].to_numpy()).all()
    dwellings = b.index[b["use"].isin(["residential", "mixed"])]
    assert set(rooms["building_id"]) == set(dwellings), "a dwelling building has no room"


def test_facilities_sit_in_buildings_of_their_use(any_city: SampleCity) -> None:
    fac = pd.read_csv(any_city.root / "basemap" / "facilities.csv", dtype={"building_id": str})
    b = any_city.buildings.set_index("building_id")
    assert fac["facility_id"].is_unique
    assert fac["building_id"].is_unique, "two facilities share a building"
    assert fac["building_id"].isin(b.index).all()
    assert (fac["type"].map(FACILITY_USE) == b["use"].reindex(fac["building_id"]).to_numpy()).all()
    assert pd.api.types.is_integer_dtype(fac["capacity"])
    assert (fac["capacity"] > 0).all()
    # Every street has at least one facility of each type.
    street = b["community_code"].reindex(fac["building_id"]).str[:9].to_numpy()
    per_street = pd.crosstab(street, fac["type"])
    assert set(per_street.index) == set(level(any_city, "street")["code"])
    assert set(per_street.columns) == set(FACILITY_USE)
    assert (per_street > 0).all().all()
    # The lon/lat point lies on the facility's building footprint.
    points = transform_geometries(
        shapely.points(fac["lon"], fac["lat"]), GEOGRAPHIC, SHANGHAI_PROJECTED
    )
    shapes = any_city.footprints.set_index("building_id").geometry.reindex(fac["building_id"])
    assert shapely.dwithin(shapes.to_numpy(), points, 0.5).all()


def test_enterprises_have_valid_credit_codes_and_sit_in_workplaces(
    any_city: SampleCity,
) -> None:
    ent = any_city.truth("enterprises")
    b = any_city.buildings.set_index("building_id")
    assert len(ent) > 0
    assert validate_credit_codes(ent["credit_code"])["valid"].all()
    assert ent["credit_code"].is_unique
    # Registered here: the code's registration-authority segment is this district.
    assert (ent["credit_code"].str[2:8] == any_city.options.district).all()
    use = b["use"].reindex(ent["building_id"])
    assert use.isin(["office", "mixed", "commercial"]).all()
    assert (use == "office").any()
    assert (
        b["community_code"].reindex(ent["building_id"]).to_numpy() == ent["community_code"]
    ).all()


def test_village_houses_are_addressed_by_village_group_and_number(
    village_city: SampleCity,
) -> None:
    b = village_city.buildings
    names = level(village_city, "community").set_index("code")["name"]
    houses = b[b["village"] != ""]
    assert len(houses) > 0
    assert set(houses["community_code"]) == set(names.index[names.str.endswith("村委会")])
    # 光华村's committee is 光华村村委会; its houses are at 光华村3组45号.
    committee = names.reindex(houses["community_code"]).to_numpy()
    assert (houses["village"] + "村委会" == committee).all()
    assert not houses["village"].str.endswith("村村").any()
    plate = (
        houses["village"]
        + houses["group_no"].astype(str)
        + "组"
        + houses["house_no"].astype(str)
        + "号"
    )
    assert (houses["address"] == plate).all()
    assert (houses["road"] == "").all() and (houses["group_no"] > 0).all()
    # A house is one dwelling.
    rooms = village_city.rooms
    in_houses = rooms[rooms["building_id"].isin(houses["building_id"])]
    assert in_houses["building_id"].is_unique
    assert set(in_houses["building_id"]) == set(houses["building_id"])
    assert (in_houses["room_no"] == "").all()
