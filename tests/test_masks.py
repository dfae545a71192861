"""Masks designed with all else a role sees, and searches that are no oracle for them."""

from __future__ import annotations

import datetime as dt
import json
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

from popbase.config import load_project
from popbase.population.resident_id import check_digit, generate_id_numbers
from popbase.security.access import PERSON_ACTIONS, Role, decide, load_roles
from popbase.security.candidates import (
    ID_MASKS,
    Knowledge,
    id_candidates,
    knowledge_of,
    mask_shape,
    name_candidates,
    phone_candidates,
    plan_masks,
)
from popbase.security.masking import MASKED_ID, MASKED_PHONE

ROLES = load_roles()
MINIMUM = 1000  # access.mask_candidates' default
AS_OF = dt.date(2026, 6, 30)


def sees(role: Role, field_class: str, decision: str) -> bool:
    return any(decide(role, field_class, a) == decision for a in PERSON_ACTIONS)


def brute_force(id_number: str, shown: tuple[int, int], known: Knowledge) -> int:
    """Every 18-character number with the area code, checked one by one."""
    born = dt.date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
    if known.birth == "date":
        days = [born]
    else:
        assert known.birth == "year"
        first = dt.date(born.year, 1, 1)
        days = [
            first + dt.timedelta(d) for d in range((dt.date(born.year, 12, 31) - first).days + 1)
        ]
    head, tail = shown
    count = 0
    for day in days:
        for seq in range(1000):
            if known.sex and seq % 2 != int(id_number[16]) % 2:
                continue
            body = id_number[:6] + day.strftime("%Y%m%d") + f"{seq:03d}"
            number = body + check_digit(body)
            if number[:head] == id_number[:head] and (
                tail == 0 or number[-tail:] == id_number[-tail:]
            ):
                count += 1
    return count


@pytest.mark.parametrize(
    ("shown", "known"),
    [
        ((4, 4), Knowledge("date", True)),
        ((4, 1), Knowledge("date", True)),
        ((4, 0), Knowledge("date", False)),
        ((4, 4), Knowledge("year", True)),
        ((4, 1), Knowledge("year", False)),
    ],
)
def test_the_count_of_candidates_is_exact(shown: tuple[int, int], known: Knowledge) -> None:
    for number in ("340103199110155286", "31011219920229123X", "110105200012310017"):
        assert id_candidates(number, shown, known, AS_OF) == brute_force(number, shown, known)


def test_the_old_mask_left_education_one_to_three_candidates() -> None:
    """``3101**********8157`` with the birth date and the sex left 1-3 numbers."""
    education = ROLES.get("education")
    assert education is not None
    known = knowledge_of(education)
    assert known == Knowledge("date", True)
    rng = np.random.default_rng(7)
    numbers = _numbers(rng, 200)
    old = [id_candidates(n, ID_MASKS[0], known, AS_OF) for n in numbers]
    assert max(old) <= 3
    plan = plan_masks(education, MINIMUM, AS_OF)
    assert plan.id_shown != ID_MASKS[0]


def _numbers(rng: np.random.Generator, n: int) -> list[str]:
    days = np.datetime64("1930-01-01") + rng.integers(0, 35_000, n).astype("timedelta64[D]")
    areas = rng.choice(np.array(["310101", "310112", "340103", "110105"]), n)
    sexes = rng.choice(np.array(["M", "F"]), n)
    return [str(x) for x in generate_id_numbers(areas, days, sexes, rng)]


