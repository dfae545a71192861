"""Person-level endpoints: sign-in, persons, households and resident verification.

Each endpoint takes the caller from the :class:`~popbase.api.gate.Gate` and asks it for
the action, the jurisdiction and the fields; what it returns, it names in
``request.state.audit_records`` for the audit trail (see :mod:`popbase.api.audit`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, field_validator
from starlette.concurrency import run_in_threadpool

from popbase.api.audit import control_character
from popbase.api.deps import Caller, GateDep, Served, returned
from popbase.api.disclosed import refuse_list_below_floor
from popbase.api.gate import NOT_FOUND_RESPONSE, PERSON_SELECT, Gate, Principal, not_found
from popbase.api.lookup import PersonIndex
from popbase.api.served import ServedSnapshot
from popbase.population.resident_id import validate_id_number
from popbase.security.access import Action, decide
from popbase.security.masking import mask_id_number
from popbase.security.pseudonym import person_id_of
from popbase.security.throttle import HasherBusyError, retry_after

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


def client_address(request: Request, trusted_proxies: list[str]) -> str:
    """The client's address: the peer's, or, from a trusted proxy, the one it forwards."""
    peer = request.client.host if request.client else "unknown"
    forwarded = request.headers.get("x-forwarded-for")
    if peer in trusted_proxies and forwarded:
        return forwarded.split(",")[-1].strip() or peer
    return peer


@router.post(
    "/token",
    response_model=Token,
    responses={
        401: {"description": "Wrong name or password"},
        429: {"description": "Too many sign-ins: the user is locked, or the address waits"},
        503: {"description": "Too many sign-ins wait for the password check"},
    },
)
async def token(credentials: Credentials, gate: GateDep, request: Request) -> Token:
    """Sign in: a bearer token for a user name and password.

    Wrong passwords lock the name for a time that doubles with each one, and each client
    address may try only so many sign-ins a minute (429 with ``Retry-After``); password
    checks run one at a time per process, so guessers cannot hold the threads that
    serve signed-in requests.
    """
    name = credentials.username
    request.state.audit_params = {"username": name}
    address = client_address(request, gate.access.throttle.trusted_proxies)
    wait = await run_in_threadpool(gate.throttle.sign_in_wait, name, address)
    if wait > 0:
        raise HTTPException(
            429,
            "too many sign-in attempts for this user or from this address; try again in "
            f"{retry_after(wait)} s",
            headers={"Retry-After": retry_after(wait)},
        )
    try:
        user = await gate.hashing.run(gate.users.authenticate, name, credentials.password)
    except HasherBusyError:
        raise HTTPException(
            503, "too many sign-ins at once; try again shortly", headers={"Retry-After": "1"}
        ) from None
    if user is None:
        await run_in_threadpool(gate.throttle.sign_in_failed, name)
        raise HTTPException(401, "wrong user name or password")
    await run_in_threadpool(gate.throttle.sign_in_succeeded, name, address)
    access_token, expires = gate.issue(user)
    return Token(access_token=access_token, expires=expires, role=user.role, scope=user.scope)


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


def exact_lookup_allowed(request: Request, gate: Gate, who: Principal) -> None:
    """Refuse (429) an exact lookup by ID number while the caller is throttled for misses.

    The refusal is audited as probing (see :func:`lookup_found`).
    """
    wait = gate.throttle.lookup_wait(who.user)
    if wait > 0:
        request.state.audit_probing = True
        raise HTTPException(
            429,
            "too many lookups by ID number found no one; try again in "
            f"{retry_after(wait)} s. Lookups that miss are counted per user (a run of them "
            "is how a masked ID number would be confirmed digit by digit) and audited.",
            headers={"Retry-After": retry_after(wait)},
        )


def lookup_found(request: Request, gate: Gate, who: Principal, found: bool) -> None:
    """Count an exact lookup that found no one in scope; flag the audit entry past the limit."""
    if found:
        return
    gate.throttle.missed(who.user)
    if gate.throttle.lookup_wait(who.user) > 0:  # this miss reached a limit
        request.state.audit_probing = True


def id_query(q: str) -> str | None:
    """The normalised ID number ``q`` is, None if it is no ID number (a name, then).

    Spaces, dashes and full-width forms are cleaned (``340103-19911015-5286``).

    Raises
    ------
    HTTPException
        422 when ``q`` has the form of an ID number but not a valid one (check digit or
        date): searched as a name, it would find no one and say nothing.
    """
    checked = validate_id_number(q.strip())
    if checked.valid and checked.normalized:
        return checked.normalized
    if checked.reason in ("id_missing", "id_bad_length", "id_bad_chars"):
        return None
    raise HTTPException(
        422,
        f"q has the form of an ID number but is not a valid one ({checked.reason}); check "
        "the digits against the card",
    )


@router.get("/persons")
def persons(
    request: Request,
    served: Served,
    gate: GateDep,
    principal: Caller,
    q: Annotated[
        str | None,
        Query(
            description="A whole ID number, or a name (or its beginning) if your role sees names"
        ),
    ] = None,
    unit: Annotated[str | None, Query(description="Only persons living in this unit")] = None,
    tags: Annotated[str | None, Query(description="Comma-separated tags, all required")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PERSONS)] = 100,
) -> dict[str, Any]:
    """Search persons in your jurisdiction by ID number, name, unit and tags.

    A whole ID number finds its person (lookups that find no one are counted, and a
    user with too many in a window is refused for a while, 429). A name, or its
    beginning, is searched only by roles that see names whole: a prefix search over
    masked names would reveal the hidden characters one by one.
    """
    who = gate.require(principal, "list")
    conditions, params = ["true"], []
    number = id_query(q) if q else None
    if number is not None:
        # Logged masked, whatever spaces or dashes the number was written with.
        request.state.audit_params = {"q": mask_id_number(number) or "****"}
        exact_lookup_allowed(request, gate, who)
        conditions.append("p.person_id = ?")
        params.append(person_id_of(number, gate.pseudonym_key))
    elif q:
        name = decide(who.role, "name", "list")
        if name != "allow":
            raise HTTPException(
                403,
                f"role {who.role.id!r} sees names "
                f"{'only masked' if name == 'mask' else 'not at all'}, so it may not search "
                "by name: a search by a name's beginning would reveal what the mask hides. "
                "Search by the whole ID number, or list by unit and tags.",
            )
        conditions.append("starts_with(p.name, ?)")
        params.append(q.strip())
    if unit:
        if decide(who.role, "residence", "list") != "allow":
            raise HTTPException(403, f"role {who.role.id!r} may not search by where persons live")
        refuse_list_below_floor(who, unit, "list of persons")
        conditions.append("starts_with(p.division_code, ?)")
        params.append(unit)
    tag_sql, tag_params = tag_conditions(who, [t for t in (tags or "").split(",") if t], served)
    conditions.append(tag_sql)
    params.extend(tag_params)
    where = " AND ".join(conditions)
    found = shaped_persons(served, gate, who, where, params, limit, "list", number is not None)
    if number is not None:
        lookup_found(request, gate, who, bool(found))
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

    @field_validator("id_number", "community")
    @classmethod
    def _no_control_characters(cls, value: str) -> str:
        # Stripping would read "\x1c3101…" as the number and log it altered; refuse instead,
        # as a control character in a path or query is refused.
        if char := control_character(value):
            raise ValueError(f"holds the control character {char}; send the value without it")
        return value


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
    request.state.audit_params["id_number"] = mask_id_number(checked.normalized) or "****"
    # A "no" is a miss: asking about candidates of a number is probing, as in a search.
    exact_lookup_allowed(request, gate, who)
    pid = person_id_of(checked.normalized, gate.pseudonym_key)
    rows = served.query(
        "SELECT 1 FROM persons WHERE person_id = ? AND starts_with(division_code, ?) "
        "AND residency_status IN ('present_registered', 'present_resident', 'present_floating')",
        [pid, check.community],
    )
    lookup_found(request, gate, who, bool(rows))
    returned(request, [])
    return {"resident": bool(rows)}
