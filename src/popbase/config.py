"""The project file ``popbase.yaml``, typed and validated.

A project file names the area the base covers, the basemap layers and every department
source with its format, encoding, header layout and column mapping. :func:`load_project`
reads it, collects *every* problem with the line of YAML it comes from, and raises one
:class:`~popbase.errors.ConfigError` listing them all.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_serializer,
    field_validator,
    model_validator,
)

from popbase.errors import ConfigError

if TYPE_CHECKING:
    from popbase.values.vocabulary import Vocabulary

PROJECT_FILE = "popbase.yaml"

SourceKind = Literal["person", "enterprise", "room", "signaling"]

# Canonical fields a source may map, per kind. Stages read only these names, so any
# department's column names work once mapped here.
CANONICAL_FIELDS: dict[str, tuple[str, ...]] = {
    "person": (
        "record_no",
        "id_number",
        "name",
        "sex",
        "birth_date",
        "ethnicity",
        "phone",
        "residence_address",
        "residence_since",
        "residence_months",
        "hukou_address",
        "hukou_since",
        "household_no",
        "household_status",
        "relation",
        "person_status",
        "marital_status",
        "spouse_id_number",
        "education",
        "employer_credit_code",
        "employer_name",
        "event_type",
        "event_detail",
        "event_date",
        "community_name",
        "text",
        "lon",
        "lat",
    ),
    "enterprise": (
        "credit_code",
        "name",
        "address",
        "legal_person",
        "founded",
        "industry",
        "status",
    ),
    "room": ("room_code", "address", "building_address", "room_no", "floor", "area", "use"),
    "signaling": ("grid_code", "date", "hour", "residents", "workers", "visitors"),
}

# The one field each kind cannot do without.
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "person": (),
    "enterprise": ("credit_code", "name"),
    "room": ("address",),
    "signaling": ("grid_code", "hour"),
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProjectInfo(_Strict):
    """What the base covers."""

    name: str
    region_code: str = Field(description="Division code of the area the base covers")
    as_of: dt.date | None = None

    @field_validator("region_code", mode="before")
    @classmethod
    def _region_code_digits(cls, v: str) -> str:
        if not isinstance(v, str) or not v.isdigit() or len(v) not in (2, 4, 6, 9, 12):
            raise ValueError(
                f"was {v!r}, expected a statistical division code of 2, 4, 6, 9 or 12 "
                "digits (e.g. '310112' for a district); quote it so YAML keeps it a string"
            )
        return v


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


def _check_crs(v: str) -> str:
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
        return None if v is None else _check_crs(v)

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
_FLAG_EXAMPLE = "`{column: 孕产妇, event_type: 孕产妇建册}`"
_VALUES_EXAMPLE = "`{column: 人员类别, values: {低保对象: 最低生活保障, 持证残疾人: 残疾人证}}`"
_LIST_EXAMPLE = "`{column: 慢病类型, event_type: 慢病管理, values: [高血压, 糖尿病]}`"
_TAG_EXAMPLE = "`{column: 是否党员, tag: party_member}`"
_TAG_VALUES_EXAMPLE = "`{column: 政治面貌, values: {中共党员: party_member, 群众: }}`"


class ColumnReading(_Strict):
    """A column of a person source whose cells say what each row records.

    Read as a yes/no flag (no ``values``), or by its values, each cell split on 、,，;；/
    and spaces and each part looked up in ``values``; a value mapped to nothing (``群众:``)
    is read and gives nothing.
    """

    column: str = Field(description="The column as the department names it")
    values: dict[str, str | None] | list[str] | None = Field(
        default=None,
        description="Each value the column holds, mapped to what it gives (nothing when "
        "left empty), or a list of values that each give the entry's event type or tag",
    )
    date: str | None = Field(
        default=None,
        description="A column holding the date of what this column gives; the source's "
        "`event_date` column (then its as-of date) when omitted",
    )

    @field_validator("values", mode="before")
    @classmethod
    def _text_values(cls, v: Any) -> Any:
        # YAML reads 1: 低保 as a number and 是: … as text; numbers are meant as the text
        # a cell shows, but a YAML boolean (yes, true, on) cannot be told from its spelling.
        def text(x: Any) -> Any:
            if isinstance(x, bool):
                raise ValueError(
                    f"{x!r} is read by YAML as a yes/no, not as a value of the column; "
                    "quote it (e.g. 'Y', '是', 'true')"
                )
            return str(x) if isinstance(x, int | float) else x

        if isinstance(v, dict):
            return {text(k): text(x) for k, x in v.items()}
        if isinstance(v, list):
            return [text(x) for x in v]
        return v

    @field_validator("values")
    @classmethod
    def _single_values(
        cls, v: dict[str, str | None] | list[str] | None
    ) -> dict[str, str | None] | list[str] | None:
        # Imported here: the reading of cells lives with the events it gives.
        from popbase.portraits.column_events import split_cell

        if v is None:
            return v
        if not v:
            raise ValueError(
                "is empty; list the values the column holds (e.g. `values: [高血压, 糖尿病]`)"
            )
        problems = []
        for value in v:
            parts = split_cell(value)
            if parts != [value]:
                shown = " and ".join(repr(p) for p in parts) or "nothing"
                problems.append(
                    f"value {value!r} holds a separator (、,，;；/ or a space) or is empty; "
                    f"cells are split there and each part read alone, so list {shown} "
                    "separately"
                )
        if problems:
            raise ValueError("; ".join(problems))
        return v

    def _target_problem(
        self, target: str, given: str | None, examples: tuple[str, str, str]
    ) -> str | None:
        flag, mapping, listing = examples
        if not self.column.strip():
            return f"`column:` is empty; name the column as the file's header does, e.g. {flag}"
        if given is not None and not given.strip():
            return f"`{target}:` is empty; name what the column gives, e.g. {flag}"
        if given is None and self.values is None:
            return (
                f"say what column {self.column!r} gives: `{target}:` when it is a yes/no flag "
                f"or a date (是/否, √, 1/0, 2026-03-01), e.g. {flag}, or `values:` for what "
                f"each value gives, e.g. {mapping}"
            )
        if given is not None and isinstance(self.values, dict):
            return (
                f"`values:` of column {self.column!r} maps each value to the {target} it "
                f"gives, so leave out `{target}:`; or list the values that each give it, "
                f"e.g. {listing}"
            )
        if given is None and isinstance(self.values, list):
            return (
                f"the listed values of column {self.column!r} need the `{target}:` they give, "
                f"e.g. {listing}; or map each value to its own, e.g. {mapping}"
            )
        return None

    def targets(self, given: str | None) -> dict[str, str | None] | None:
        """What each value gives, given the entry's own target (None for a yes/no flag)."""
        if self.values is None:
            return None
        if isinstance(self.values, dict):
            return dict(self.values)
        return dict.fromkeys(self.values, given)


