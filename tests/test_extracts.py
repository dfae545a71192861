"""Scenario extracts on a real build: purpose, scope, pseudonyms and every export decision."""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import re
import warnings
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import httpx
import openpyxl
import pandas as pd
import pytest
import yaml

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

from popbase.api import create_app, extracts
from popbase.api.gate import PERSON_FIELDS, Gate
from popbase.config import AccessConfig, PasswordHashConfig
from popbase.security.access import FIELD_CLASSES, TAG_DIMENSIONS, Roles, decide, load_roles
from popbase.security.candidates import mask_shape, plan_masks
from popbase.security.disclosure import coarsened
from popbase.security.masking import MASKED_ID, MASKED_PHONE, mask_birth_date

KEY = "a test key for extracts, never stored"
ROLES = load_roles()
PURPOSE = {"X-Purpose": "2026 elderly-care visits"}
# A role of a project's own that may export identifiers whole (no shipped role may).
OWN_ROLES = """
roles:
  - id: registry_export
    label: 户籍导出
    level: city
    actions: [aggregate, list, export]
    fields: {id_number: allow, phone: allow, name: allow, birth_date: allow, basic: allow,
             household: allow, tags.health: allow}
"""
ALL_ROLES = (*ROLES.roles, *Roles.model_validate(yaml.safe_load(OWN_ROLES)).roles)
WHOLE_ID = re.compile(r"^\d{17}[\dX]$")
WHOLE_PHONE = re.compile(r"^1\d{10}$")


@pytest.fixture(autouse=True)
def export_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POPBASE_EXPORT_KEY", KEY)


