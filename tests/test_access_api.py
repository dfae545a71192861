"""The permissioned API on a real build: sign-in, jurisdiction, fields, masks and audit."""

from __future__ import annotations

import csv
import io
import json
import random
import re
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

from typer.testing import CliRunner

from popbase.analysis.measures import MEASURES
from popbase.api import create_app
from popbase.api.gate import PERSON_FIELDS, Gate
from popbase.cli import app as cli
from popbase.config import load_project
from popbase.ops.snapshot import current_snapshot
from popbase.security.access import decide, load_roles
from popbase.security.masking import MASKED_ID, MASKED_PHONE, RAW_ID_IN_TEXT, RAW_PHONE_IN_TEXT
from popbase.security.pseudonym import extract_pseudonym
from popbase.security.users import UserStore, hasher_for

PASSWORD = "a long enough password"
ROLES = load_roles()
PERSON_ONLY = {"person_id", "tags"}


@pytest.fixture(scope="module")
def city(copy_city: Callable[..., Path]) -> Path:
    """A copy of the built city whose password hashes take OWASP's floor cost, and whose
    limits on sign-ins and lookups let one test client through (hundreds of users are
    added and signed in below, from one address, and look up thousands of ID numbers)."""
    folder = copy_city()
    with (folder / "popbase.yaml").open("a", encoding="utf-8") as f:
        f.write(
            "access:\n  password_hash: {memory_kib: 19456, time_cost: 2, parallelism: 1}\n"
            "  throttle: {address_burst: 100000, lookup_misses: 100000}\n"
        )
    return folder


def base(city: Path, sql: str) -> pd.DataFrame:
    db = current_snapshot(load_project(city).output_dir).base_db
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).df()


@pytest.fixture(scope="module")
def persons(city: Path) -> pd.DataFrame:
    return base(
        city,
        "SELECT person_id, division_code, hukou_division_code, residency_status, "
        "household_id, name FROM person_cards",
    )


@pytest.fixture(scope="module")
def units(city: Path) -> pd.DataFrame:
    return base(city, "SELECT code, level, parent_code FROM units ORDER BY code")


@pytest.fixture(scope="module")
def client(city: Path) -> Iterator[TestClient]:
    project = load_project(city)
    with TestClient(create_app(project.output_dir, Gate.for_project(project))) as c:
        yield c


@pytest.fixture(scope="module")
def add_user(city: Path) -> Callable[[str, str, str], None]:
    project = load_project(city)
    cost = project.config.access.password_hash
    hasher = hasher_for(cost.time_cost, cost.memory_kib, cost.parallelism)
    store = UserStore(project.path(project.config.access.users), ROLES, hasher)

    def add(name: str, role: str, scope: str) -> None:
        store.add(name, role, scope, PASSWORD)

    return add


