"""The ``sources:`` section: each department delivery, its columns, events and tags."""

from __future__ import annotations

import datetime as dt
import difflib
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from popbase.config._base import _Strict
from popbase.config.space import check_crs

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
        return check_crs(v)

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