def pseudonym(kind: str, value: str) -> str:
    """The pseudonym as documented: HMAC-SHA256 of ``kind:value``, 32 hex digits."""
    return hmac.new(KEY.encode(), f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()[:32]


@pytest.fixture(scope="module")
def cards(served_sql: Callable[[str], pd.DataFrame]) -> pd.DataFrame:
    """Served persons by their extract pseudonym."""
    table = served_sql(
        "SELECT * EXCLUDE (id_sealed, phone_sealed, birth_date), "
        "CAST(birth_date AS VARCHAR) AS birth_date FROM person_cards"
    )
    table.index = [pseudonym("person", p) for p in table["person_id"]]
    return table


@pytest.fixture(scope="module")
def person_tags(served_sql: Callable[[str], pd.DataFrame]) -> dict[str, dict[str, set[str]]]:
    """Per person id and dimension, its tags."""
    rows = served_sql(
        "SELECT DISTINCT t.person_id, t.tag, g.dimension FROM person_tags t JOIN tags g USING (tag)"
    )
    out: dict[str, dict[str, set[str]]] = {}
    for pid, tag, dimension in rows.itertuples(index=False):
        out.setdefault(pid, {}).setdefault(dimension, set()).add(tag)
    return out


@pytest.fixture(scope="module")
def units(served_sql: Callable[[str], pd.DataFrame]) -> pd.DataFrame:
    return served_sql("SELECT code, level, parent_code FROM units ORDER BY code")


@pytest.fixture(scope="module")
def community(units: pd.DataFrame) -> str:
    return str(units.loc[units["level"] == "community", "code"].iloc[0])


@pytest.fixture(scope="module")
def raw_identifiers(built_city: Path) -> set[str]:
    """Every true ID and mobile number of the sample city."""
    truth = pd.read_parquet(
        built_city / "truth" / "persons.parquet", columns=["id_number", "phone"]
    )
    return (set(truth["id_number"].dropna()) | set(truth["phone"].dropna())) - {""}


@pytest.fixture(scope="module")
def access_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("extract_access")
    (folder / "roles.yaml").write_text(OWN_ROLES, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def client_of(
    served_project: Path,
    access_dir: Path,
    signed_in_client: Callable[..., TestClient],
    clients_by_role: Callable[..., AbstractContextManager[Callable[..., TestClient]]],
) -> Iterator[Callable[..., TestClient]]:
    """``client_of(role, scope)``: a signed-in client, one per role and scope."""

    def make(role: str, scope: str) -> TestClient:
        if role == "registry_export":
            return _own_role_client(served_project, access_dir, role, scope)
        return signed_in_client(served_project, access_dir, role, scope)

    with clients_by_role(make) as client:
        yield client


def _own_role_client(output_dir: Path, access_dir: Path, role: str, scope: str) -> TestClient:
    access = AccessConfig(
        users=access_dir / "own_users.json",
        audit_log=access_dir / "own_audit.log",
        roles=access_dir / "roles.yaml",
        password_hash=PasswordHashConfig(time_cost=2, memory_kib=19456, parallelism=1),
    )
    gate = Gate(output_dir, access, access_dir)
    gate.users.add(role, role, scope, "a long enough password")
    client = TestClient(create_app(output_dir, gate))
    issued = gate.login(role, "a long enough password")
    assert issued is not None
    client.headers["Authorization"] = f"Bearer {issued[0]}"
    return client


def as_text(value: Any) -> str:
    """A served value as the CSV writes it."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def read_csv(content: bytes) -> list[dict[str, str]]:
    assert content.startswith(b"\xef\xbb\xbf")  # the BOM that makes Excel read UTF-8
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))


def extract(client: TestClient, unit: str, **params: str) -> httpx.Response:
    return client.get("/api/extracts", params={"unit": unit, **params}, headers=PURPOSE)


# ---- who may ask, and how ----


def test_an_extract_needs_a_sign_in_the_export_action_and_a_purpose(
    client_of: Callable[..., TestClient], community: str
) -> None:
    officer = client_of("street_officer", community[:9])
    anonymous = officer.get(
        "/api/extracts", params={"unit": community}, headers={"Authorization": ""}
    )
    assert anonymous.status_code == 401
    for role in ("verifier", "community_worker", "grid_worker"):
        scope = {"community_worker": community, "grid_worker": community + "001"}.get(role, "3101")
        r = extract(client_of(role, scope), community)
        assert r.status_code == 403, role
        assert "export" in r.json()["detail"]
    for purpose in ({}, {"X-Purpose": "  "}, {"X-Purpose": "abc"}):
        r = officer.get("/api/extracts", params={"unit": community}, headers=purpose)
        assert r.status_code == 422, purpose
        assert "X-Purpose" in r.json()["detail"] and "purpose" in r.json()["detail"]
    short = officer.get("/api/extracts", params={"unit": community, "purpose": "走访"})
    assert short.status_code == 422
    by_parameter = officer.get("/api/extracts", params={"unit": community, "purpose": "养老走访"})
    assert by_parameter.status_code == 200, by_parameter.text
    by_header = officer.get(
        "/api/extracts", params={"unit": community}, headers={"X-Purpose": "home visits"}
    )
    assert by_header.status_code == 200
    assert by_header.content == by_parameter.content
    assert by_header.headers["content-type"] == "text/csv; charset=utf-8"
    disposition = by_header.headers["content-disposition"]
    assert re.fullmatch(
        rf'attachment; filename="extract-{community}-\d{{4}}-\d\d-\d\d\.csv"', disposition
    )
    assert by_header.headers["cache-control"] == "no-store"


def test_a_unit_outside_the_jurisdiction_is_answered_like_an_unknown_one(
    client_of: Callable[..., TestClient], units: pd.DataFrame
) -> None:
    streets = sorted(units.loc[units["level"] == "street", "code"])
    officer = client_of("street_officer", streets[0])
    outside = extract(officer, streets[1])
    missing = extract(officer, "310112999")
    wider = extract(officer, streets[0][:6])  # the district holding the street
    assert outside.status_code == missing.status_code == wider.status_code == 404
    assert outside.json() == missing.json() == wider.json()
    assert extract(officer, streets[0]).status_code == 200


def test_tags_are_checked_as_for_person_lists(
    client_of: Callable[..., TestClient], community: str
) -> None:
    education = client_of("education")
    street = community[:9]  # a department's extracts stop at its floor
    unknown = extract(education, street, tags="minor,nonsense")
    assert unknown.status_code == 422 and "/api/tags" in unknown.json()["detail"]
    assert extract(education, street, tags="hypertension").status_code == 403
    assert extract(education, street, tags="school_age").status_code == 200


def test_without_the_export_key_the_answer_is_503_naming_it(
    client_of: Callable[..., TestClient], community: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("POPBASE_EXPORT_KEY")
    r = extract(client_of("city_officer"), community)
    assert r.status_code == 503
    assert "POPBASE_EXPORT_KEY" in r.json()["detail"] and "export " in r.json()["detail"]
    monkeypatch.setenv("POPBASE_EXPORT_KEY", "   ")
    assert extract(client_of("city_officer"), community).status_code == 503


def test_an_extract_larger_than_the_cap_is_refused_not_cut_short(
    client_of: Callable[..., TestClient], community: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    officer = client_of("city_officer")
    whole = read_csv(extract(officer, community).content)
    monkeypatch.setattr(extracts, "MAX_EXTRACT_ROWS", len(whole) - 1)
    refused = extract(officer, community)
    assert refused.status_code == 422
    assert f"{len(whole):,} persons" in refused.json()["detail"]
    assert "narrow" in refused.json()["detail"]
    monkeypatch.setattr(extracts, "MAX_EXTRACT_ROWS", len(whole))
    assert len(read_csv(extract(officer, community).content)) == len(whole)


# ---- what an extract holds ----


@pytest.mark.parametrize(
    ("role", "scope_digits", "tags"),
    [
        ("street_officer", 9, ""),
        ("city_officer", 4, "elderly"),
        ("health", 4, "hypertension"),
        ("education", 4, ""),
        ("civil_affairs", 4, "elderly,disabled"),
    ],
)
def test_the_rows_are_the_persons_a_list_gives_the_same_caller(
    client_of: Callable[..., TestClient], community: str, role: str, scope_digits: int, tags: str
) -> None:
    client = client_of(role, community[:scope_digits])
    floor = {r.id: r.suppress_below for r in ALL_ROLES}[role]
    if floor is not None:  # a department gets no list nor extract below its floor
        assert client.get("/api/persons", params={"unit": community}).status_code == 403
        assert extract(client, community).status_code == 403
    for unit in (community, community[:9]) if floor is None else (community[:9],):
        params = {"unit": unit, "limit": "1000", **({"tags": tags} if tags else {})}
        listed = client.get("/api/persons", params=params)
        assert listed.status_code == 200, listed.text
        ids = [p["person_id"] for p in listed.json()["persons"]]
        assert 0 < len(ids) < 1000
        rows = read_csv(extract(client, unit, **({"tags": tags} if tags else {})).content)
        assert [r["person_pseudonym"] for r in rows] == [pseudonym("person", i) for i in ids]


def _check_cell(
    role_id: str,
    field_class: str,
    rows: list[dict[str, str]],
    cards: pd.DataFrame,
    person_tags: dict[str, dict[str, set[str]]],
) -> str:
    """Check one export cell of the decision table on an extract; return its decision."""
    roles = {r.id: r for r in ALL_ROLES}
    decision = decide(roles[role_id], field_class, "export")
    columns = set(rows[0])
    served = cards.loc[[r["person_pseudonym"] for r in rows]]
    if field_class.startswith("tags."):
        dimension = field_class.removeprefix("tags.")
        for row, pid in zip(rows, served["person_id"], strict=True):
            exported = set(row["tags"].split(";")) - {""} if "tags" in row else set()
            own = person_tags.get(pid, {}).get(dimension, set())
            assert (exported & own) == (own if decision == "allow" else set()), (role_id, pid)
        return decision
    if field_class in PERSON_FIELDS:
        names = [
            "household_pseudonym" if f == "household_id" else f for f in PERSON_FIELDS[field_class]
        ]
        if decision == "deny":
            assert not columns & set(names), (role_id, field_class)
            return decision
        floor = roles[role_id].suppress_below
        for name, field in zip(names, PERSON_FIELDS[field_class], strict=True):
            expected = served[field].tolist()
            if floor is not None:  # residence given only down to the role's floor
                expected = [coarsened({field: v}, floor)[field] for v in expected]
            if field == "household_id":
                expected = [
                    pseudonym("household", h) if isinstance(h, str) else None for h in expected
                ]
            got = [r[name] for r in rows]
            want = [as_text(v) for v in expected]
            assert got == want, (role_id, field)
        return decision
    if decision == "deny":
        assert field_class not in columns, (role_id, field_class)
        return decision
    got = [r[field_class] for r in rows]
    masked_column = {"name": "name_masked", "id_number": "id_masked", "phone": "phone_masked"}
    if decision == "mask":
        if field_class == "birth_date":
            want = [mask_birth_date(b) for b in served["birth_date"]]
        else:
            # The role's own mask, which hides at least what the served mask hides.
            plan = plan_masks(roles[role_id], AccessConfig().mask_candidates)
            shown = {"id_number": plan.id_shown, "phone": plan.phone_shown}.get(field_class)
            want = [
                mask_shape(v, shown) if shown and isinstance(v, str) else v
                for v in served[masked_column[field_class]]
            ]
        assert got == ["" if v is None or pd.isna(v) else v for v in want], (role_id, field_class)
        pattern = {"id_number": MASKED_ID, "phone": MASKED_PHONE}.get(field_class)
        assert pattern is None or all(pattern.match(v) for v in got if v), field_class
    elif field_class in ("name", "birth_date"):
        assert got == served[field_class].fillna("").tolist(), (role_id, field_class)
    else:
        whole = WHOLE_ID if field_class == "id_number" else WHOLE_PHONE
        masks = served[masked_column[field_class]].tolist()
        assert any(got)
        for value, mask in zip(got, masks, strict=True):
            assert (value == "") == (mask is None or pd.isna(mask)), field_class
            if value:
                assert whole.match(value), value
                assert value[:3] == mask[:3] and value[-4:] == mask[-4:]
    return decision


def test_every_export_cell_of_the_decision_table_through_the_endpoint(
    client_of: Callable[..., TestClient],
    community: str,
    cards: pd.DataFrame,
    person_tags: dict[str, dict[str, set[str]]],
    raw_identifiers: set[str],
) -> None:
    levels = {"city": 4, "district": 6, "street": 9, "community": 12, "grid": 15}
    checked: dict[str, int] = {}
    for role in ALL_ROLES:
        scope = community[: levels[role.level]] if role.level != "grid" else community + "001"
        # A department's extracts stop at its floor.
        unit = community if role.suppress_below is None else community[:9]
        r = extract(client_of(role.id, scope), unit)
        if "export" not in role.actions:
            assert r.status_code == 403, role.id
            assert all(decide(role, c, "export") == "deny" for c in FIELD_CLASSES)
            continue
        assert r.status_code == 200, (role.id, r.text)
        rows = read_csv(r.content)
        assert rows, role.id
        for field_class in FIELD_CLASSES:
            decision = _check_cell(role.id, field_class, rows, cards, person_tags)
            checked[decision] = checked.get(decision, 0) + 1
        text = r.content.decode("utf-8-sig")
        whole_ids = {"id_number", "phone"} & {
            c for c in FIELD_CLASSES if decide(role, c, "export") == "allow"
        }
        if not whole_ids:  # masked or absent: not one raw ID or phone number anywhere
            assert not [v for v in raw_identifiers if v in text], role.id
    exporting = [r for r in ALL_ROLES if "export" in r.actions]
    assert sum(checked.values()) == len(exporting) * len(FIELD_CLASSES)
    assert set(checked) == {"allow", "mask", "deny"}
    assert len(TAG_DIMENSIONS) > 5


def test_an_xlsx_extract_holds_the_rows_of_the_csv(
    client_of: Callable[..., TestClient], community: str
) -> None:
    officer = client_of("district_officer", community[:6])
    as_csv = extract(officer, community, tags="elderly")
    as_xlsx = extract(officer, community, tags="elderly", format="xlsx")
    assert as_xlsx.status_code == 200
    assert as_xlsx.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert as_xlsx.headers["content-disposition"].endswith('.xlsx"')
    sheet = openpyxl.load_workbook(io.BytesIO(as_xlsx.content)).active
    assert sheet is not None
    table = [
        ["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)
    ]
    text = as_csv.content.decode("utf-8-sig")
    assert table == list(csv.reader(io.StringIO(text)))
    assert len(table) > 2
    assert extract(officer, community, format="pdf").status_code == 422


def test_the_audit_entry_holds_the_purpose_and_the_exported_ids_and_no_raw_identifier(
    client_of: Callable[..., TestClient],
    community: str,
    cards: pd.DataFrame,
    raw_identifiers: set[str],
    access_dir: Path,
) -> None:
    officer = client_of("civil_affairs")
    id_number = sorted(v for v in raw_identifiers if len(v) == 18)[0]
    r = officer.get(
        "/api/extracts",
        params={
            "unit": community[:9],
            "tags": "elderly",
            "purpose": f"visits, case of {id_number}",
        },
    )
    assert r.status_code == 200
    rows = read_csv(r.content)
    text = (access_dir / "audit.log").read_text(encoding="utf-8")
    entry = json.loads(text.splitlines()[-1])
    assert entry["endpoint"] == "/api/extracts" and entry["outcome"] == 200
    assert entry["purpose"] == f"visits, case of {id_number[:4]}{'*' * 10}{id_number[-4:]}"
    assert (
        entry["records"] == cards.loc[[x["person_pseudonym"] for x in rows], "person_id"].tolist()
    )
    assert entry["params"]["rows"] == str(len(rows))
    assert not [v for v in raw_identifiers if v in text]


def test_a_purpose_stated_in_chinese_in_the_header_is_audited_as_written(
    client_of: Callable[..., TestClient], community: str, access_dir: Path
) -> None:
    officer = client_of("civil_affairs")
    # The client sends the header's UTF-8 bytes; ASGI hands them over as bytes.
    r = officer.get(
        "/api/extracts",
        params={"unit": community[:9], "tags": "elderly"},
        headers={"X-Purpose": "2026年养老走访".encode()},
    )
    assert r.status_code == 200
    lines = (access_dir / "audit.log").read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[-1])["purpose"] == "2026年养老走访"
