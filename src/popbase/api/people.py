"""Person-level endpoints: sign-in, persons, households and resident verification.

Each endpoint takes the caller from the :class:`~popbase.api.gate.Gate` and asks it for
the action, the jurisdiction and the fields; what it returns, it names in
``request.state.audit_records`` for the audit trail (see :mod:`popbase.api.audit`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from popbase.api.deps import Caller, GateDep, Served, returned
from popbase.api.disclosed import refuse_list_below_floor
from popbase.api.gate import NOT_FOUND_RESPONSE, PERSON_SELECT, Gate, Principal, not_found
from popbase.api.lookup import PersonIndex
from popbase.api.served import ServedSnapshot
from popbase.population.resident_id import validate_id_number
from popbase.security.access import Action, decide
from popbase.security.masking import mask_id_number
from popbase.security.pseudonym import person_id_of

router = APIRouter(prefix="/api")
MAX_PERSONS = 1000
# Tags one request may name: each is a condition of the query, and a real question
# (residents having every one of them) never needs more.
MAX_TAGS = 50
# Digits of a division code up to which a unit is at street level or above.
STREET_DIGITS = 9
PRESENT = ("present_registered", "present_resident", "present_floating")
# What a person's tag says besides the tag itself.
TAG_WHEN = ("source", "valid_from", "valid_to")


class Credentials(BaseModel):
    """A user name and password."""

    username: str
    password: str


class Token(BaseModel):
    """A bearer token and when it expires (seconds since the epoch)."""

    access_token: str
    token_type: str = "bearer"
    expires: int
    role: str
    scope: str


@router.post(
    "/token", response_model=Token, responses={401: {"description": "Wrong name or password"}}
)
def token(credentials: Credentials, gate: GateDep, request: Request) -> Token:
    """Sign in: a bearer token for a user name and password."""
    request.state.audit_params = {"username": credentials.username}
    issued = gate.login(credentials.username, credentials.password)
    if issued is None:
        raise HTTPException(401, "wrong user name or password")
    user = gate.users.users()[credentials.username]
    return Token(access_token=issued[0], expires=issued[1], role=user.role, scope=user.scope)


def _tags_of(served: ServedSnapshot, ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    if not ids:
        return {}
    # One person: an equality the person_id index answers; several: one scan.
    where, params = (
        ("t.person_id = ?", ids[0])
        if len(ids) == 1
        else ("t.person_id IN (SELECT unnest(?::VARCHAR[]))", ids)
    )
    rows = served.query(
        "SELECT t.person_id, t.tag, t.source, CAST(t.valid_from AS VARCHAR) AS valid_from, "
        "CAST(t.valid_to AS VARCHAR) AS valid_to "
        f"FROM person_tags t WHERE {where} ORDER BY t.person_id, t.tag",
        [params],
    )
    out: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        out.setdefault(r.pop("person_id"), []).append(r)
    return {pid: labelled(served, tags) for pid, tags in out.items()}


def labelled(served: ServedSnapshot, tags: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A person's tags (tag, source, valid_from, valid_to) with their labels and dimensions.

    Labels come from the snapshot's few tags, kept with it, not from a join per request.
    """
    catalogue = served.derived(
        "tag_catalogue",
        lambda: {r.pop("tag"): r for r in served.query("SELECT tag, label, dimension FROM tags")},
    )
    return [{"tag": t["tag"], **catalogue[t["tag"]], **{k: t[k] for k in TAG_WHEN}} for t in tags]


def person_sql(where: str, limit: int, unique: bool = False) -> str:
    """The query of persons matching ``where``: the first ``limit`` by person id.

    A lookup by person id (``unique``) is left unordered: DuckDB plans ``ORDER BY …
    LIMIT`` as a top-N joined back to a scan of every column of the table (45 ms per
    lookup in a million persons), while the bare condition is pushed into the scan of
    the one ``person_id`` column (3 ms).

    >>> "ORDER BY" in person_sql("p.person_id = ?", 1, unique=True)
    False
    """
    if unique:
        return f"{PERSON_SELECT} WHERE {where}"
    return f"{PERSON_SELECT} WHERE {where} ORDER BY p.person_id LIMIT {int(limit)}"