@pytest.mark.parametrize("role_id", [r.id for r in ROLES.roles])
def test_every_roles_masked_id_leaves_the_minimum_or_adds_nothing(role_id: str) -> None:
    """For every role that sees ID numbers masked, the candidates a mask leaves given the
    role's birth date, age and sex, counted for 300 persons, are at least the minimum;
    where the role's other fields alone leave fewer, the mask shows no digit beyond the
    city and leaves exactly what those fields leave (and lookups are throttled)."""
    role = ROLES.get(role_id)
    assert role is not None
    if not sees(role, "id_number", "mask"):
        pytest.skip(f"{role_id} sees no masked ID number")
    plan = plan_masks(role, MINIMUM, AS_OF)
    known = knowledge_of(role)
    for number in _numbers(np.random.default_rng(11), 300):
        left = id_candidates(number, plan.id_shown, known, AS_OF)
        assert MASKED_ID.match(mask_shape(number, plan.id_shown))
        if plan.id_floor:
            assert plan.id_shown == (4, 0)
            assert left == id_candidates(number, (0, 0), known, AS_OF) < MINIMUM
        else:
            assert left >= MINIMUM, (number, plan)


@pytest.mark.parametrize("role_id", [r.id for r in ROLES.roles])
def test_every_roles_masked_phone_and_name_leave_the_minimum(role_id: str) -> None:
    role = ROLES.get(role_id)
    assert role is not None
    plan = plan_masks(role, MINIMUM, AS_OF)
    if sees(role, "phone", "mask"):
        assert phone_candidates(plan.phone_shown) >= MINIMUM
        assert MASKED_PHONE.match(mask_shape("13812345678", plan.phone_shown))
    if sees(role, "name", "mask"):
        for length in (2, 3, 4):
            assert name_candidates(length, plan.name_keeps_last) >= MINIMUM


def test_a_higher_minimum_hides_more() -> None:
    hr = ROLES.get("human_resources")
    assert hr is not None
    assert plan_masks(hr, 1000, AS_OF).id_shown == (4, 1)
    strict = plan_masks(hr, 2_000_000, AS_OF)
    assert strict.id_shown == (4, 0) and strict.phone_shown == (3, 0)
    assert not strict.name_keeps_last


# ---- through the API ----


@pytest.fixture(scope="module")
def truth(built_city: Path) -> pd.DataFrame:
    return pd.read_parquet(built_city / "truth" / "persons.parquet")


@pytest.fixture()
def client_of(
    served_project: Path, tmp_path: Path, signed_in_client: Callable[..., TestClient]
) -> Callable[[str], TestClient]:
    def make(role: str) -> TestClient:
        scope = "310112001" if role == "street_officer" else "3101"
        return signed_in_client(served_project, tmp_path, role, scope)

    return make


def audit_entries(tmp_path: Path) -> list[dict[str, Any]]:
    lines = (tmp_path / "audit.log").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def test_persons_show_each_roles_own_mask(
    client_of: Callable[[str], TestClient], truth: pd.DataFrame
) -> None:
    number = str(truth["id_number"].iloc[0])
    with client_of("education") as edu, client_of("human_resources") as hr:
        shown = edu.get("/api/persons", params={"q": number}).json()["persons"][0]
        assert shown["id_number"] == number[:4] + "*" * 14
        assert shown["birth_date"] == str(truth["birth_date"].iloc[0])[:10]
        shown = hr.get("/api/persons", params={"q": number}).json()["persons"][0]
        assert shown["id_number"] == number[:4] + "*" * 13 + number[-1]


def test_name_prefix_search_only_for_roles_that_see_names_whole(
    client_of: Callable[[str], TestClient], truth: pd.DataFrame
) -> None:
    surname = str(truth["name"].iloc[0])[0]
    with client_of("education") as edu, client_of("street_officer") as street:
        refused = edu.get("/api/persons", params={"q": surname + "明"})
        assert refused.status_code == 403
        assert (
            "masked" in refused.json()["detail"] and "whole ID number" in refused.json()["detail"]
        )
        found = street.get("/api/persons", params={"q": surname})
        assert found.status_code == 200 and found.json()["count"] > 0


