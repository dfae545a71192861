"""Masks, tokens, users and the decision table."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from popbase.population.resident_id import generate_id_numbers
from popbase.security.access import (
    ACTIONS,
    FIELD_CLASSES,
    MASKABLE,
    decide,
    decision_table,
    load_roles,
)
from popbase.security.masking import (
    MASKED_ID,
    MASKED_PHONE,
    RAW_ID_IN_TEXT,
    RAW_PHONE_IN_TEXT,
    mask_id_number,
    mask_name,
    mask_phone,
    mask_text,
)
from popbase.security.tokens import Claims, issue_token, read_token
from popbase.security.users import UserError, UserStore

# ---- masks ----


@settings(max_examples=200, deadline=None)
@given(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True))
def test_a_masked_phone_keeps_three_and_four_digits(phone: str) -> None:
    masked = mask_phone(phone)
    assert masked is not None and MASKED_PHONE.match(masked)
    assert masked[:3] == phone[:3] and masked[-4:] == phone[-4:]
    assert not RAW_PHONE_IN_TEXT.search(masked)


def test_masked_id_numbers_match_their_pattern_and_hide_the_birth_date() -> None:
    import datetime as dt

    import numpy as np

    ids = generate_id_numbers(
        np.array(["310112"] * 200),
        np.array(
            [np.datetime64(dt.date(1950, 1, 1) + dt.timedelta(days=97 * i)) for i in range(200)]
        ).astype("datetime64[D]"),
        np.array(["M", "F"] * 100),
        np.random.default_rng(0),
    )
    for number in ids:
        masked = mask_id_number(str(number))
        assert masked is not None and MASKED_ID.match(masked), masked
        assert str(number)[6:14] not in masked  # the birth date is hidden
        assert not RAW_ID_IN_TEXT.search(masked)
        assert mask_text(f"id={number};x") == f"id={masked};x"


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet="张王李赵欧阳司马诸葛明华伟芳娜", min_size=2, max_size=5))
def test_a_masked_name_keeps_the_surname_and_hides_the_given_name(name: str) -> None:
    masked = mask_name(name)
    assert masked is not None and len(masked) == len(name)
    assert masked[0] == name[0] and "*" in masked
    assert masked[1 : len(name) - 1] == "*" * (len(name) - 2) or len(name) == 2


# ---- tokens ----


def test_a_token_is_refused_after_its_expiry_or_any_change() -> None:
    claims = Claims("wang", "street_officer", "310112001", 2_000_000_000)
    token = issue_token(claims, "key")
    assert read_token(token, "key", now=1_999_999_999) == claims
    assert read_token(token, "key", now=2_000_000_000) is None
    payload, signature = token.split(".")
    forged = issue_token(Claims("wang", "city_officer", "3101", 2_000_000_000), "other")
    assert read_token(f"{forged.split('.')[0]}.{signature}", "key", now=0) is None
    assert read_token(f"{payload}.{signature[::-1]}", "key", now=0) is None


# ---- users ----


def test_users_are_added_authenticated_and_removed(tmp_path: Path) -> None:
    store = UserStore(tmp_path / "users.json", load_roles())
    store.add("wang", "street_officer", "310112001", "correct horse battery")
    text = (tmp_path / "users.json").read_text(encoding="utf-8")
    assert "correct horse" not in text and "$argon2id$" in text
    assert store.authenticate("wang", "correct horse battery") is not None
    assert store.authenticate("wang", "wrong password!") is None
    assert store.authenticate("nobody", "correct horse battery") is None
    with pytest.raises(UserError, match="exists"):
        store.add("wang", "street_officer", "310112001", "another password")
    with pytest.raises(UserError, match="no role 'mayor'"):
        store.add("li", "mayor", "3101", "long enough pw")
    with pytest.raises(UserError, match="not a street division code"):
        store.add("li", "street_officer", "31011200", "long enough pw")
    with pytest.raises(UserError, match="at least 10"):
        store.add("li", "street_officer", "310112001", "short")
    store.remove("wang")
    assert store.authenticate("wang", "correct horse battery") is None


# ---- the decision table ----


def test_the_decision_table_has_every_cell_and_only_allows_what_a_role_lists() -> None:
    roles = load_roles()
    table = pd.DataFrame(decision_table(roles))
    assert len(table) == len(roles.roles) * len(FIELD_CLASSES) * len(ACTIONS)
    assert not table.duplicated(["role", "field_class", "action"]).any()
    assert set(table["decision"]) <= {"allow", "mask", "deny"}
    assert (table["audit"] == "yes").all()
    for cell in table.itertuples():
        role = roles.get(cell.role)
        assert role is not None
        listed = role.fields.get(cell.field_class) or (
            role.fields.get("tags.*") if cell.field_class.startswith("tags.") else None
        )
        if cell.action not in role.actions or cell.action in ("verify", "admin"):
            assert cell.decision == "deny", cell
        elif cell.action == "aggregate":
            expected = (
                "deny" if cell.field_class in MASKABLE or listed in (None, "deny") else "allow"
            )
            assert cell.decision == expected, cell
        else:
            assert cell.decision == (listed or "deny"), cell
    # Masks only where a mask exists; the verifier sees no field at all.
    assert set(table.loc[table["decision"] == "mask", "field_class"]) <= set(MASKABLE)
    verifier = table[table["role"] == "verifier"]
    assert (verifier["decision"] == "deny").all()


def test_a_roles_file_with_an_unknown_class_or_a_mask_that_cannot_be_is_refused(
    tmp_path: Path,
) -> None:
    path = tmp_path / "roles.yaml"
    path.write_text(
        "roles:\n"
        "  - {id: a, label: a, level: city, actions: [read], fields: {salary: allow}}\n"
        "  - {id: b, label: b, level: city, actions: [read], fields: {residence: mask}}\n",
        encoding="utf-8",
    )
    from popbase.errors import ConfigError

    with pytest.raises(ConfigError) as info:
        load_roles(path)
    text = " ".join(info.value.problems)
    assert "unknown field class 'salary'" in text
    assert "'residence' cannot be masked" in text


def test_decide_is_allow_only() -> None:
    role = load_roles().get("grid_worker")
    assert role is not None
    assert decide(role, "employment", "read") == "deny"  # listed as deny
    assert decide(role, "tags.health", "read") == "deny"  # not listed
    assert decide(role, "name", "export") == "deny"  # an action it lacks