def sign_in(client: TestClient, name: str) -> dict[str, str]:
    r = client.post("/api/token", json={"username": name, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def in_scope(persons: pd.DataFrame, scope: str) -> set[str]:
    live = persons["division_code"].fillna("").str.startswith(scope)
    registered = persons["hukou_division_code"].fillna("").str.startswith(scope)
    return set(persons.loc[live | registered, "person_id"])


def assert_fields_allowed(person: dict[str, Any], role_id: str, action: str) -> None:
    """Every field shown is one the role may see; masked ones are masked."""
    role = ROLES.get(role_id)
    assert role is not None
    for key, value in person.items():
        if key in PERSON_ONLY:
            continue
        if key in ("name", "id_number", "phone", "birth_date"):
            decision = decide(role, key, action)  # type: ignore[arg-type]
            assert decision != "deny", (role_id, key)
            if decision == "mask" and value is not None:
                pattern = {"id_number": MASKED_ID, "phone": MASKED_PHONE}.get(key)
                if pattern:
                    assert pattern.match(value), (key, value)
                elif key == "name":
                    assert "*" in value or len(value) == 1, value
                else:
                    assert value.endswith("-**-**"), value
            continue
        [field_class] = [c for c, fields in PERSON_FIELDS.items() if key in fields]
        assert decide(role, field_class, action) == "allow", (role_id, key)  # type: ignore[arg-type]
    for tag in person["tags"]:
        assert decide(role, f"tags.{tag['dimension']}", action) == "allow", tag  # type: ignore[arg-type]


def test_sign_in_and_what_an_anonymous_or_unfit_caller_gets(
    client: TestClient,
    city: Path,
    add_user: Callable[[str, str, str], None],
    units: pd.DataFrame,
) -> None:
    street = units.loc[units["level"] == "street", "code"].iloc[0]
    add_user("wang", "street_officer", street)
    add_user("check", "verifier", "3101")
    assert (
        client.post("/api/token", json={"username": "wang", "password": "wrong one!"}).status_code
        == 401
    )
    assert client.get("/api/persons").status_code == 401
    assert (
        client.get("/api/persons", headers={"Authorization": "Bearer forged.token"}).status_code
        == 401
    )
    assert client.get("/api/persons", headers=sign_in(client, "check")).status_code == 403
    assert client.get("/api/persons", headers=sign_in(client, "wang")).status_code == 200
    # The project's cost is the one new hashes take.
    users = (city / "users.json").read_text(encoding="utf-8")
    assert "$argon2id$v=19$m=19456,t=2,p=1$" in users


def test_outside_the_jurisdiction_looks_exactly_like_not_existing(
    client: TestClient,
    add_user: Callable[[str, str, str], None],
    units: pd.DataFrame,
    persons: pd.DataFrame,
) -> None:
    community = units.loc[units["level"] == "community", "code"].iloc[0]
    add_user("zhao", "community_worker", community)
    headers = sign_in(client, "zhao")
    mine = in_scope(persons, community)
    other = sorted(set(persons["person_id"]) - mine)[0]
    outside = client.get(f"/api/persons/{other}", headers=headers)
    missing = client.get("/api/persons/P0000000000000000", headers=headers)
    assert outside.status_code == missing.status_code == 404
    assert outside.json() == missing.json()
    inside = client.get(f"/api/persons/{sorted(mine)[0]}", headers=headers)
    assert inside.status_code == 200


def test_a_list_holds_exactly_the_records_single_lookups_allow(
    client: TestClient,
    add_user: Callable[[str, str, str], None],
    units: pd.DataFrame,
    persons: pd.DataFrame,
) -> None:
    community = units.loc[units["level"] == "community", "code"].iloc[1]
    add_user("qian", "community_worker", community)
    headers = sign_in(client, "qian")
    listed = client.get("/api/persons", params={"limit": 1000}, headers=headers).json()
    ids = {p["person_id"] for p in listed["persons"]}
    assert ids == in_scope(persons, community)
    assert 0 < len(ids) < 1000
    for pid in random.Random(1).sample(sorted(persons["person_id"]), 150):
        status = client.get(f"/api/persons/{pid}", headers=headers).status_code
        assert status == (200 if pid in ids else 404), pid


def test_fields_follow_the_role_whole_masked_or_left_out(
    client: TestClient,
    add_user: Callable[[str, str, str], None],
    units: pd.DataFrame,
    persons: pd.DataFrame,
) -> None:
    district = units.loc[units["level"] == "district", "code"].iloc[0]
    community = units.loc[units["level"] == "community", "code"].iloc[0]
    resident = sorted(in_scope(persons, community))[0]
    seen = {}
    for role, scope in (
        ("district_officer", district),
        ("community_worker", community),
        ("health", district[:4]),
        ("human_resources", district[:4]),
    ):
        add_user(f"f_{role}", role, scope)
        r = client.get(f"/api/persons/{resident}", headers=sign_in(client, f"f_{role}"))
        assert r.status_code == 200, role
        seen[role] = r.json()
        assert_fields_allowed(seen[role], role, "read")
    assert MASKED_ID.match(seen["district_officer"]["id_number"])
    # The committee sees the whole ID number, unsealed by the server.
    whole = seen["community_worker"]["id_number"]
    assert (
        re.fullmatch(r"\d{17}[\dX]", whole)
        # Birth year, age and sex narrow a number to 500: its mask shows only the city.
        and whole[:4] + "*" * 14 == seen["district_officer"]["id_number"]
        # Age and sex leave a year of dates: the check digit may show.
        and whole[:4] + "*" * 13 + whole[-1] == seen["human_resources"]["id_number"]
    )
    assert "employer_credit_code" not in seen["health"]
    assert "residency_status" in seen["health"]


def test_verification_says_yes_or_no_and_nothing_more(
    client: TestClient,
    city: Path,
    add_user: Callable[[str, str, str], None],
    units: pd.DataFrame,
) -> None:
    add_user("council", "verifier", "3101")
    headers = sign_in(client, "council")
    truth = pd.read_parquet(city / "truth" / "persons.parquet")
    communities = set(units.loc[units["level"] == "community", "code"])
    resident = truth[(truth["presence"] == "resident") & truth["community_code"].isin(communities)]
    person = resident.iloc[0]
    other = sorted(communities - {person["community_code"]})[0]

    def ask(id_number: str, community: str) -> Any:
        return client.post(
            "/api/verify-resident",
            json={"id_number": id_number, "community": community},
            headers=headers,
        )

    yes = ask(person["id_number"], person["community_code"])
    assert yes.status_code == 200 and yes.json() == {"resident": True}
    assert ask(person["id_number"], other).json() == {"resident": False}
    assert ask("310112199001011234", person["community_code"]).json() == {"resident": False}
    unknown = ask(person["id_number"], "310112999999")
    assert unknown.status_code == 404
    # A verifier scoped to another city learns nothing about this one.
    add_user("elsewhere", "verifier", "3201")
    far = client.post(
        "/api/verify-resident",
        json={"id_number": person["id_number"], "community": person["community_code"]},
        headers=sign_in(client, "elsewhere"),
    )
    assert far.status_code == 404 and far.json() == unknown.json()


def test_every_request_is_audited_masked_and_the_chain_verifies(
    client: TestClient, city: Path, add_user: Callable[[str, str, str], None]
) -> None:
    add_user("audited", "community_worker", "310112001001")
    headers = sign_in(client, "audited")
    # Written with dashes, as on some forms: logged masked all the same.
    client.get("/api/persons", params={"q": "310112-19900101-1233"}, headers=headers)
    client.get("/api/persons/P0000000000000000", headers=headers)  # a 404
    client.get("/api/persons")  # a 401
    project = load_project(city)
    log = project.path(project.config.access.audit_log)
    entries = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    last = entries[-3:]
    assert [e["outcome"] for e in last] == [200, 404, 401]
    assert last[0]["user"] == "audited" and last[0]["role"] == "community_worker"
    assert last[0]["params"]["q"] == "3101**********1233"
    assert last[2]["user"] is None
    assert {"time", "client", "endpoint", "purpose", "records", "mac", "prev"} <= set(last[0])
    text = log.read_text(encoding="utf-8")
    assert not RAW_ID_IN_TEXT.search(text) and not RAW_PHONE_IN_TEXT.search(text)
    runner = CliRunner()
    ok = runner.invoke(cli, ["audit", "verify", str(city)])
    assert ok.exit_code == 0, ok.output
    assert "chain intact" in ok.output
    lines = text.splitlines()
    lines[1] = lines[1].replace('"endpoint": "/api/', '"endpoint": "/api/x')
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    broken = runner.invoke(cli, ["audit", "verify", str(city)])
    assert broken.exit_code == 1
    assert "line 2" in broken.output and "edited" in broken.output
    log.write_text(text, encoding="utf-8")


def test_a_request_fails_when_its_audit_entry_cannot_be_written(
    city: Path, add_user: Callable[[str, str, str], None], tmp_path: Path
) -> None:
    add_user("nolog", "community_worker", "310112001001")
    project = load_project(city)
    gate = Gate.for_project(project)
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the log's folder should be")
    gate.audit_path = blocked / "audit.log"
    with TestClient(create_app(project.output_dir, gate)) as c:
        r = c.post("/api/token", json={"username": "nolog", "password": PASSWORD})
        assert r.status_code == 500
        assert "audit" in r.json()["detail"]


# Shares of the randomised calls per kind (the map's calls count units and buildings).
CALL_SHARES = {
    "list": 11,
    "read": 11,
    "household": 11,
    "verify": 11,
    "residency": 11,
    "cross": 11,
    "map": 11,
    "unit": 12,
    "extract": 5,
    "rooms": 6,
}
EXPORT_KEY = "an export key for the isolation test"


def exported_person(
    row: dict[str, str], by_pseudonym: dict[str, str], dimension_of: dict[str, str]
) -> dict[str, Any]:
    """An extract's row as a person of the API (served id, tags with their dimension)."""
    person: dict[str, Any] = {
        "household_id" if k == "household_pseudonym" else k: v or None
        for k, v in row.items()
        if k not in ("person_pseudonym", "tags")
    }
    person["person_id"] = by_pseudonym[row["person_pseudonym"]]
    person["tags"] = [
        {"tag": t, "dimension": dimension_of[t]} for t in (row.get("tags") or "").split(";") if t
    ]
    return person


def _scopes(units: pd.DataFrame, level: str, rng: random.Random, k: int) -> list[str]:
    if level == "city":
        return ["3101"] * k
    if level == "grid":
        codes = sorted(units.loc[units["level"] == "grid", "code"])
    else:
        codes = sorted(units.loc[units["level"] == level, "code"])
    wrong = {"district": "310199", "street": "310112999", "community": "310112001999"}
    # Now and then a code that names no unit: it must hide everything, never reveal.
    pool = codes + ([wrong[level]] if level in wrong else [codes[0] + "9"])
    return [rng.choice(pool) for _ in range(k)]


def test_randomised_isolation_200_users_10000_calls(
    client: TestClient,
    city: Path,
    add_user: Callable[[str, str, str], None],
    units: pd.DataFrame,
    persons: pd.DataFrame,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = random.Random(20261126)
    roles = load_roles()
    truth = pd.read_parquet(city / "truth" / "persons.parquet", columns=["id_number", "name"])
    communities = sorted(units.loc[units["level"] == "community", "code"])
    tags = base(city, "SELECT tag FROM tags")["tag"].tolist()
    households = sorted(persons["household_id"].dropna().unique())
    unit_codes = sorted(units["code"])
    users: list[tuple[str, str, str, dict[str, str]]] = []
    person_ids = persons["person_id"].tolist()
    names = truth["name"].tolist()
    id_numbers = truth["id_number"].tolist()
    scopes: dict[str, set[str]] = {}
    per_role = -(-200 // len(roles.roles))
    for role in roles.roles:
        for i, scope in enumerate(_scopes(units, role.level, rng, per_role)):
            name = f"iso_{role.id}_{i}"
            add_user(name, role.id, scope)
            users.append((name, role.id, scope, sign_in(client, name)))
    assert len(users) >= 200
    checked_persons = checked_units = checked_exported = checked_rooms = 0
    monkeypatch.setenv("POPBASE_EXPORT_KEY", EXPORT_KEY)
    by_pseudonym = {extract_pseudonym("person", p, EXPORT_KEY): p for p in person_ids}
    dimension_of = dict(base(city, "SELECT tag, dimension FROM tags").itertuples(index=False))
    buildings = base(city, "SELECT building_id, division_code FROM buildings")
    building_units = dict(zip(buildings["building_id"], buildings["division_code"], strict=True))
    building_ids = sorted(building_units)
    for _ in range(10_000):
        name, role_id, scope, headers = rng.choice(users)
        role = roles.get(role_id)
        assert role is not None
        allowed = scopes.setdefault(scope, in_scope(persons, scope))
        [kind] = rng.choices(list(CALL_SHARES), weights=list(CALL_SHARES.values()))
        if kind == "extract":
            code = rng.choice(unit_codes)
            params = {"unit": code, "purpose": "isolation check"}
            if rng.random() < 0.3:
                params["tags"] = rng.choice(tags)
            r = client.get("/api/extracts", params=params, headers=headers)
            if "export" not in role.actions:
                assert r.status_code == 403
            elif r.status_code == 403:  # a tag the role may not use, or below its floor
                below_floor = role.suppress_below is not None and len(code) > 9
                assert "tags" in params or below_floor, r.text
            elif not code.startswith(scope):
                assert r.status_code == 404
                assert r.json() == {"detail": "unit not found, or outside your jurisdiction"}
            else:
                assert r.status_code == 200, r.text
                for row in csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))):
                    person = exported_person(row, by_pseudonym, dimension_of)
                    assert person["person_id"] in allowed, (name, scope, person["person_id"])
                    codes = [
                        person[c] for c in ("division_code", "hukou_division_code") if c in person
                    ]
                    assert not codes or any(str(c).startswith(scope) for c in codes), (name, codes)
                    assert_fields_allowed(person, role_id, "export")
                    checked_exported += 1
            continue
        if kind == "rooms":
            building_id = rng.choice(building_ids)
            r = client.get(f"/api/buildings/{building_id}/rooms", headers=headers)
            if "aggregate" not in role.actions:
                assert r.status_code == 403
            elif not building_units[building_id].startswith(scope):
                assert r.status_code == 404
                assert r.json() == {"detail": "building not found, or outside your jurisdiction"}
            else:
                assert r.status_code == 200, r.text
                body = r.json()
                assert body["division_code"].startswith(scope), (name, building_id)
                rooms = body["rooms"]
                counts = [body["resident"], body["households"]]
                counts += [room[m] for room in rooms for m in ("resident", "households")]
                if role.suppress_below is not None:
                    assert all(v is None or v == 0 or v > 10 for v in counts), (name, counts)
                    assert all(room["resident"] is None for room in rooms), (name, building_id)
                checked_rooms += len(rooms)
            continue
        if kind == "map":
            level = rng.choice(["district", "street", "community", "grid"])
            is_building = rng.random() < 0.5
            if not is_building:
                r = client.get("/api/units", params={"level": level}, headers=headers)
                features = r.json()["features"] if r.status_code == 200 else []
                codes = [f["properties"]["code"] for f in features]
            else:
                r = client.get(
                    "/api/buildings", params={"bbox": "-180,-90,180,90"}, headers=headers
                )
                features = r.json()["features"] if r.status_code == 200 else []
                codes = [building_units[f["properties"]["building_id"]] for f in features]
            if "aggregate" not in role.actions:
                assert r.status_code == 403
                continue
            assert r.status_code == 200, r.text
            assert all(c.startswith(scope) for c in codes), (name, scope)
            controlled = is_building or level in ("community", "grid")
            if role.suppress_below is not None and controlled:
                shown = [f["properties"]["resident"] for f in features]
                assert all(v is None or v == 0 or v > 10 for v in shown), (name, level)
            checked_units += len(codes)
            continue
        if kind == "unit":
            code = rng.choice(unit_codes)
            r = client.get(f"/api/units/{code}", headers=headers)
            if "aggregate" not in role.actions:
                assert r.status_code == 403
            elif code.startswith(scope):
                assert r.status_code == 200, r.text
                assert all(c["code"].startswith(scope) for c in r.json()["children"])
            else:
                assert r.status_code == 404
                assert r.json() == {"detail": "unit not found, or outside your jurisdiction"}
            continue
        if kind in ("residency", "cross"):
            code = rng.choice(unit_codes)
            params = {"unit": code}
            if kind == "cross":
                params["tags"] = rng.choice(["elderly", "minor", "elderly,disabled"])
            r = client.get(
                f"/api/{'residency' if kind == 'residency' else 'tags/cross'}",
                params=params,
                headers=headers,
            )
            if "aggregate" not in role.actions:
                assert r.status_code == 403
            elif r.status_code == 403:  # a tag or a count the role may not take
                assert kind == "cross" or decide(role, "residence", "aggregate") == "deny"
            elif code.startswith(scope):
                assert r.status_code == 200, r.text
                body = r.json()
                assert all(c["code"].startswith(scope) for c in body["children"])
                assert body["unit"]["code"] == code
            else:
                assert r.status_code == 404
            continue
        if kind == "list":
            params: dict[str, Any] = {"limit": rng.choice([5, 50, 1000])}
            pick = rng.random()
            if pick < 0.3:
                params["q"] = str(rng.choice(names))[: rng.choice([1, 2, 3])]
            elif pick < 0.5:
                params["q"] = str(rng.choice(id_numbers))
            if rng.random() < 0.3:
                params["unit"] = rng.choice(communities)
            if rng.random() < 0.2:
                params["tags"] = rng.choice(tags)
            r = client.get("/api/persons", params=params, headers=headers)
            if "list" not in role.actions:
                assert r.status_code == 403
                continue
            if r.status_code in (403, 422):  # a tag or a name search the role may not use
                continue
            assert r.status_code == 200, r.text
            found = r.json()["persons"]
        elif kind == "read":
            pid = rng.choice(person_ids)
            r = client.get(f"/api/persons/{pid}", headers=headers)
            if "read" not in role.actions:
                assert r.status_code == 403
                continue
            assert r.status_code == (200 if pid in allowed else 404), (name, pid)
            found = [r.json()] if r.status_code == 200 else []
        elif kind == "household":
            hid = rng.choice(households)
            r = client.get(f"/api/households/{hid}", headers=headers)
            if r.status_code in (403, 404):
                continue
            assert r.status_code == 200
            found = r.json()["members"]
        else:
            person = truth.iloc[rng.randrange(len(truth))]
            code = rng.choice(communities)
            r = client.post(
                "/api/verify-resident",
                json={"id_number": person["id_number"], "community": code},
                headers=headers,
            )
            if "verify" not in role.actions:
                assert r.status_code == 403
            elif code.startswith(scope):
                assert r.status_code == 200 and set(r.json()) == {"resident"}
            else:
                assert r.status_code == 404
            continue
        for p in found:
            assert p["person_id"] in allowed, (name, scope, p["person_id"])
            assert_fields_allowed(p, role_id, "list" if kind == "list" else "read")
            checked_persons += 1
    assert checked_persons > 8_000  # the calls returned persons to check, not only denials
    assert checked_units > 10_000
    assert checked_exported > 1_000
    assert checked_rooms > 1_000


def test_residency_counts_of_a_unit_and_its_children_in_scope(
    client: TestClient,
    city: Path,
    add_user: Callable[[str, str, str], None],
    units: pd.DataFrame,
) -> None:
    served = base(city, "SELECT * EXCLUDE (geometry) FROM units").set_index("code")
    street = units.loc[units["level"] == "street", "code"].iloc[0]
    add_user("s_stats", "street_officer", street)
    headers = sign_in(client, "s_stats")
    r = client.get("/api/residency", params={"unit": street}, headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["labels"]["unknown"]["zh"] == "待核实"
    for measure in ("resident", "usual_resident", "floating", "registered", "absent", "unknown"):
        assert body["unit"][measure] == int(served.loc[street, measure])
        for child in body["children"]:
            assert child["code"].startswith(street)
            assert child[measure] == int(served.loc[child["code"], measure])
    assert {c["code"] for c in body["children"]} == set(
        served.index[served["parent_code"] == street]
    )
    other = units.loc[units["level"] == "street", "code"].iloc[1]
    outside = client.get("/api/residency", params={"unit": other}, headers=headers)
    missing = client.get("/api/residency", params={"unit": "310112999"}, headers=headers)
    assert outside.status_code == missing.status_code == 404
    assert outside.json()["detail"].replace("unit", "") == missing.json()["detail"].replace(
        "unit", ""
    )


def test_departments_see_small_counts_below_street_level_suppressed(
    client: TestClient,
    city: Path,
    add_user: Callable[[str, str, str], None],
    units: pd.DataFrame,
) -> None:
    add_user("d_stats", "health", "3101")
    headers = sign_in(client, "d_stats")
    served = base(city, "SELECT * EXCLUDE (geometry) FROM units").set_index("code")
    # A committee with a grid of 1-10 residents: the control has work to do there.
    counts = served[["floating", "absent", "resident"]]
    small = served[(served["level"] == "grid") & ((counts >= 1) & (counts <= 10)).any(axis=1)]
    community = str(sorted(small["parent_code"])[0])
    r = client.get("/api/residency", params={"unit": community}, headers=headers)
    assert r.status_code == 200
    grids = r.json()["children"]
    assert grids, "a committee of the sample has grids"
    measures = (*MEASURES, "households")
    hidden_any = False
    for measure in measures:
        shown = [g[measure] for g in grids if g[measure] is not None]
        hidden = [g["code"] for g in grids if g[measure] is None]
        hidden_any |= bool(hidden)
        assert all(v == 0 or v > 10 for v in shown), (measure, shown)
        truth = [int(served.loc[c, measure]) for c in hidden]
        nonzero = [int(served.loc[g["code"], measure]) > 0 for g in grids]
        assert not hidden or len(hidden) >= 2 or sum(nonzero) <= len(hidden), (measure, hidden)
        assert not hidden or sum(truth) > 10 or sum(nonzero) <= len(hidden), (measure, truth)
    assert hidden_any  # grids are small: the control had work to do
    # The committee itself, asked for directly, agrees with what its street's answer shows.
    street = served.loc[community, "parent_code"]
    from_street = client.get("/api/residency", params={"unit": street}, headers=headers).json()
    [as_child] = [c for c in from_street["children"] if c["code"] == community]
    assert r.json()["unit"] == as_child
    # A committee officer of the same place sees every count exactly.
    add_user("c_stats", "community_worker", community)
    exact = client.get(
        "/api/residency", params={"unit": community}, headers=sign_in(client, "c_stats")
    ).json()
    assert all(g["resident"] == int(served.loc[g["code"], "resident"]) for g in exact["children"])


MAP_ENDPOINTS = (
    "/api/summary",
    "/api/units?level=community",
    "/api/units/31",
    "/api/buildings?bbox=-180,-90,180,90",
    "/api/report",
    "/api/quality",
)


def test_the_map_endpoints_need_a_sign_in_and_the_report_an_admin(
    client: TestClient, add_user: Callable[[str, str, str], None]
) -> None:
    for path in MAP_ENDPOINTS:
        r = client.get(path)
        assert r.status_code == 401, path
        assert r.headers["www-authenticate"] == "Bearer"
    add_user("m_city", "city_officer", "3101")
    add_user("m_admin", "admin", "3101")
    add_user("m_check", "verifier", "3101")
    assert client.get("/api/report", headers=sign_in(client, "m_city")).status_code == 403
    assert client.get("/api/report", headers=sign_in(client, "m_admin")).status_code == 200
    verifier = sign_in(client, "m_check")
    for path in MAP_ENDPOINTS:
        assert client.get(path, headers=verifier).status_code == 403, path


def test_the_map_of_a_street_officer_holds_only_its_street(
    client: TestClient,
    city: Path,
    add_user: Callable[[str, str, str], None],
    units: pd.DataFrame,
) -> None:
    streets = sorted(units.loc[units["level"] == "street", "code"])
    mine, other = streets[0], streets[1]
    add_user("m_street", "street_officer", mine)
    headers = sign_in(client, "m_street")
    served = base(city, "SELECT * EXCLUDE (geometry) FROM units").set_index("code")
    for level in ("district", "street", "community", "grid"):
        body = client.get("/api/units", params={"level": level}, headers=headers).json()
        codes = sorted(f["properties"]["code"] for f in body["features"])
        expected = sorted(c for c in served.index[served["level"] == level] if c.startswith(mine))
        assert codes == expected, level
    summary = client.get("/api/summary", headers=headers).json()
    assert summary["totals"]["resident"] == int(served.loc[mine, "resident"])
    assert (
        summary["totals"]["units"]["street"] == 1 and "district" not in summary["totals"]["units"]
    )
    # Another street, and its committees, look exactly like units that do not exist.
    outside = client.get(f"/api/units/{other}", headers=headers)
    missing = client.get("/api/units/310199999999", headers=headers)
    assert outside.status_code == missing.status_code == 404
    assert outside.json() == missing.json()
    detail = client.get(f"/api/units/{mine}", headers=headers).json()
    assert detail["resident"] == int(served.loc[mine, "resident"])
    assert {c["code"] for c in detail["children"]} == set(
        served.index[served["parent_code"] == mine]
    )
    buildings = base(city, "SELECT building_id, division_code FROM buildings").set_index(
        "building_id"
    )
    shown = client.get("/api/buildings", params={"bbox": "-180,-90,180,90"}, headers=headers).json()
    ids = [f["properties"]["building_id"] for f in shown["features"]]
    assert ids and all(str(buildings.loc[b, "division_code"]).startswith(mine) for b in ids)
    assert shown["matched"] == int(buildings["division_code"].str.startswith(mine).sum())


def test_departments_see_the_same_suppressed_counts_on_the_map(
    client: TestClient, city: Path, add_user: Callable[[str, str, str], None]
) -> None:
    add_user("m_health", "health", "3101")
    headers = sign_in(client, "m_health")
    served = base(city, "SELECT * EXCLUDE (geometry) FROM units").set_index("code")
    grids = client.get("/api/units", params={"level": "grid"}, headers=headers).json()
    shown = {f["properties"]["code"]: f["properties"] for f in grids["features"]}
    assert len(shown) == int((served["level"] == "grid").sum())
    hidden = [c for c, p in shown.items() if p["resident"] is None]
    for code, props in shown.items():
        assert props["resident"] is None or props["resident"] == 0 or props["resident"] > 10
        assert (props["density"] is None) == (props["resident"] is None) or not props["area_km2"]
        if props["resident"] is not None:
            assert props["resident"] == int(served.loc[code, "resident"])
    # The map, a unit's detail and its residency statistics hide the same cells.
    grid_parents = sorted(set(served.loc[served["level"] == "grid", "parent_code"]))
    for community in (
        sorted({str(served.loc[c, "parent_code"]) for c in hidden})[:5] or grid_parents
    ):
        stats = client.get("/api/residency", params={"unit": community}, headers=headers).json()
        detail = client.get(f"/api/units/{community}", headers=headers).json()
        for child in stats["children"]:
            assert shown[child["code"]]["resident"] == child["resident"]
        assert {c["code"]: c["resident"] for c in detail["children"]} == {
            c["code"]: c["resident"] for c in stats["children"]
        }
    # Streets and districts are not controlled.
    streets = client.get("/api/units", params={"level": "street"}, headers=headers).json()
    for f in streets["features"]:
        assert f["properties"]["resident"] == int(served.loc[f["properties"]["code"], "resident"])
    # Buildings' residents: never 1-10, and no lone hidden building in a committee.
    buildings = client.get(
        "/api/buildings", params={"bbox": "-180,-90,180,90", "limit": 50000}, headers=headers
    ).json()["features"]
    values = [f["properties"]["resident"] for f in buildings]
    assert all(v is None or v == 0 or v > 10 for v in values)


def _having_tags(city: Path, wanted: list[str]) -> pd.Series:
    """Division codes of the present residents having every tag of ``wanted``, by person."""
    tagged = base(
        city,
        "SELECT p.person_id, p.division_code, t.tag FROM persons p JOIN person_tags t "
        "USING (person_id) WHERE p.residency_status LIKE 'present%'",
    )
    chosen = tagged[tagged["tag"].isin(wanted)]
    counts = chosen.groupby("person_id")["tag"].nunique()
    people = chosen.drop_duplicates("person_id").set_index("person_id")["division_code"]
    return people[counts[counts == len(set(wanted))].index]


def test_tag_crossings_count_residents_having_every_tag(
    client: TestClient,
    city: Path,
    add_user: Callable[[str, str, str], None],
    units: pd.DataFrame,
) -> None:
    community = units.loc[units["level"] == "community", "code"].iloc[0]
    add_user("c_cross", "community_worker", community)
    headers = sign_in(client, "c_cross")
    having = _having_tags(city, ["elderly", "disabled"])
    expected = int(having.str.startswith(community).sum())
    r = client.get(
        "/api/tags/cross",
        params={"unit": community, "tags": "elderly,disabled"},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["unit"]["persons"] == expected
    assert sum(c["persons"] for c in r.json()["children"]) == expected
    add_user("g_cross", "grid_worker", units.loc[units["level"] == "grid", "code"].iloc[0])
    grid_headers = sign_in(client, "g_cross")
    denied = client.get(
        "/api/tags/cross", params={"unit": community, "tags": "hypertension"}, headers=grid_headers
    )
    assert denied.status_code == 403  # a health tag is not the grid worker's to count
    tags = {t["tag"] for t in client.get("/api/tags", headers=grid_headers).json()}
    assert "hypertension" not in tags and "elderly" in tags


def test_tag_crossings_count_each_child_unit_and_ignore_a_repeated_tag(
    client: TestClient,
    city: Path,
    add_user: Callable[[str, str, str], None],
    units: pd.DataFrame,
) -> None:
    street = units.loc[units["level"] == "street", "code"].iloc[0]
    add_user("s_cross", "street_officer", street)
    headers = sign_in(client, "s_cross")
    for wanted in (["elderly"], ["elderly", "elderly_living_alone"], ["elderly", "disabled"]):
        having = _having_tags(city, wanted)
        body = client.get(
            "/api/tags/cross", params={"unit": street, "tags": ",".join(wanted)}, headers=headers
        ).json()
        assert body["unit"]["persons"] == int(having.str.startswith(street).sum())
        children = units[units["parent_code"] == street].sort_values("code")
        assert [c["code"] for c in body["children"]] == children["code"].tolist()
        for child in body["children"]:
            assert child["persons"] == int(having.str.startswith(child["code"]).sum()), child
    once = client.get(
        "/api/tags/cross", params={"unit": street, "tags": "elderly"}, headers=headers
    )
    twice = client.get(
        "/api/tags/cross", params={"unit": street, "tags": "elderly,elderly"}, headers=headers
    )
    assert once.json()["unit"]["persons"] > 0  # the street has elderly residents to count
    assert twice.json()["unit"] == once.json()["unit"]
    assert twice.json()["children"] == once.json()["children"]


def test_users_are_managed_from_the_command_line(copy_city: Callable[..., Path]) -> None:
    folder = copy_city(snapshots=False)
    runner = CliRunner()
    added = runner.invoke(
        cli,
        ["users", "add", str(folder), "li", "--role", "grid_worker",
         "--scope", "310112001001001", "--password-stdin"],
        input="a long enough password\n",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    generated = runner.invoke(
        cli, ["users", "add", str(folder), "wu", "--role", "street_officer", "--scope", "310112001"]
    )
    assert generated.exit_code == 0
    [password] = re.findall(r"password: (\S+)", generated.stdout)
    store = UserStore(folder / "users.json", ROLES)
    assert store.authenticate("wu", password) is not None
    listed = runner.invoke(cli, ["users", "list", str(folder)])
    assert [line.split("\t")[:3] for line in listed.stdout.splitlines()] == [
        ["li", "grid_worker", "310112001001001"],
        ["wu", "street_officer", "310112001"],
    ]
    assert "$argon2" not in listed.stdout
    wrong = runner.invoke(
        cli, ["users", "add", str(folder), "ma", "--role", "street_officer", "--scope", "3101"]
    )
    assert wrong.exit_code == 1 and "not a street division code" in wrong.output
    table = runner.invoke(cli, ["users", "roles", str(folder), "--table"])
    assert len(table.stdout.splitlines()) == 1 + len(ROLES.roles) * 20 * 6
    assert runner.invoke(cli, ["users", "remove", str(folder), "li"]).exit_code == 0
    assert store.authenticate("li", "a long enough password") is None


def test_the_quality_report_holds_the_sources_and_the_committees_in_scope(
    client: TestClient, city: Path, add_user: Callable[[str, str, str], None], units: pd.DataFrame
) -> None:
    street = units.loc[units["level"] == "street", "code"].iloc[0]
    add_user("q_street", "street_officer", street)
    body = client.get("/api/quality", headers=sign_in(client, "q_street")).json()
    sources = base(city, "SELECT source FROM quality_sources")["source"]
    assert sorted(s["source"] for s in body["sources"]) == sorted(sources)
    assert all(isinstance(s["fields"], dict) for s in body["sources"])
    expected = base(city, "SELECT code, resident FROM quality_units")
    mine = expected[expected["code"].str.startswith(street)]
    assert sorted(u["code"] for u in body["units"]) == sorted(mine["code"])
    assert {u["code"]: u["resident"] for u in body["units"]} == dict(
        zip(mine["code"], mine["resident"].astype(int), strict=True)
    )