def shaped_persons(
    served: ServedSnapshot,
    gate: Gate,
    principal: Principal,
    where: str,
    params: list[Any],
    limit: int,
    action: Action,
    unique: bool = False,
) -> list[dict[str, Any]]:
    """Persons matching ``where`` in the caller's jurisdiction, as it may see them.

    Parameters
    ----------
    served
        The snapshot.
    gate
        Shapes each person to the fields the role may see in ``action``.
    principal
        The caller: its scope is added to ``where``.
    where
        SQL condition on ``person_cards p``, with ``?`` for ``params``.
    params
        Its parameters.
    limit
        At most this many, by person id.
    action
        What the persons are shown for (``read``, ``list``, ``export``).
    unique
        ``where`` pins one person id, so the answer holds one person at most.

    Returns
    -------
    list of dict
        The persons by person id, each with its tags of the dimensions the role may see.
    """
    scope, scope_params = gate.person_scope(principal)
    rows = served.query(person_sql(f"{where} AND {scope}", limit, unique), [*params, *scope_params])
    tags = _tags_of(served, [r["person_id"] for r in rows])
    return [gate.shape_person(principal, action, r, tags.get(r["person_id"], [])) for r in rows]


def checked_tags(principal: Principal, tags: list[str], served: ServedSnapshot) -> None:
    """Refuse too many tags or unknown ones (422), and tags the role may not count (403)."""
    if len(tags) > MAX_TAGS:
        raise HTTPException(
            422,
            f"{len(tags)} tags named, more than the {MAX_TAGS} one request may combine; "
            "name fewer tags (the tags are listed at /api/tags)",
        )
    known = {r["tag"]: r["dimension"] for r in served.query("SELECT tag, dimension FROM tags")}
    for tag in tags:
        if tag not in known:
            raise HTTPException(422, f"no tag {tag!r}; the tags are listed at /api/tags")
        if decide(principal.role, f"tags.{known[tag]}", "aggregate") == "deny":
            raise HTTPException(403, f"role {principal.role.id!r} may not use tag {tag!r}")


def tag_conditions(
    principal: Principal, tags: list[str], served: ServedSnapshot
) -> tuple[str, list[Any]]:
    """SQL: the person has every tag; each tag's dimension must be one the role may see."""
    if not tags:
        return "true", []
    checked_tags(principal, tags, served)
    tags = list(dict.fromkeys(tags))  # a repeated tag adds no condition
    conditions = " AND ".join(
        "EXISTS (SELECT 1 FROM person_tags t WHERE t.person_id = p.person_id AND t.tag = ?)"
        for _ in tags
    )
    return conditions, list(tags)


@router.get("/persons")
def persons(
    request: Request,
    served: Served,
    gate: GateDep,
    principal: Caller,
    q: Annotated[str | None, Query(description="A name (or its beginning) or an ID number")] = None,
    unit: Annotated[str | None, Query(description="Only persons living in this unit")] = None,
    tags: Annotated[str | None, Query(description="Comma-separated tags, all required")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PERSONS)] = 100,
) -> dict[str, Any]:
    """Search persons in your jurisdiction by name, ID number, unit and tags."""
    who = gate.require(principal, "list")
    conditions, params = ["true"], []
    by_id = False
    if q:
        checked = validate_id_number(q.strip())
        if checked.normalized and checked.valid:
            by_id = True
            conditions.append("p.person_id = ?")
            params.append(person_id_of(checked.normalized, gate.pseudonym_key))
        else:
            if decide(who.role, "name", "list") == "deny":
                raise HTTPException(403, f"role {who.role.id!r} may not search by name")
            conditions.append("starts_with(p.name, ?)")
            params.append(q.strip())
    if unit:
        refuse_list_below_floor(who, unit, "list of persons")
        conditions.append("starts_with(p.division_code, ?)")
        params.append(unit)
    tag_sql, tag_params = tag_conditions(who, [t for t in (tags or "").split(",") if t], served)
    conditions.append(tag_sql)
    params.extend(tag_params)
    where = " AND ".join(conditions)
    found = shaped_persons(served, gate, who, where, params, limit, "list", by_id)
    returned(request, [p["person_id"] for p in found])
    return {"persons": found, "count": len(found), "limit": limit}