class EventColumn(ColumnReading):
    """A column whose cells say which events a row records (``events:``).

    A flag (是/有/Y/1/√/true, or a date: the event's date) gives ``event_type``; with
    ``values``, each value gives its event type and becomes the event's detail.
    """

    event_type: str | None = Field(default=None, description="The event type it gives")

    @model_validator(mode="after")
    def _one_reading(self) -> EventColumn:
        problem = self._target_problem(
            "event_type", self.event_type, (_FLAG_EXAMPLE, _VALUES_EXAMPLE, _LIST_EXAMPLE)
        )
        if problem:
            raise ValueError(problem)
        return self


class TagColumn(ColumnReading):
    """A column whose cells give a tag of the portrait rules directly (``tags:``)."""

    tag: str | None = Field(default=None, description="The id of the tag it gives")

    @model_validator(mode="after")
    def _one_reading(self) -> TagColumn:
        listing = "`{column: 政治面貌, tag: party_member, values: [中共党员, 预备党员]}`"
        examples = (_TAG_EXAMPLE, _TAG_VALUES_EXAMPLE, listing)
        problem = self._target_problem("tag", self.tag, examples)
        if problem:
            raise ValueError(problem)
        return self


class SourceConfig(_Strict):
    """One department delivery."""

    name: str
    department: str
    kind: SourceKind
    path: Path = Field(description="A file, or a folder whose matching files are read")
    pattern: str = Field(default="*", description="Glob for files when `path` is a folder")
    format: Literal["csv", "tsv", "xlsx", "parquet"] | None = None
    encoding: str = "auto"
    sheet: str | int | None = None
    skip_rows: int = Field(default=0, ge=0, description="Notes or title rows above the header")
    header_rows: int = Field(default=1, ge=1, le=5)
    as_of: dt.date | None = None
    priority: int = Field(default=50, description="Trust priority; higher wins in fusion")
    presence: bool = Field(
        default=False,
        description="Rows show the person is in the city now (active social-security "
        "contributions, recent clinic visits): someone registered here whom no residence "
        "source lists, but who has such a row, lives at the hukou room. With `lon`/`lat` "
        "mapped (an operator's night-time residence), a row places the person in the grid "
        "its point lies in, or away when the point lies outside the area",
    )
    hukou_register: bool = Field(
        default=False,
        description="The source is the area's complete hukou register (公安户籍): a person "
        "it does not list is not registered here, whatever hukou address another source "
        "gives (such an address predates a move)",
    )
    crs: str = Field(
        default="EPSG:4490",
        description="CRS of the `lon`/`lat` columns: an EPSG code (EPSG:4326 for GPS and "
        "operator data) or GCJ-02/BD-09 for internet-map coordinates",
    )
    columns: dict[str, str]
    event_type: str | None = Field(
        default=None,
        description="The event type (业务类型) every row records, for a file without an "
        "event-type column; its `event_detail` and `event_date` columns still apply",
    )
    events: list[EventColumn] = Field(
        default_factory=list, description="Columns whose cells say which events a row records"
    )
    tags: list[TagColumn] = Field(
        default_factory=list, description="Columns whose cells give a tag of the rules directly"
    )

    @property
    def reading_columns(self) -> list[str]:
        """The columns ``events:`` and ``tags:`` read (with their date columns), in order."""
        named = [c for e in (*self.events, *self.tags) for c in (e.column, e.date) if c]
        return list(dict.fromkeys(named))

    @field_validator("name")
    @classmethod
    def _name_is_identifier(cls, v: str) -> str:
        if not v.replace("_", "").isalnum() or not v.isascii():
            raise ValueError(
                f"was {v!r}, expected ASCII letters, digits and '_' (e.g. 'police_hukou')"
            )
        return v

    @field_validator("crs")
    @classmethod
    def _readable_crs(cls, v: str) -> str:
        return _check_crs(v)

    @field_validator("columns")
    @classmethod
    def _known_fields(cls, columns: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        # A field validator (not a model one) runs even when another setting of the same
        # source is wrong, so both problems are reported at once.
        kind = info.data.get("kind")
        if kind is None:
            return columns
        known = CANONICAL_FIELDS[kind]
        problems = []
        for field in columns:
            if field not in known:
                close = difflib.get_close_matches(field, known, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else f"; known: {', '.join(known)}"
                problems.append(f"unknown canonical field {field!r} for {kind} sources{hint}")
        for field in REQUIRED_FIELDS[kind]:
            if field not in columns:
                problems.append(f"{kind} sources must map {field!r} under `columns:`")
        if ("lon" in columns) != ("lat" in columns):
            problems.append("map both 'lon' and 'lat' under `columns:`, or neither")
        if problems:
            raise ValueError("; ".join(problems))
        return columns

    @field_validator("event_type")
    @classmethod
    def _constant_event(cls, v: str | None, info: ValidationInfo) -> str | None:
        if v is None:
            return v
        if not v.strip():
            raise ValueError("is empty; give the event type every row records (e.g. 慢病管理)")
        if info.data.get("kind") not in (None, "person"):
            raise ValueError("goes with person sources only; remove it")
        if "event_type" in info.data.get("columns", {}):
            raise ValueError(
                f"the source also maps `event_type` to column "
                f"{info.data['columns']['event_type']!r} under `columns:`; keep one: the "
                "column when rows differ in their event type, or `event_type: "
                f"{v.strip()}` when every row records it"
            )
        return v.strip()

    @field_validator("events", "tags")
    @classmethod
    def _readings(
        cls, v: list[EventColumn] | list[TagColumn], info: ValidationInfo
    ) -> list[EventColumn] | list[TagColumn]:
        if not v:
            return v
        if info.data.get("kind") not in (None, "person"):
            raise ValueError(f"`{info.field_name}:` goes with person sources only; remove it")
        # A column is read one way: each cell as a flag, or split into values. Read both
        # ways, the values of one reading would be unreadable to the other.
        earlier = info.data.get("events", []) if info.field_name == "tags" else []
        flags: dict[str, bool] = {}
        for entry in (*earlier, *v):
            is_flag = entry.values is None
            if flags.setdefault(entry.column, is_flag) != is_flag:
                raise ValueError(
                    f"column {entry.column!r} is read as a yes/no flag in one entry and by "
                    f"its values in another; read it by its values in every entry, e.g. "
                    f"{_LIST_EXAMPLE}"
                )
        return v


class OutputConfig(_Strict):
    """Where builds write their snapshots."""

    dir: Path = Path(".")
    keep_snapshots: int = Field(default=3, ge=1)


class ResolutionConfig(_Strict):
    """Probabilistic resolution of person records without a reliable ID number.

    A record set aside for its ID (missing, mistyped, impossible) joins the known person
    whose records it most probably belongs to when that probability reaches
    ``match_threshold`` and no other person reaches ``review_threshold``; between the two
    it waits in the review queue; below, it founds a person of its own when it lists a
    resident (``unidentified_residents``), or stays in quarantine.
    """

    probabilistic: bool = Field(
        default=True, description="Link records without a reliable ID to known persons"
    )
    match_threshold: float = Field(default=0.9, gt=0.0, lt=1.0)
    review_threshold: float = Field(default=0.5, gt=0.0, lt=1.0)
    training_pairs: int = Field(
        default=1_000_000,
        ge=10_000,
        description="Record pairs sampled for training (u by random pairs, m by EM)",
    )
    unidentified_residents: bool = Field(
        default=True,
        description="A row without a usable ID that matches no known person, with a name, "
        "a birth date and a residence linked to a room, founds a person of its own "
        "(身份待核实); false keeps such rows in quarantine",
    )

    @model_validator(mode="after")
    def _ordered(self) -> ResolutionConfig:
        if self.review_threshold > self.match_threshold:
            raise ValueError(
                f"review_threshold ({self.review_threshold}) is above match_threshold "
                f"({self.match_threshold}); the review band lies below the match threshold"
            )
        return self


class PortraitConfig(_Strict):
    """The "1+9+X" portrait rules."""

    rules: Path | None = Field(
        default=None,
        description="A YAML file of tag rules; the shipped defaults when omitted",
    )


class QualityConfig(_Strict):
    """Thresholds of the quality report: a value beyond one is flagged."""

    min_validation_rate: float = Field(default=0.95, ge=0, le=1)
    min_link_rate: float = Field(default=0.95, ge=0, le=1)
    min_completeness: float = Field(default=0.9, ge=0, le=1)
    min_consistency: float = Field(default=0.98, ge=0, le=1)
    max_age_days: int = Field(default=90, ge=0, description="Days since a source's as-of date")
    max_change_pct: float = Field(
        default=5.0, ge=0, description="Change in a community's residents since the last build"
    )


class PasswordHashConfig(_Strict):
    """Argon2id cost: RFC 9106's second recommended setting by default.

    Lower costs suit only machines that cannot spare 64 MiB per sign-in; OWASP's floor is
    ``memory_kib: 19456, time_cost: 2, parallelism: 1``.
    """

    time_cost: int = Field(default=3, ge=2, le=20)
    memory_kib: int = Field(default=65536, ge=19456, le=4 * 1024 * 1024)
    parallelism: int = Field(default=4, ge=1, le=16)


class AccessConfig(_Strict):
    """Who may use the API: users, roles, tokens and the audit trail."""

    users: Path = Field(
        default=Path("users.json"),
        description="The users file that `popbase users` keeps (Argon2id password hashes)",
    )
    roles: Path | None = Field(
        default=None, description="A roles file; the shipped security/roles.yaml when unset"
    )
    token_hours: float = Field(default=8.0, gt=0, le=24 * 30, description="Bearer token life")
    password_hash: PasswordHashConfig = Field(
        default_factory=lambda: PasswordHashConfig(),
        description="Argon2id cost of new password hashes",
    )
    audit_log: Path = Field(
        default=Path("audit/audit.log"),
        description="The hash-chained audit log of every API request",
    )


class ProjectConfig(_Strict):
    """The whole project file."""

    project: ProjectInfo
    space: SpaceConfig
    sources: list[SourceConfig]
    output: OutputConfig = OutputConfig()
    resolution: ResolutionConfig = ResolutionConfig()
    portraits: PortraitConfig = PortraitConfig()
    quality: QualityConfig = QualityConfig()
    access: AccessConfig = AccessConfig()
    vocabulary: Path | None = Field(
        default=None,
        description="A file of the project's own words (sex, statuses, building use …), "
        "merged over the shipped vocabulary",
    )

    @field_validator("sources")
    @classmethod
    def _unique_names(cls, v: list[SourceConfig]) -> list[SourceConfig]:
        seen: set[str] = set()
        for s in v:
            if s.name in seen:
                raise ValueError(f"source name {s.name!r} is used twice; names must be unique")
            seen.add(s.name)
        return v


class Project:
    """A loaded project: its folder and its validated configuration.

    Parameters
    ----------
    root
        The project folder (where ``popbase.yaml`` lives); relative paths resolve here.
    config
        The validated configuration.
    """

    def __init__(self, root: Path, config: ProjectConfig) -> None:
        self.root = root
        self.config = config

    def path(self, p: Path) -> Path:
        """Resolve a path from the project file against the project folder."""
        return p if p.is_absolute() else self.root / p

    @property
    def output_dir(self) -> Path:
        """Folder that holds ``snapshots/`` and the ``current`` pointer."""
        return self.path(self.config.output.dir)

    @cached_property
    def vocabulary(self) -> Vocabulary:
        """The shipped vocabulary with the project's own file (``vocabulary:``) merged over it."""
        from popbase.values.vocabulary import load_vocabulary

        extension = self.config.vocabulary
        return load_vocabulary(self.path(extension) if extension else None)

    def source(self, name: str) -> SourceConfig:
        """Return the source called ``name``."""
        for s in self.config.sources:
            if s.name == name:
                return s
        raise KeyError(name)

    def __repr__(self) -> str:
        return f"Project({self.root!s}, {self.config.project.name!r})"


def _node_at(node: yaml.Node | None, loc: tuple[int | str, ...]) -> yaml.Node | None:
    """Follow a pydantic error location through the composed YAML tree."""
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            nxt = None
            for k, v in node.value:
                if k.value == key:
                    nxt = v
                    break
            if nxt is None:
                return node
            node = nxt
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int):
            if key >= len(node.value):
                return node
            node = node.value[key]
        else:
            return node
    return node


def _describe(err: Any, root: yaml.Node | None) -> str:
    loc = tuple(x for x in err["loc"] if not (isinstance(x, str) and x.startswith("function-")))
    if (
        loc[:2] == ("space", "divisions")
        and len(loc) > 2
        and isinstance(loc[2], int)
        and isinstance(_node_at(root, loc[:2]), yaml.MappingNode)
    ):
        loc = loc[:2] + loc[3:]  # one layer, held as a list of one: named as it is written
    msg = str(err["msg"]).removeprefix("Value error, ")
    node = _node_at(root, loc)
    # Point an unknown canonical field at its own line, not at the mapping's first.
    unknown = re.match(r"unknown canonical field '([^']+)'", msg)
    if unknown and isinstance(node, yaml.MappingNode):
        node = next((k for k, _ in node.value if k.value == unknown[1]), node)
    line = f"line {node.start_mark.line + 1}: " if node is not None else ""
    where = ".".join(str(x) for x in loc) or "(top level)"
    if err["type"] == "missing":
        msg = "is required but missing"
    elif err["type"] == "extra_forbidden":
        msg = "is not a known setting (check its spelling and indentation)"
    if loc and loc[0] == "space":
        msg = _space_problem(loc, err, msg)
    return f"{line}{where}: {msg}"


def _space_problem(loc: tuple[int | str, ...], err: Any, msg: str) -> str:
    """A problem of the space section, with what it takes and an example of the fix."""
    layer = str(loc[1]) if len(loc) > 1 else None
    if err["type"] in ("model_type", "dict_type") and len(loc) == 1:
        msg = f"was {err['input']!r}, expected a mapping of the basemap's layers"
    elif err["type"] in ("model_type", "dict_type") and len(loc) == 2:
        msg = (
            f"was {err['input']!r}, expected a layer: a mapping with `path:` "
            "(and `fields:`, `crs:`, `layer:`)"
        )
    elif err["type"] == "extra_forbidden" and len(loc) == 2:
        msg += f"; space takes {', '.join(SpaceConfig.model_fields)}"
    elif err["type"] == "extra_forbidden":
        settings = [
            n for n in DivisionLayerConfig.model_fields if layer == "divisions" or n != "level"
        ]
        msg += f"; a {layer} layer takes {', '.join(settings)}"
    stop = "" if msg.endswith(("?", ".")) else "."
    return f"{msg}{stop} Fix: e.g. {space_example(layer)}"


def load_project(path: Path | str) -> Project:
    """Read and validate a project.

    Parameters
    ----------
    path
        The project folder or its ``popbase.yaml``.

    Returns
    -------
    Project
        The project with its validated configuration.

    Raises
    ------
    ConfigError
        Listing every problem found, each with its line in the file.
    """
    path = Path(path)
    file = path / PROJECT_FILE if path.is_dir() else path
    if not file.exists():
        raise ConfigError(
            file,
            [f"no project file here; create {PROJECT_FILE} (or run `popbase sample DIR`)"],
        )
    text = file.read_text(encoding="utf-8")
    try:
        root = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise ConfigError(file, [f"{where}not valid YAML: {exc}"]) from None
    if not isinstance(data, dict):
        raise ConfigError(file, ["the file must be a mapping with project, space and sources"])
    problems = []
    config = None
    try:
        config = ProjectConfig.model_validate(data)
    except ValidationError as exc:
        problems = [_describe(e, root) for e in exc.errors()]
    problems += _missing_paths(data, root, file.parent)
    if config is not None:
        problems += _unknown_tags(config, root, file.parent)
    if problems or config is None:
        raise ConfigError(file, problems)
    project = Project(file.parent, config)
    if config.vocabulary is not None:
        project.vocabulary  # noqa: B018 - read now: its problems are the project file's
    return project


def _missing_paths(data: dict[str, Any], root: yaml.Node | None, folder: Path) -> list[str]:
    """Paths the file names that do not exist, each with its line.

    Read from the raw YAML, so they are found even when other settings are invalid.
    """
    found: list[str] = []

    def check(loc: tuple[int | str, ...], what: str, value: object, example: str = "") -> None:
        if not isinstance(value, str) or not value:
            return
        path = Path(value)
        if not (path if path.is_absolute() else folder / path).exists():
            node = _node_at(root, loc)
            line = f"line {node.start_mark.line + 1}: " if node is not None else ""
            fix = f". Fix: correct `path:`, e.g. {example}" if example else ""
            found.append(
                f"{line}{what}: path {value} does not exist (relative paths are read from "
                f"{folder}){fix}"
            )

    space = data.get("space")
    if isinstance(space, dict):
        for name, layer in space.items():
            several = isinstance(layer, list)
            for i, one in enumerate(layer if several else [layer]):
                if isinstance(one, dict):
                    at: tuple[int | str, ...] = ("space", name, i) if several else ("space", name)
                    where = ".".join(str(x) for x in at)
                    check((*at, "path"), where, one.get("path"), space_example(str(name)))
    check(("vocabulary",), "vocabulary", data.get("vocabulary"))
    sources = data.get("sources")
    if isinstance(sources, list):
        for i, source in enumerate(sources):
            if isinstance(source, dict):
                check(("sources", i, "path"), f"source {source.get('name')!r}", source.get("path"))
    return found


def _unknown_tags(config: ProjectConfig, root: yaml.Node | None, folder: Path) -> list[str]:
    """Tags the sources' ``tags:`` name that the portrait rules lack, each with its line.

    A rules file that does not load is left to the build, which reports its problems.
    """
    if not any(s.tags for s in config.sources):
        return []
    # Imported here: only a project that gives tags from columns needs the rules.
    from popbase.portraits.column_events import unknown_tags
    from popbase.portraits.rules import load_rules

    rules = config.portraits.rules
    try:
        ids = [r.id for r in load_rules(None if rules is None else folder / rules).tags]
    except ConfigError:
        return []
    found = []
    for loc, message in unknown_tags(config.sources, ids):
        node = _node_at(root, loc)
        line = f"line {node.start_mark.line + 1}: " if node is not None else ""
        found.append(f"{line}{'.'.join(str(x) for x in loc)}: {message}")
    return found


def dump_project(config: ProjectConfig) -> str:
    """Render a configuration as YAML text with stable key order."""
    data = config.model_dump(mode="json", exclude_defaults=True)
    data.setdefault("output", {})
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)
