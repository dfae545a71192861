"""The one place where the API decides who may see what.

Every endpoint asks the :class:`Gate`: who the caller is (a bearer token checked against
the users file), whether their role has the action, which records their jurisdiction
holds (a division-code prefix, applied in SQL the same way to lists and single records),
and which fields of a record they see whole, masked or not at all
(:func:`popbase.security.access.decide`). A record outside the caller's jurisdiction is
answered exactly as a record that does not exist.
"""

from __future__ import annotations

import datetime as dt
import hmac
import re
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import HTTPException

from popbase.config import AccessConfig, Project
from popbase.security.access import Action, Role, Roles, decide, load_roles
from popbase.security.audit_key import audit_key_for
from popbase.security.candidates import (
    ID_MASKS,
    PHONE_MASKS,
    MaskPlan,
    mask_shape,
    plan_masks,
)
from popbase.security.disclosure import coarsened
from popbase.security.masking import mask_birth_date
from popbase.security.pseudonym import TOKEN_KEY_ENV, TOKEN_KEY_FILE, pseudonym_key, secret_key
from popbase.security.sealing import seal_key, unseal
from popbase.security.throttle import BoundedHashing, Throttle
from popbase.security.tokens import Claims, issue_token, read_token
from popbase.security.users import User, UserStore, hasher_for

# Output fields of a person per field class (tags are filtered by dimension apart).
PERSON_FIELDS: dict[str, tuple[str, ...]] = {
    "basic": ("sex", "age", "age_band", "ethnicity", "status"),
    "residence": ("division_code", "room_id", "residency_status", "months_here"),
    "hukou": ("hukou_room_id", "hukou_division_code"),
    "household": ("household_id", "relation"),
    "employment": ("employer_credit_code",),
}
# What a person lookup selects: the served person with its identity (one indexed table).
PERSON_SELECT = """
    SELECT p.person_id, p.sex, CAST(p.birth_date AS VARCHAR) AS birth_date, p.status,
           p.residency_status, p.months_here, p.division_code, p.room_id,
           p.hukou_room_id, p.hukou_division_code, p.employer_credit_code,
           p.household_id, p.relation, p.name, p.name_masked, p.id_masked, p.id_sealed,
           p.phone_masked, p.phone_sealed, p.age, p.age_band, p.ethnicity
    FROM person_cards p
"""
NOT_FOUND = "not found, or outside your jurisdiction"
# The OpenAPI description of that answer, for endpoints that give it.
NOT_FOUND_RESPONSE: dict[int | str, dict[str, Any]] = {
    404: {"description": "Not found, or outside your jurisdiction"}
}


@lru_cache(maxsize=64)
def _plan(role_json: str, minimum: int, as_of: dt.date) -> MaskPlan:
    # Keyed by the role's whole definition: a changed roles file gets its own masks.
    return plan_masks(Role.model_validate_json(role_json), minimum, as_of)


def _masked_name(row: dict[str, Any], plan: MaskPlan) -> str | None:
    """The served name mask (surname and last character), or the surname alone."""
    if plan.name_keeps_last:
        masked: str | None = row["name_masked"]
        return masked
    name = (row["name"] or "").strip()
    return name[:1] + "*" * (len(name) - 1) if name else None


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: user name, role and jurisdiction (division-code prefix)."""

    user: str
    role: Role
    scope: str


def not_found(what: str) -> HTTPException:
    """The one answer for a record that does not exist or lies outside the caller's scope."""
    return HTTPException(404, f"{what} {NOT_FOUND}")


