"""Token revocation: a new password, a revocation, or a user removed and added again."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from popbase.api.gate import Gate
from popbase.cli import app as cli
from popbase.config import load_project
from popbase.config.settings import AccessConfig, PasswordHashConfig
from popbase.security.tokens import Claims, issue_token, read_token

PASSWORD = "a long enough password"


@pytest.fixture()
def gate(tmp_path: Path) -> Gate:
    cheap = PasswordHashConfig(memory_kib=19456, time_cost=2, parallelism=1)
    access = AccessConfig(users=Path("users.json"), password_hash=cheap)
    gate = Gate(tmp_path / "output", access, tmp_path)
    gate.users.add("wang", "street_officer", "310112001", PASSWORD)
    return gate


def bearer(gate: Gate, password: str = PASSWORD) -> str:
    issued = gate.login("wang", password)
    assert issued is not None
    return f"Bearer {issued[0]}"


def test_a_token_carries_the_credential_it_was_issued_under() -> None:
    token = issue_token(Claims("li", "grid_worker", "3101", 4102444800, "abc"), "k")
    claims = read_token(token, "k", now=0)
    assert claims is not None and claims.credential == "abc"


def test_a_new_password_ends_the_tokens_issued_before(gate: Gate) -> None:
    old = bearer(gate)
    assert gate.principal(old) is not None
    gate.users.set_password("wang", "another long password")
    assert gate.principal(old) is None
    assert gate.principal(bearer(gate, "another long password")) is not None


def test_removing_and_adding_the_same_user_does_not_revive_old_tokens(gate: Gate) -> None:
    old = bearer(gate)
    gate.users.remove("wang")
    assert gate.principal(old) is None
    gate.users.add("wang", "street_officer", "310112001", PASSWORD)  # same name, role, scope
    assert gate.principal(old) is None
    assert gate.principal(bearer(gate)) is not None


def test_revoke_ends_every_token_and_keeps_the_password(gate: Gate) -> None:
    first, second = bearer(gate), bearer(gate)
    gate.users.revoke("wang")
    assert gate.principal(first) is None and gate.principal(second) is None
    assert gate.principal(bearer(gate)) is not None


def test_each_user_has_a_random_credential_in_the_users_file(gate: Gate, tmp_path: Path) -> None:
    gate.users.add("li", "street_officer", "310112001", PASSWORD)
    users = json.loads((tmp_path / "users.json").read_text(encoding="utf-8"))["users"]
    credentials = [u["credential"] for u in users]
    assert len(set(credentials)) == 2 and all(len(c) == 32 for c in credentials)


def test_a_token_without_a_credential_is_refused_once_the_user_has_one(gate: Gate) -> None:
    # A token of an older server (no credential claim) against a user given one since.
    user = gate.users.get("wang")
    assert user is not None
    legacy = issue_token(Claims("wang", user.role, user.scope, 4102444800), gate._token_key)
    assert gate.principal(f"Bearer {legacy}") is None


def test_users_revoke_from_the_command_line(copy_city: Callable[..., Path]) -> None:
    folder = copy_city()
    runner = CliRunner()
    add = ["users", "add", str(folder), "wang", "--role", "street_officer"]
    added = runner.invoke(cli, [*add, "--scope", "310112001", "--password-stdin"], input=PASSWORD)
    assert added.exit_code == 0, added.output
    gate = Gate.for_project(load_project(folder))
    old = bearer(gate)
    assert gate.principal(old) is not None
    revoked = runner.invoke(cli, ["users", "revoke", str(folder), "wang"])
    assert revoked.exit_code == 0 and "revoked" in revoked.output
    assert gate.principal(old) is None
    assert gate.principal(bearer(gate)) is not None
    unknown = runner.invoke(cli, ["users", "revoke", str(folder), "nobody"])
    assert unknown.exit_code != 0 and "no user 'nobody'" in unknown.output
