"""Masks, tokens, users, the decision table and the audit chain."""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import random
import threading
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from popbase.api.audit import GroupCommit
from popbase.population.resident_id import generate_id_numbers
from popbase.security.access import (
    ACTIONS,
    FIELD_CLASSES,
    MASKABLE,
    decide,
    decision_table,
    load_roles,
)
from popbase.security.audit import GENESIS, AuditLog, entry_hash, verify_chain
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


# ---- the audit chain ----


def _chain(n: int) -> list[dict[str, object]]:
    entries, prev = [], GENESIS
    for seq in range(1, n + 1):
        entry: dict[str, object] = {
            "seq": seq,
            "prev": prev,
            "user": f"u{seq % 7}",
            "endpoint": "/api/persons",
            "outcome": 200,
            "records": [f"P{seq:016x}"],
        }
        entry["hash"] = entry_hash(entry)
        prev = str(entry["hash"])
        entries.append(entry)
    return entries


def _write(path: Path, entries: list[dict[str, object]], head: dict[str, object]) -> None:
    path.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entries))
    path.with_name(path.name + ".head").write_text(
        json.dumps({"seq": head["seq"], "hash": head["hash"]})
    )


def test_the_log_written_by_the_api_verifies(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.log")
    for i in range(20):
        log.append({"user": "wang", "endpoint": "/api/persons", "params": {"i": i}})
    assert verify_chain(tmp_path / "audit.log") == (20, [])
    # A new writer continues the chain.
    AuditLog(tmp_path / "audit.log").append({"user": "li"})
    assert verify_chain(tmp_path / "audit.log") == (21, [])


def _append_from_threads(path: str, writer: str, threads: int, each: int) -> None:
    log = AuditLog(Path(path))

    def run(k: int) -> None:
        for i in range(each):
            log.append({"user": f"{writer}-{k}", "params": {"i": i}})

    pool = [threading.Thread(target=run, args=(k,)) for k in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()


def test_processes_and_threads_appending_at_once_leave_one_unbroken_chain(
    tmp_path: Path,
) -> None:
    path = tmp_path / "audit.log"
    # Two processes with eight threads each, appending their entries at once.
    ctx = multiprocessing.get_context("spawn")
    writers = [
        ctx.Process(target=_append_from_threads, args=(str(path), f"w{w}", 8, 50)) for w in range(2)
    ]
    for w in writers:
        w.start()
    for w in writers:
        w.join(timeout=120)
        assert w.exitcode == 0
    assert verify_chain(path) == (800, [])
    entries = [json.loads(line) for line in path.read_text().splitlines()]
    assert {e["user"] for e in entries} == {f"w{w}-{k}" for w in range(2) for k in range(8)}


def test_an_entry_that_cannot_be_written_fails_its_append(tmp_path: Path) -> None:
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the log's folder should be")
    log = AuditLog(blocked / "audit.log")
    with pytest.raises(OSError):
        log.append({"user": "wang"})
    # The writer survives the failure: a log that can be written takes entries again.
    log.path = tmp_path / "audit.log"
    log.head_path = tmp_path / "audit.log.head"
    log.lock_path = tmp_path / "audit.log.lock"
    log.append({"user": "li"})
    assert verify_chain(tmp_path / "audit.log") == (1, [])


class _CountedLog(AuditLog):
    """A log that counts its batches and can be told to fail the next one."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.batches: list[int] = []
        self.fail_next = False

    def write(self, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        self.batches.append(len(batch))
        if self.fail_next:
            self.fail_next = False
            raise OSError(28, "No space left on device")
        return super().write(batch)


def test_entries_of_one_loop_turn_are_committed_as_one_batch(tmp_path: Path) -> None:
    log = _CountedLog(tmp_path / "audit.log")
    commit = GroupCommit(log)

    async def requests(n: int) -> list[dict[str, Any]]:
        return list(await asyncio.gather(*(_audited(commit, i) for i in range(n))))

    entries = asyncio.run(requests(50))
    # Every request reached its audit in the same turn: one batch, one sync.
    assert log.batches == [50]
    assert [e["seq"] for e in entries] == list(range(1, 51))
    assert [e["params"]["i"] for e in entries] == list(range(50))
    entries = asyncio.run(requests(3))
    assert log.batches == [50, 3] and entries[-1]["seq"] == 53
    assert verify_chain(tmp_path / "audit.log") == (53, [])


async def _audited(commit: GroupCommit, i: int) -> dict[str, Any]:
    await asyncio.sleep(0)  # as a request does some work before its audit
    return await commit.submit({"user": "wang", "params": {"i": i}})


def test_a_batch_that_cannot_be_written_fails_each_of_its_requests(tmp_path: Path) -> None:
    log = _CountedLog(tmp_path / "audit.log")
    commit = GroupCommit(log)
    log.fail_next = True

    async def requests() -> list[Any]:
        return list(
            await asyncio.gather(*(_audited(commit, i) for i in range(5)), return_exceptions=True)
        )

    failed = asyncio.run(requests())
    assert all(isinstance(f, OSError) for f in failed)
    # Nothing of the failed batch is on disk, and the next batch is written.
    assert not (tmp_path / "audit.log").exists()
    assert [e["seq"] for e in asyncio.run(requests())] == [1, 2, 3, 4, 5]
    assert verify_chain(tmp_path / "audit.log") == (5, [])


def test_each_of_100_random_tamperings_of_a_100000_entry_chain_is_found(tmp_path: Path) -> None:
    entries = _chain(100_000)
    path = tmp_path / "audit.log"
    _write(path, entries, entries[-1])
    assert verify_chain(path) == (100_000, [])
    rng = random.Random(7)
    # 100 places far apart, each tampered one way; every one must be reported near it.
    places = sorted(rng.sample(range(10, 99_990, 20), 100))
    kinds = [("edit", "delete", "swap")[i % 3] for i in range(100)]
    rng.shuffle(kinds)
    tampered = [dict(e) for e in entries]
    expected_lines: list[int] = []
    removed = 0
    for at, kind in zip(places, kinds, strict=True):
        i = at - removed
        if kind == "edit":
            tampered[i]["user"] = "someone else"
            expected_lines.append(i + 1)
        elif kind == "delete":
            del tampered[i]
            removed += 1
            expected_lines.append(i + 1)  # the entry now on this line does not follow
        else:
            tampered[i], tampered[i + 1] = tampered[i + 1], tampered[i]
            expected_lines.append(i + 1)
    _write(path, tampered, entries[-1])
    n, findings = verify_chain(path)
    assert n == 100_000 - removed
    lines = {f.line for f in findings}
    missed = [line for line in expected_lines if line not in lines]
    assert not missed, missed


def test_cutting_entries_off_the_end_or_losing_the_head_is_found(tmp_path: Path) -> None:
    entries = _chain(50)
    path = tmp_path / "audit.log"
    _write(path, entries[:45], entries[-1])
    _, findings = verify_chain(path)
    assert any("cut off the end" in f.problem for f in findings)
    path.with_name("audit.log.head").unlink()
    _, findings = verify_chain(path)
    assert any("missing" in f.problem for f in findings)
