"""Persons by id from the memory-mapped lookup files agree with the served tables."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from popbase.api.gate import PERSON_SELECT, Gate, Principal
from popbase.api.people import _tags_of
from popbase.api.served import ServedBase, ServedSnapshot
from popbase.ops.snapshot import PERSON_CARDS_FILE, PERSON_TAGS_FILE, current_snapshot
from popbase.security.access import load_roles


@pytest.fixture(scope="module")
def served(served_project: Path) -> ServedSnapshot:
    return ServedBase(served_project).current()


def test_every_person_and_tag_of_the_files_equals_the_served_tables(
    served: ServedSnapshot,
) -> None:
    index = served.person_index()
    assert index is not None
    rows = served.query(f"{PERSON_SELECT} ORDER BY p.person_id")
    tags = _tags_of(served, [r["person_id"] for r in rows])
    assert len(rows) > 1000
    for row in rows:
        card = index.card(row["person_id"])
        assert card is not None
        assert {k: card[k] for k in row} == row
        expected = [
            {k: t[k] for k in ("tag", "source", "valid_from", "valid_to")}
            for t in tags.get(row["person_id"], [])
        ]
        assert index.tags(row["person_id"]) == expected
    assert sum(len(v) for v in tags.values()) > 0


def test_an_unknown_id_has_no_card_and_no_tags(served: ServedSnapshot) -> None:
    index = served.person_index()
    assert index is not None
    first = served.query("SELECT min(person_id) AS p FROM person_cards")[0]["p"]
    for unknown in ("", "P", "P0", first[:-1], first + "0", "Z" * 17, "王"):
        assert index.card(unknown) is None
        assert index.tags(unknown) == []


def test_the_python_scope_agrees_with_the_sql_scope_for_every_person(
    served: ServedSnapshot,
) -> None:
    rng = random.Random(5)
    roles = load_roles()
    role = roles.get("city_officer")
    assert role is not None
    codes = [r["code"] for r in served.query("SELECT code FROM units")]
    scopes = [*rng.sample(codes, 12), "3101", "310199", codes[0] + "9", "9"]
    index = served.person_index()
    assert index is not None
    ids = [r["person_id"] for r in served.query("SELECT person_id FROM person_cards")]
    for scope in scopes:
        who = Principal("u", role, scope)
        condition, params = Gate.person_scope(who)
        in_sql = {
            r["person_id"]
            for r in served.query(
                f"SELECT p.person_id FROM person_cards p WHERE {condition}", params
            )
        }
        in_python = set()
        for pid in ids:
            card = index.card(pid)
            assert card is not None
            if Gate.holds_person(who, card):
                in_python.add(pid)
        assert in_python == in_sql, scope


def test_a_snapshot_without_the_files_answers_lookups_the_same_from_sql(
    copy_city: Callable[..., Path],
    signed_in_client: Callable[..., TestClient],
    tmp_path: Path,
) -> None:
    from popbase.config import load_project

    output_dir = load_project(copy_city()).output_dir
    ids = [
        r["person_id"]
        for r in ServedBase(output_dir)
        .current()
        .query("SELECT person_id FROM person_cards USING SAMPLE 40 ROWS (reservoir, 1)")
    ]
    ids += ["P0000000000000000", "nobody"]
    first = (
        ServedBase(output_dir)
        .current()
        .query(
            "SELECT min(code) FILTER (level = 'street') AS street, "
            "min(code) FILTER (level = 'community') AS community FROM units"
        )[0]
    )
    # Whole, masked and left-out fields; in and out of the jurisdiction.
    cases = [
        ("admin", "3101"),
        ("street_officer", first["street"]),
        ("community_worker", first["community"]),
        ("health", "3101"),
    ]
    answers: list[list[tuple[int, str]]] = []
    for with_files in (True, False):
        if not with_files:
            folder = current_snapshot(output_dir).path
            (folder / PERSON_CARDS_FILE).unlink()
            (folder / PERSON_TAGS_FILE).unlink()
        got = []
        for role, scope in cases:
            access = tmp_path / f"{role}-{with_files}"
            access.mkdir()
            with signed_in_client(output_dir, access, role, scope) as client:
                for pid in ids:
                    r = client.get(f"/api/persons/{pid}")
                    got.append((r.status_code, r.text))
        answers.append(got)
    assert answers[0] == answers[1]
    assert {status for status, _ in answers[0]} == {200, 404}