def test_an_id_number_written_with_dashes_or_spaces_is_found_and_logged_masked(
    client_of: Callable[[str], TestClient], truth: pd.DataFrame, tmp_path: Path
) -> None:
    number = str(truth["id_number"].iloc[0])
    dashed = f"{number[:6]}-{number[6:14]}-{number[14:]}"
    spaced = f"{number[:6]} {number[6:14]} {number[14:]}"
    with client_of("street_officer") as street:
        for q in (dashed, spaced):
            r = street.get("/api/persons", params={"q": q})
            assert r.status_code == 200 and r.json()["count"] == 1
        wrong = number[:17] + ("0" if number[17] != "0" else "1")
        assert street.get("/api/persons", params={"q": wrong}).status_code == 422
    logged = (tmp_path / "audit.log").read_text(encoding="utf-8")
    assert number[6:14] not in logged and number not in logged


def test_confirming_candidates_of_a_masked_id_is_throttled_and_flagged(
    client_of: Callable[[str], TestClient], truth: pd.DataFrame, tmp_path: Path
) -> None:
    """The attack on a masked ID number: an education user sees a person's masked ID number,
    birth date and sex, lists the numbers they leave, and looks each up."""
    person = truth.iloc[0]
    number = str(person["id_number"])
    with client_of("education") as edu:
        seen = edu.get("/api/persons", params={"q": number}).json()["persons"][0]
        birth = seen["birth_date"].replace("-", "")
        area = number[:6]  # guessed from where the person is registered
        parity = 1 if seen["sex"] == "M" else 0
        candidates = []
        for seq in range(parity, 1000, 2):
            body = area + birth + f"{seq:03d}"
            candidates.append(body + check_digit(body))
        candidates.remove(number)
        candidates.append(number)  # the right one last: the attacker does not know it
        assert len(candidates) == 500
        answers = [edu.get("/api/persons", params={"q": c}) for c in candidates[:40]]
    codes = [a.status_code for a in answers]
    assert codes[:10] == [200] * 10 and all(a.json()["count"] == 0 for a in answers[:10])
    assert set(codes[10:]) == {429}
    assert int(answers[-1].headers["retry-after"]) > 800  # the 900 s window
    entries = [e for e in audit_entries(tmp_path) if e["endpoint"] == "/api/persons"]
    assert [e.get("probing", False) for e in entries[-31:]] == [True] * 31
    assert not any(e.get("probing") for e in entries[:-31])
    # A person id stays findable by its own page; the limit is on lookups by number only.
    with client_of("education") as edu:
        assert edu.get(f"/api/persons/{seen['person_id']}").status_code == 200


def test_the_project_sets_the_minimum(built_city: Path) -> None:
    access = load_project(built_city).config.access
    assert access.mask_candidates == MINIMUM
    assert access.throttle.lookup_misses == 10


def test_no_answers_of_the_verification_count_as_misses(
    client_of: Callable[[str], TestClient], truth: pd.DataFrame
) -> None:
    person = truth.iloc[0]
    community = str(person["community_code"])
    strangers = _numbers(np.random.default_rng(5), 12)
    with client_of("verifier") as verifier:

        def ask(number: str) -> Any:
            body = {"id_number": number, "community": community}
            return verifier.post("/api/verify-resident", json=body)

        answers = [ask(n) for n in strangers[:10]]
        assert all(a.json() == {"resident": False} for a in answers)
        assert ask(strangers[10]).status_code == 429
        # The person's own number is refused too until the window passes: no oracle.
        assert ask(str(person["id_number"])).status_code == 429


def test_the_roles_masks_are_listed_from_the_command_line(built_city: Path) -> None:
    from typer.testing import CliRunner

    from popbase.cli import app as cli

    result = CliRunner().invoke(cli, ["users", "roles", str(built_city), "--masks"])
    assert result.exit_code == 0, result.output
    rows = {line.split(",")[0]: line.split(",") for line in result.output.splitlines()[1:]}
    assert rows["education"][1:4] == ["3101**************", "500", "yes"]
    hr = rows["human_resources"]
    assert hr[1] == "3101*************4" and int(hr[2]) >= MINIMUM and hr[3] == "no"