@router.get(
    "/persons/{person_id}",
    response_model=dict[str, Any],
    responses=NOT_FOUND_RESPONSE,
)
async def person(
    request: Request, person_id: str, served: Served, gate: GateDep, principal: Caller
) -> JSONResponse:
    """One person in your jurisdiction, with the fields your role may see."""
    who = gate.require(principal, "read")
    index = served.mapped_index()
    # On the event loop when the lookup files are mapped: a tenth of a millisecond, less
    # than the hop to a worker thread. A query, or mapping the files, goes to a thread.
    if index is not None:
        found = _person_of_index(index, served, gate, who, person_id)
    else:
        found = await run_in_threadpool(_person, served, gate, who, person_id)
    if not found:
        raise not_found("person")
    returned(request, [person_id])
    # A response, not a dict: FastAPI would validate a dict against the declared model
    # on a worker thread of its own, a second thread hop for nothing.
    return JSONResponse(found[0])


def _person_of_index(
    index: PersonIndex, served: ServedSnapshot, gate: Gate, who: Principal, person_id: str
) -> list[dict[str, Any]]:
    card = index.card(person_id)
    if card is None or not gate.holds_person(who, card):
        return []
    return [gate.shape_person(who, "read", card, labelled(served, index.tags(person_id)))]


def _person(
    served: ServedSnapshot, gate: Gate, who: Principal, person_id: str
) -> list[dict[str, Any]]:
    index = served.person_index()
    if index is None:  # a snapshot built before the lookup files
        return shaped_persons(served, gate, who, "p.person_id = ?", [person_id], 1, "read", True)
    return _person_of_index(index, served, gate, who, person_id)


@router.get(
    "/households/{household_id}",
    responses=NOT_FOUND_RESPONSE,
)
def household(
    request: Request, household_id: str, served: Served, gate: GateDep, principal: Caller
) -> dict[str, Any]:
    """A register household's members in your jurisdiction."""
    who = gate.require(principal, "read")
    if decide(who.role, "household", "read") != "allow":
        raise HTTPException(403, f"role {who.role.id!r} may not read households")
    members = shaped_persons(
        served, gate, who, "p.household_id = ?", [household_id], MAX_PERSONS, "read"
    )
    if not members:
        raise not_found("household")
    returned(request, [m["person_id"] for m in members])
    return {"household_id": household_id, "members": members}


class Verification(BaseModel):
    """Who to check, and where."""

    id_number: str = Field(description="The person's resident ID number")
    community: str = Field(description="The committee's 12-digit division code")


@router.post(
    "/verify-resident",
    responses={404: {"description": "Unknown committee, or outside your jurisdiction"}},
)
def verify_resident(
    check: Verification, request: Request, served: Served, gate: GateDep, principal: Caller
) -> dict[str, bool]:
    """Whether a person lives in a committee: yes or no, and nothing more."""
    request.state.audit_params = {
        "id_number": mask_id_number(check.id_number) or "****",
        "community": check.community,
    }
    who = gate.require(principal, "verify")
    scope, scope_params = gate.unit_scope(who)
    known = served.query(
        f"SELECT 1 FROM units WHERE code = ? AND level = 'community' AND {scope}",
        [check.community, *scope_params],
    )
    if not known:
        raise not_found("committee")
    checked = validate_id_number(check.id_number.strip())
    if not (checked.valid and checked.normalized):
        return {"resident": False}
    pid = person_id_of(checked.normalized, gate.pseudonym_key)
    rows = served.query(
        "SELECT 1 FROM persons WHERE person_id = ? AND starts_with(division_code, ?) "
        "AND residency_status IN ('present_registered', 'present_resident', 'present_floating')",
        [pid, check.community],
    )
    returned(request, [])
    return {"resident": bool(rows)}
