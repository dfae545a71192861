"""Portrait rules: the YAML file of tags, typed and validated.

The shipped defaults (``tags.yaml`` beside this module) apply unless the project file
names its own (``portraits: {rules: FILE}``). Every problem in a rules file is reported
at once, naming the tag and the fix.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from popbase.errors import ConfigError

DEFAULT_RULES = Path(__file__).with_name("tags.yaml")
Dimension = Literal[
    "basic",
    "education",
    "employment",
    "marriage_childbearing",
    "health",
    "elderly_care",
    "social_assistance",
    "housing",
    "participation",
    "identity",
    "x",
]
DIMENSION_LABELS: dict[str, str] = {
    "basic": "基础信息",
    "education": "教育",
    "employment": "就业",
    "marriage_childbearing": "婚育",
    "health": "健康",
    "elderly_care": "养老",
    "social_assistance": "社会救助与残疾",
    "housing": "住房",
    "participation": "社会参与",
    "identity": "社会身份",
    "x": "扩展",
}
# A fact condition may use these columns of person_facts, and no statement separators.
FACT_COLUMNS = (
    "sex",
    "age",
    "age_band",
    "ethnicity",
    "residency_status",
    "employed",
    "lives_alone",
    "household_relation",
    "room_origin",
    "division_code",
)
_FORBIDDEN = re.compile(r";|--|/\*|\b(select|insert|update|delete|drop|create|attach|copy)\b", re.I)


class TagRule(BaseModel):
    """One tag: who carries it, from a fact condition or from source events."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(description="Identifier: ASCII letters, digits and '_'")
    label: str = Field(description="Chinese label")
    label_en: str | None = None
    dimension: Dimension
    fact: str | None = Field(default=None, description="SQL condition on the person's facts")
    event: list[str] | None = Field(default=None, description="Event types that give the tag")
    detail_contains: str | None = None
    sources: list[str] | None = None
    within_days: int | None = Field(default=None, gt=0)
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None

    @field_validator("id")
    @classmethod
    def _identifier(cls, v: str) -> str:
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", v):
            raise ValueError(f"was {v!r}; use ASCII letters, digits and '_' (e.g. 'elderly')")
        return v

    @field_validator("event", "sources", mode="before")
    @classmethod
    def _one_or_many(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v

    @field_validator("fact")
    @classmethod
    def _plain_condition(cls, v: str | None) -> str | None:
        if v is not None and _FORBIDDEN.search(v):
            raise ValueError(
                f'{v!r} is not a plain condition; write one like "age >= 60 AND lives_alone"'
            )
        return v

    @model_validator(mode="after")
    def _one_condition(self) -> TagRule:
        if (self.fact is None) == (self.event is None):
            raise ValueError("give exactly one of `fact` (a condition) or `event` (event types)")
        if self.fact is not None and (self.detail_contains or self.sources or self.within_days):
            raise ValueError("detail_contains, sources and within_days go with `event` only")
        if self.valid_from and self.valid_to and self.valid_from > self.valid_to:
            raise ValueError("valid_from is after valid_to")
        return self


class PortraitRules(BaseModel):
    """A rules file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tags: list[TagRule]

    @field_validator("tags")
    @classmethod
    def _unique(cls, v: list[TagRule]) -> list[TagRule]:
        seen: set[str] = set()
        for rule in v:
            if rule.id in seen:
                raise ValueError(f"tag {rule.id!r} is defined twice; tag ids must be unique")
            seen.add(rule.id)
        return v


def load_rules(path: Path | None = None) -> PortraitRules:
    """Read and validate a rules file (the shipped defaults when ``path`` is None).

    Raises
    ------
    ConfigError
        Listing every problem, each naming the tag it is in.
    """
    file = path or DEFAULT_RULES
    if not file.is_file():
        raise ConfigError(file, ["no rules file here; fix `portraits: {rules: …}` in popbase.yaml"])
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(file, [f"not valid YAML: {exc}"]) from None
    try:
        return PortraitRules.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            where = error["loc"]
            tag = ""
            if len(where) >= 2 and where[0] == "tags" and isinstance(where[1], int):
                raw = (data or {}).get("tags", [])
                entry = raw[where[1]] if where[1] < len(raw) else {}
                name = entry.get("id") if isinstance(entry, dict) else None
                tag = f"tag {where[1] + 1} ({name!r})" if name else f"tag {where[1] + 1}"
                where = where[2:]
            field = ".".join(str(p) for p in where)
            prefix = ", ".join(p for p in (tag, field) if p)
            problems.append(f"{prefix}: {error['msg']}" if prefix else error["msg"])
        raise ConfigError(file, problems) from None
