"""The ``space:`` section: basemap layers, their fields, CRS and levels."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import ClassVar

from pydantic import (
    Field,
    field_serializer,
    field_validator,
)

from popbase.config._base import _Strict

# Canonical fields per basemap layer, with the file field each maps to unless `fields:`
# says otherwise ("" = no default: read only when mapped). Besides these, a layer read from
# a table maps `wkt` or `lon`/`lat` to its geometry columns.
LAYER_FIELDS: dict[str, dict[str, str]] = {
    # parent: the code of the division one level up, or its name (所属街道 = 江川路街道).
    "divisions": {"code": "code", "name": "name", "level": "", "parent": ""},
    "grids": {"code": "grid_code", "name": "name", "community": ""},
    # compound: the residential compound (小区) a building belongs to, if the basemap says.
    "buildings": {
        "id": "building_id",
        "address": "address",
        "use": "use",
        "floors": "floors",
        "compound": "",
    },
    "facilities": {
        "id": "facility_id",
        "name": "name",
        "type": "type",
        "capacity": "capacity",
        "building": "building_id",
    },
    # roads: only their names are read (a road the basemap knows is read as a road).
    "roads": {"id": "", "name": "name"},
    "rooms": {
        "id": "room_id",
        "building": "building_id",
        "room_no": "room_no",
        "floor": "floor",
        "area": "area",
        "use": "use",
    },
}
GEOMETRY_FIELDS = ("wkt", "lon", "lat")

# What each layer of the space section looks like, shown with every error in that section.
LAYER_EXAMPLES: dict[str, str] = {
    "divisions": "divisions: {path: basemap/divisions.geojson, fields: {code: 区划代码, "
    "name: 名称}}",
    "divisions_several": "divisions: [{path: basemap/streets.shp, crs: EPSG:4549, "
    "level: street, fields: {code: 街道代码, name: 街道名称}}, {path: basemap/committees.geojson, "
    "crs: GCJ-02, level: community, fields: {code: 居委代码, name: 居委名称, parent: 所属街道}}]",
    "grids": "grids: {path: basemap/grids.geojson, fields: {code: 网格代码, name: 网格名称, "
    "community: 所属居委代码}}",
    "buildings": "buildings: {path: basemap/buildings.gpkg, fields: {id: 建筑编号, "
    "address: 门牌地址, use: 用途, floors: 层数}}",
    "roads": "roads: {path: basemap/roads.geojson}",
    "facilities": "facilities: {path: basemap/facilities.csv, crs: EPSG:4490, "
    "fields: {id: 设施编号, name: 名称, type: 类型, lon: 经度, lat: 纬度}}",
    "rooms": "rooms: {path: basemap/rooms.xlsx, fields: {building: 建筑编号, room_no: 室号, "
    "floor: 楼层}}",
}


def space_example(layer: str | None) -> str:
    """How the layer ``layer`` of the space section is written (the whole section for None).

    Examples
    --------
    >>> space_example("rooms")
    '`rooms: {path: basemap/rooms.xlsx, fields: {building: 建筑编号, room_no: 室号, floor: 楼层}}`'
    """
    if layer == "divisions":
        return (
            f"one layer, `{LAYER_EXAMPLES['divisions']}`, or several, "
            f"`{LAYER_EXAMPLES['divisions_several']}`"
        )
    if layer in LAYER_EXAMPLES:
        return f"`{LAYER_EXAMPLES[layer]}`"
    return f"`space: {{{LAYER_EXAMPLES['divisions']}, {LAYER_EXAMPLES['buildings']}}}`"


def check_crs(v: str) -> str:
    """Return ``v`` if pyproj reads it as a CRS or it names GCJ-02/BD-09; else raise."""
    # Imported here: reading a project file should not load PROJ unless needed.
    import pyproj

    from popbase.space.offsets import offset_crs_name

    if offset_crs_name(v) is None:
        try:
            pyproj.CRS.from_user_input(v)
        except pyproj.exceptions.CRSError:
            raise ValueError(
                f"was {v!r}, expected a CRS such as 'EPSG:4326', 'EPSG:4490', 'EPSG:4549' "
                "or 'GCJ-02'"
            ) from None
    return v


class LayerConfig(_Strict):
    """A basemap layer: a file and the mapping of its fields to canonical names."""

    # Which layer of LAYER_FIELDS the canonical names under `fields:` are checked against.
    kind: ClassVar[str | None] = None

    path: Path
    crs: str | None = Field(
        default=None,
        description="CRS of the coordinates (wins over the file's): EPSG:4490, GCJ-02, BD-09 ...",
    )
    layer: str | None = Field(default=None, description="Layer to read when the file has several")
    fields: dict[str, str] = Field(default_factory=dict)

    @field_validator("crs")
    @classmethod
    def _readable_crs(cls, v: str | None) -> str | None:
        return None if v is None else check_crs(v)

    @field_validator("fields")
    @classmethod
    def _known_layer_fields(cls, fields: dict[str, str]) -> dict[str, str]:
        if cls.kind is None:
            return fields
        known = (*LAYER_FIELDS[cls.kind], *GEOMETRY_FIELDS)
        problems = []
        for field in fields:
            if field not in known:
                close = difflib.get_close_matches(field, known, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else f"; known: {', '.join(known)}"
                problems.append(f"unknown canonical field {field!r} for the {cls.kind} layer{hint}")
        if problems:
            raise ValueError("; ".join(problems))
        return fields


class DivisionLayerConfig(LayerConfig):
    """A layer of divisions: the area's district, streets/towns and committees, or some."""

    kind: ClassVar[str | None] = "divisions"

    level: str | None = Field(
        default=None,
        description="The level of every feature of the layer (district, street, community, "
        "or 区县/街镇/居委 ...); when unset, a `level` field, else each code's length, says",
    )

    @field_validator("level")
    @classmethod
    def _known_level(cls, v: str | None) -> str | None:
        from popbase.space.divisions import LEVEL_WORDS, level_of_word

        if v is None or level_of_word(v) is not None:
            return v
        raise ValueError(
            f"was {v!r}, expected one of {', '.join(sorted(set(LEVEL_WORDS.values())))} "
            f"or a Chinese level word ({', '.join(k for k in LEVEL_WORDS if not k.isascii())})"
        )


