"""Roles and the decision table: what a role may do, and with which fields.

Roles come from a YAML file (the defaults ship in ``security/roles.yaml``; a project
names its own under ``access: {roles: …}``). :func:`decide` is the single function that
turns a role, a field class and an action into ``allow``, ``mask`` or ``deny``; the API
asks it for every field of every response, and :func:`decision_table` lists every cell.
Policies only allow: a field class a role does not list, or an action it does not have,
is denied. Every request is audited, whatever the decision.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path
from typing import Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from popbase.errors import ConfigError
from popbase.portraits.rules import Dimension

Decision = Literal["allow", "mask", "deny"]
Action = Literal["aggregate", "read", "list", "export", "verify", "admin"]
Level = Literal["city", "district", "street", "community", "grid"]

ACTIONS: tuple[Action, ...] = ("aggregate", "read", "list", "export", "verify", "admin")
LEVELS: tuple[Level, ...] = ("city", "district", "street", "community", "grid")
# The portrait dimensions, as the rules file defines them.
TAG_DIMENSIONS: tuple[str, ...] = get_args(Dimension)
FIELD_CLASSES: tuple[str, ...] = (
    "id_number",
    "phone",
    "name",
    "birth_date",
    "basic",
    "residence",
    "hukou",
    "household",
    "employment",
    *(f"tags.{d}" for d in TAG_DIMENSIONS),
)
MASKABLE = ("id_number", "phone", "name", "birth_date")
# Actions that show person-level fields; aggregates show counts only.
PERSON_ACTIONS: tuple[Action, ...] = ("read", "list", "export")
# Digits of a scope prefix per level; a grid code is longer than a committee's.
SCOPE_DIGITS = {"city": (4,), "district": (6,), "street": (9,), "community": (12,)}


class Role(BaseModel):
    """One role: its level, actions, field policy and disclosure control."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    label: str
    level: Level
    actions: tuple[Action, ...]
    fields: dict[str, Decision] = Field(default_factory=dict)
    suppress_below: Level | None = Field(
        default=None,
        description="Aggregates of units below this level are disclosure-controlled",
    )

    @field_validator("fields")
    @classmethod
    def _known_classes(cls, fields: dict[str, Decision]) -> dict[str, Decision]:
        problems = []
        for name, decision in fields.items():
            if name != "tags.*" and name not in FIELD_CLASSES:
                problems.append(f"unknown field class {name!r} (known: {', '.join(FIELD_CLASSES)})")
            elif decision == "mask" and name not in MASKABLE:
                problems.append(f"{name!r} cannot be masked; use allow or deny")
        if problems:
            raise ValueError("; ".join(problems))
        return fields

    def field_decision(self, field_class: str) -> Decision:
        """The role's own decision for a field class, before the action is considered."""
        if field_class in self.fields:
            return self.fields[field_class]
        if field_class.startswith("tags.") and "tags.*" in self.fields:
            return self.fields["tags.*"]
        return "deny"


class Roles(BaseModel):
    """The roles file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    roles: tuple[Role, ...]

    def get(self, role_id: str) -> Role | None:
        """The role with this id, or None."""
        return next((r for r in self.roles if r.id == role_id), None)


DEFAULT_ROLES = "roles.yaml"


def load_roles(path: Path | None = None) -> Roles:
    """Read a roles file (the shipped defaults when ``path`` is None).

    Raises
    ------
    ConfigError
        If the file cannot be read or a role is invalid, with every problem listed.
    """
    if path is None:
        text = (
            importlib.resources.files("popbase.security")
            .joinpath(DEFAULT_ROLES)
            .read_text(encoding="utf-8")
        )
        where = Path(DEFAULT_ROLES)
    else:
        where = Path(path)
        try:
            text = where.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(where, [f"cannot read the roles file: {exc.strerror}"]) from None
    try:
        roles = Roles.model_validate(yaml.safe_load(text))
    except (ValidationError, yaml.YAMLError) as exc:
        errors = (
            [
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg'].removeprefix('Value error, ')}"
                for e in exc.errors()
            ]
            if isinstance(exc, ValidationError)
            else [str(exc)]
        )
        raise ConfigError(where, errors) from None
    ids = [r.id for r in roles.roles]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise ConfigError(where, [f"role {i!r} is defined more than once" for i in repeated])
    return roles


def decide(role: Role, field_class: str, action: Action) -> Decision:
    """Whether ``role`` sees ``field_class`` whole, masked or not at all in ``action``.

    Aggregates are counts: a class the role may see in any form may be counted, and
    verification shows no fields. An action the role does not have denies everything.

    Examples
    --------
    >>> r = Role(id="w", label="w", level="grid", actions=("read", "aggregate"),
    ...          fields={"name": "mask", "tags.*": "allow"})
    >>> decide(r, "name", "read"), decide(r, "name", "export"), decide(r, "phone", "read")
    ('mask', 'deny', 'deny')
    >>> decide(r, "tags.health", "aggregate"), decide(r, "name", "aggregate")
    ('allow', 'deny')
    """
    if action not in role.actions or action in ("verify", "admin"):
        return "deny"
    decision = role.field_decision(field_class)
    if action == "aggregate":
        # Counts reveal no identifier: only classes one may count by are allowed.
        countable = field_class not in MASKABLE
        return "allow" if countable and decision != "deny" else "deny"
    return decision


def decision_table(roles: Roles) -> list[dict[str, str]]:
    """Every cell: role × field class × action → decision (each request is also audited)."""
    return [
        {
            "role": role.id,
            "field_class": field_class,
            "action": action,
            "decision": decide(role, field_class, action),
            "audit": "yes",
        }
        for role in roles.roles
        for field_class in FIELD_CLASSES
        for action in ACTIONS
    ]


def scope_fits(level: Level, scope: str) -> bool:
    """Whether a scope prefix has the form of a division code of ``level``.

    Examples
    --------
    >>> scope_fits("street", "310112001"), scope_fits("street", "31011200")
    (True, False)
    >>> scope_fits("grid", "310112001001001"), scope_fits("community", "3101120010x1")
    (True, False)
    """
    if not scope.isdigit():
        return False
    if level == "grid":
        return len(scope) > 12
    return len(scope) in SCOPE_DIGITS[level]