class Gate:
    """Authentication and authorisation for one served project.

    Parameters
    ----------
    output_dir
        The project's output folder (for the keys kept beside the snapshots).
    access
        The project's ``access:`` settings.
    root
        The project folder; relative paths of ``access:`` resolve here.
    """

    def __init__(self, output_dir: Path, access: AccessConfig, root: Path) -> None:
        def at(p: Path) -> Path:
            return p if p.is_absolute() else root / p

        self.access = access
        self.roles: Roles = load_roles(at(access.roles) if access.roles else None)
        cost = access.password_hash
        self.users = UserStore(
            at(access.users),
            self.roles,
            hasher_for(cost.time_cost, cost.memory_kib, cost.parallelism),
        )
        self.audit_path = at(access.audit_log)
        self.audit_key = audit_key_for(
            output_dir, at(access.audit_key) if access.audit_key else None, self.audit_path
        )
        store = at(access.throttle.store)
        self.throttle = Throttle(store, access.throttle)
        self.hashing = BoundedHashing(
            access.throttle.hashing_queue, store.with_name(store.name + ".hashing.lock")
        )
        self._plans: dict[str, MaskPlan] = {}
        self._token_key = secret_key(output_dir, TOKEN_KEY_ENV, TOKEN_KEY_FILE)
        self._pseudonym_key = pseudonym_key(output_dir)
        self._seal_key = seal_key(self._pseudonym_key)

    @classmethod
    def for_project(cls, project: Project) -> Gate:
        """The gate of a loaded project."""
        return cls(project.output_dir, project.config.access, project.root)

    @property
    def pseudonym_key(self) -> str:
        """The key that turns an ID number into a person id (for lookups by ID)."""
        return self._pseudonym_key

    # ---- who is calling ----

    def login(self, name: str, password: str) -> tuple[str, int] | None:
        """A bearer token and its expiry for a valid name and password, else None.

        No limit applies here; the sign-in endpoint applies :attr:`throttle` first.
        """
        user = self.users.authenticate(name, password)
        return None if user is None else self.issue(user)

    def issue(self, user: User) -> tuple[str, int]:
        """A bearer token for an authenticated user, and its expiry."""
        expires = int(time.time() + self.access.token_hours * 3600)
        claims = Claims(user.name, user.role, user.scope, expires, user.credential)
        return issue_token(claims, self._token_key), expires

    def principal(self, authorization: str | None) -> Principal | None:
        """The caller of a request's ``Authorization: Bearer …`` header, or None.

        The token must be valid and unexpired, and its user must still exist with the
        same role, scope and credential (a new password or a revocation draws a new one).
        """
        if not authorization or not authorization.startswith("Bearer "):
            return None
        claims = read_token(authorization.removeprefix("Bearer ").strip(), self._token_key)
        if claims is None:
            return None
        user = self.users.get(claims.user)
        if (
            user is None
            or user.role != claims.role
            or user.scope != claims.scope
            or not hmac.compare_digest(user.credential, claims.credential)
        ):
            return None
        role = self.roles.get(user.role)
        return Principal(user.name, role, user.scope) if role else None

    # ---- what they may do ----

    @staticmethod
    def require(principal: Principal | None, action: Action) -> Principal:
        """The principal, if it may perform ``action``; else 401 or 403."""
        if principal is None:
            raise HTTPException(
                401,
                "sign in first: POST /api/token with your user name and password, then "
                "send `Authorization: Bearer <token>`",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if action not in principal.role.actions:
            raise HTTPException(403, f"role {principal.role.id!r} may not {action}")
        return principal

    @classmethod
    def require_counts(cls, principal: Principal | None) -> Principal:
        """The principal, if it may count residents (``aggregate`` of ``residence``)."""
        who = cls.require(principal, "aggregate")
        if decide(who.role, "residence", "aggregate") == "deny":
            raise HTTPException(403, f"role {who.role.id!r} may not count residents")
        return who

    @staticmethod
    def person_scope(principal: Principal, alias: str = "p") -> tuple[str, list[Any]]:
        """SQL condition and parameters: persons living or registered in the jurisdiction.

        The same condition serves lists and single records, so a list holds exactly the
        records a single lookup would return. A prefix matches codes that begin with it
        and nothing else: a wrong prefix hides everything.
        """
        return (
            f"(starts_with({alias}.division_code, ?) "
            f"OR starts_with({alias}.hukou_division_code, ?))",
            [principal.scope, principal.scope],
        )

    @staticmethod
    def holds_person(principal: Principal, row: dict[str, Any]) -> bool:
        """Whether a person lies in the jurisdiction: :meth:`person_scope`, in Python.

        For one person found without SQL (:mod:`popbase.api.lookup`); it must agree with
        the SQL condition, which the isolation tests check person by person.
        """
        return any(
            isinstance(code, str) and code.startswith(principal.scope)
            for code in (row.get("division_code"), row.get("hukou_division_code"))
        )

    @staticmethod
    def unit_scope(principal: Principal, column: str = "code") -> tuple[str, list[Any]]:
        """SQL condition and parameters: units inside the jurisdiction."""
        return f"starts_with({column}, ?)", [principal.scope]

    def mask_plan(self, role: Role) -> MaskPlan:
        """The masks of ``role``: what else it sees leaves ``access.mask_candidates``."""
        plan = self._plans.get(role.id)
        if plan is None:
            plan = _plan(role.model_dump_json(), self.access.mask_candidates, dt.date.today())
            self._plans[role.id] = plan
        return plan

    def shape_person(
        self, principal: Principal, action: Action, row: dict[str, Any], tags: list[dict[str, Any]]
    ) -> dict[str, Any]:
        """A person as ``principal`` may see it in ``action``: fields whole, masked or left out."""
        role = principal.role
        out: dict[str, Any] = {"person_id": row["person_id"]}
        plan = self.mask_plan(role)
        name = decide(role, "name", action)
        if name != "deny":
            out["name"] = row["name"] if name == "allow" else _masked_name(row, plan)
        for field, masked, sealed, shown, served in (
            ("id_number", "id_masked", "id_sealed", plan.id_shown, ID_MASKS[0]),
            ("phone", "phone_masked", "phone_sealed", plan.phone_shown, PHONE_MASKS[0]),
        ):
            decision = decide(role, field, action)
            if decision == "allow":
                out[field] = unseal(row[sealed], self._seal_key)
            elif decision == "mask" and shown == served:
                out[field] = row[masked]  # the base's own mask is the role's
            elif decision == "mask":
                # A mask hiding more (popbase.security.candidates), from the whole value.
                whole = unseal(row[sealed], self._seal_key)
                digits = re.sub(r"\D", "", whole)[-11:] if whole and field == "phone" else whole
                out[field] = mask_shape(digits, shown) if digits else None
        birth = decide(role, "birth_date", action)
        if birth != "deny":
            out["birth_date"] = (
                row["birth_date"] if birth == "allow" else mask_birth_date(row["birth_date"])
            )
        for field_class, fields in PERSON_FIELDS.items():
            if decide(role, field_class, action) == "allow":
                out.update({f: row[f] for f in fields})
        out["tags"] = [t for t in tags if decide(role, f"tags.{t['dimension']}", action) == "allow"]
        # A role whose counts are suppressed below a level sees residences only down to it.
        return out if role.suppress_below is None else coarsened(out, role.suppress_below)