class GridLayerConfig(LayerConfig):
    """Micro-grids (微网格) inside committees."""

    kind: ClassVar[str | None] = "grids"


class BuildingLayerConfig(LayerConfig):
    """Buildings: footprints or points."""

    kind: ClassVar[str | None] = "buildings"


class FacilityLayerConfig(LayerConfig):
    """Facilities: schools, clinics, elderly-care homes ..."""

    kind: ClassVar[str | None] = "facilities"


class RoomLayerConfig(LayerConfig):
    """Rooms (户室) of a housing table."""

    kind: ClassVar[str | None] = "rooms"


class SpaceConfig(_Strict):
    """The basemap: divisions, grids, buildings and optional facilities and rooms.

    ``divisions`` is one layer or a list of layers (streets from one file, committees from
    another); it is always held as a list.
    """

    divisions: list[DivisionLayerConfig]
    grids: GridLayerConfig | None = None
    buildings: BuildingLayerConfig
    roads: LayerConfig | None = None
    facilities: FacilityLayerConfig | None = None
    rooms: RoomLayerConfig | None = None

    @field_validator("divisions", mode="before")
    @classmethod
    def _one_or_several_layers(cls, v: object) -> object:
        if isinstance(v, (dict, LayerConfig)):
            v = [v]
        if isinstance(v, (list, tuple)) and v:
            # A plain LayerConfig made in code is a divisions layer without a level.
            return [x.model_dump() if type(x) is LayerConfig else x for x in v]
        shown = "an empty list" if isinstance(v, (list, tuple)) else repr(v)
        raise ValueError(
            f"was {shown}, expected one layer (a mapping with `path:`) or a list of layers"
        )

    @field_validator("grids", "buildings", "facilities", "rooms", mode="before")
    @classmethod
    def _layer_of_its_kind(cls, v: object) -> object:
        # A plain LayerConfig made in code becomes the layer of its place.
        return v.model_dump() if type(v) is LayerConfig else v

    @field_serializer("divisions")
    def _one_layer_as_a_mapping(self, layers: list[DivisionLayerConfig]) -> object:
        # Written back as the user would write it: one layer as a mapping.
        return layers[0] if len(layers) == 1 else layers


# Examples the errors of `events:` and `tags:` entries show.
