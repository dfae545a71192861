"""Building and room occupancy on a real build: scope, sums and disclosure control."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pandas as pd
import pytest

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient


EVERYWHERE = {"bbox": "-180,-90,180,90", "limit": "50000"}


@pytest.fixture(scope="module")
def buildings(served_sql: Callable[[str], pd.DataFrame]) -> pd.DataFrame:
    return served_sql(
        "SELECT building_id, division_code, community_code, resident, households FROM buildings"
    ).set_index("building_id")


@pytest.fixture(scope="module")
def client_of(
    served_project: Path,
    tmp_path_factory: pytest.TempPathFactory,
    signed_in_client: Callable[..., TestClient],
    clients_by_role: Callable[..., AbstractContextManager[Callable[..., TestClient]]],
) -> Iterator[Callable[..., TestClient]]:
    """``client_of(role, scope)``: a signed-in client, one per role and scope."""
    access_dir = tmp_path_factory.mktemp("occupancy_access")

    def make(role: str, scope: str) -> TestClient:
        return signed_in_client(served_project, access_dir, role, scope)

    with clients_by_role(make) as client:
        yield client


def map_residents(client: TestClient) -> dict[str, int | None]:
    shown = client.get("/api/buildings", params=EVERYWHERE).json()["features"]
    return {f["properties"]["building_id"]: f["properties"]["resident"] for f in shown}


def test_a_building_outside_the_jurisdiction_is_answered_like_a_missing_one(
    client_of: Callable[..., TestClient], buildings: pd.DataFrame
) -> None:
    streets = sorted({str(c)[:9] for c in buildings["division_code"]})
    officer = client_of("street_officer", streets[0])
    mine = buildings.index[buildings["division_code"].str.startswith(streets[0])][0]
    other = buildings.index[buildings["division_code"].str.startswith(streets[1])][0]
    outside = officer.get(f"/api/buildings/{other}/rooms")
    missing = officer.get("/api/buildings/3101129999999/rooms")
    assert outside.status_code == missing.status_code == 404
    assert outside.json() == missing.json()
    assert officer.get(f"/api/buildings/{mine}/rooms").status_code == 200
    assert (
        officer.get(f"/api/buildings/{mine}/rooms", headers={"Authorization": ""}).status_code
        == 401
    )
    assert client_of("verifier").get(f"/api/buildings/{mine}/rooms").status_code == 403
    grid = str(buildings.loc[mine, "division_code"])
    worker = client_of("grid_worker", grid)
    for building_id, code in buildings["division_code"].items():
        status = worker.get(f"/api/buildings/{building_id}/rooms").status_code
        assert status == (200 if str(code).startswith(grid) else 404), building_id


def test_the_rooms_add_up_to_the_building_for_an_officer(
    client_of: Callable[..., TestClient],
    buildings: pd.DataFrame,
    served_sql: Callable[[str], pd.DataFrame],
) -> None:
    officer = client_of("city_officer")
    on_map = map_residents(officer)
    assert set(on_map) == set(buildings.index)
    rooms = served_sql("SELECT room_id, building_id, room_no, floor FROM rooms")
    living = served_sql(
        "SELECT room_id, count(*) AS n FROM person_cards WHERE room_id IS NOT NULL GROUP BY 1"
    ).set_index("room_id")["n"]
    for building_id, on_the_map in on_map.items():
        r = officer.get(f"/api/buildings/{building_id}/rooms")
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["resident"] == on_the_map == int(buildings.loc[building_id, "resident"])
        assert body["households"] == int(buildings.loc[building_id, "households"])
        assert sum(room["resident"] for room in body["rooms"]) == body["resident"]
        assert sum(room["households"] for room in body["rooms"]) == body["households"]
        expected = rooms[rooms["building_id"] == building_id]
        assert sorted(room["room_id"] for room in body["rooms"]) == sorted(expected["room_id"])
        for room in body["rooms"]:
            assert room["resident"] == int(living.get(room["room_id"], 0))
            assert room["households"] == (1 if room["resident"] else 0)
        floors = [room["floor"] for room in body["rooms"]]
        assert floors == sorted(floors)
    assert int(living.sum()) == int(buildings["resident"].sum()) > 0


@pytest.mark.parametrize("role", ["health", "education", "civil_affairs", "human_resources"])
def test_a_department_never_gets_a_room_count_or_a_count_of_1_to_10(
    client_of: Callable[..., TestClient], buildings: pd.DataFrame, role: str
) -> None:
    department = client_of(role)
    on_map = map_residents(department)
    hidden = rooms = 0
    for building_id in buildings.index:
        body = department.get(f"/api/buildings/{building_id}/rooms").json()
        for measure in ("resident", "households"):
            value = body[measure]
            assert value is None or value == 0 or value > 10, (building_id, measure, value)
            hidden += value is None
        # The building's residents are those the map shows: one suppression for both.
        assert body["resident"] == on_map[building_id]
        for room in body["rooms"]:
            assert room["resident"] is None and room["households"] is None, room
            rooms += 1
    assert hidden > 0 and rooms > 100  # some buildings are small: the control had work to do
