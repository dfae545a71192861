"""Response models of the API, as they appear in its OpenAPI document (``/docs``)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, Field


class UnitLevel(StrEnum):
    """Levels of division units: the nested divisions and the micro-grids inside them."""

    district = "district"
    street = "street"
    community = "community"
    grid = "grid"


class Problem(BaseModel):
    """An error: what went wrong and how to fix it."""

    detail: str


class Totals(BaseModel):
    """Totals of the whole base."""

    resident: int = Field(description="Residents of the region (sum over its top units)")
    units: dict[str, int] = Field(description="Number of units per level")


class Summary(BaseModel):
    """What the current snapshot covers."""

    snapshot: str = Field(description="Id of the snapshot being served")
    region: dict[str, Any] = Field(description="The region the base covers, from the manifest")
    created: str | None = Field(description="When the snapshot was built")
    totals: Totals


class UnitProperties(BaseModel):
    """A division unit's figures."""

    code: str = Field(description="Statistical division code")
    name: str
    level: str
    parent_code: str | None
    resident: int | None = Field(description="Resident population")
    households: int | None
    area_km2: float | None
    density: int | None = Field(description="Residents per km², rounded")


class ChildUnit(BaseModel):
    """A unit directly inside another."""

    code: str
    name: str
    level: str
    resident: int | None


class UnitDetail(UnitProperties):
    """A unit's figures and the units directly inside it."""

    children: list[ChildUnit]


class UnitFeatureProperties(UnitProperties):
    """A unit's figures on the map, with the point where its name is written."""

    label_lon: float | None = Field(description="Longitude of a point well inside the unit")
    label_lat: float | None = Field(description="Latitude of that point")


class UnitFeature(BaseModel):
    """A unit as a GeoJSON feature (EPSG:4490 lon/lat)."""

    type: Literal["Feature"]
    geometry: dict[str, Any] | None
    properties: UnitFeatureProperties


class UnitCollection(BaseModel):
    """Units of one level as a GeoJSON FeatureCollection."""

    type: Literal["FeatureCollection"]
    bbox: list[float] | None = Field(
        default=None, description="minlon, minlat, maxlon, maxlat of all features"
    )
    features: list[UnitFeature]


class BuildingProperties(BaseModel):
    """A building's figures."""

    building_id: str
    address: str | None
    use: str | None
    floors: int | None
    resident: int | None


class BuildingFeature(BaseModel):
    """A building as a GeoJSON feature (EPSG:4490 lon/lat): its footprint, or a point."""

    type: Literal["Feature"]
    geometry: dict[str, Any] | None
    properties: BuildingProperties


class BuildingCollection(BaseModel):
    """Buildings in a bounding box as a GeoJSON FeatureCollection."""

    type: Literal["FeatureCollection"]
    matched: int = Field(description="Buildings intersecting the bounding box")
    truncated: bool = Field(description="True when more matched than `limit` allowed")
    features: list[BuildingFeature]


class RoomOccupancy(BaseModel):
    """A room of a building and who lives in it, counted."""

    room_id: str
    room_no: str | None = Field(description="The room's number in its building, e.g. 1501")
    floor: int | None
    origin: str | None = Field(
        description="housing: in the housing table; rebuilt: known from residents' addresses"
    )
    resident: int | None = Field(description="Persons living in the room (None: suppressed)")
    households: int | None = Field(
        description="Households living in the room: the base counts one per occupied room"
    )


class BuildingOccupancy(BaseModel):
    """A building, its totals and its rooms."""

    building_id: str
    address: str | None
    use: str | None
    floors: int | None
    division_code: str | None = Field(description="The grid (or committee) it stands in")
    community_code: str | None
    resident: int | None = Field(description="Persons living in the building (None: suppressed)")
    households: int | None = Field(description="Occupied rooms (None: suppressed)")
    rooms: list[RoomOccupancy]
