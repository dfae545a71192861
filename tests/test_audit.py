"""The keyed audit chain: writing, group commit, tampering, failures, old logs and masking."""

from __future__ import annotations

import asyncio
import hmac
import json
import multiprocessing
import os
import random
import shutil
import stat
import threading
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from typer.testing import CliRunner

from popbase.api.app import create_app
from popbase.api.audit import GroupCommit, mask_for_log
from popbase.api.gate import Gate
from popbase.api.people import Verification
from popbase.cli import app as cli
from popbase.config import AccessConfig
from popbase.security import audit
from popbase.security.audit import GENESIS, AuditLog, canonical, entry_hash, entry_mac, seal
from popbase.security.audit_check import Verdict, verify_chain
from popbase.security.audit_key import (
    CHECKPOINTS,
    KEY_ENV,
    AuditKey,
    AuditKeyError,
    audit_key_for,
)
from popbase.security.masking import RAW_ID_IN_TEXT

SECRET = b"the audit key of these tests, 32+ bytes long"


def _key(tmp_path: Path) -> AuditKey:
    return AuditKey(SECRET, tmp_path / "keys" / CHECKPOINTS)


def _log(tmp_path: Path, n: int = 0) -> AuditLog:
    log = AuditLog(tmp_path / "audit" / "audit.log", _key(tmp_path))
    for i in range(n):
        log.append({"user": f"u{i % 7}", "endpoint": "/api/persons", "records": [f"P{i:016x}"]})
    return log


def _verify(log: AuditLog, secret: bytes = SECRET) -> Verdict:
    return verify_chain(log.path, secret, log.checkpoint_path)


def _problems(verdict: Verdict) -> str:
    return "\n".join(str(f) for f in verdict.findings)


def _lines(log: AuditLog) -> list[str]:
    return log.path.read_text(encoding="utf-8").splitlines()


def _rewrite(log: AuditLog, lines: list[str]) -> None:
    log.path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


# ---- writing ----


def test_the_log_verifies_and_a_new_writer_continues_it(tmp_path: Path) -> None:
    log = _log(tmp_path, 20)
    verdict = _verify(log)
    assert (verdict.entries, verdict.keyed, verdict.findings) == (20, 20, [])
    AuditLog(log.path, _key(tmp_path)).append({"user": "li", "probing": True})
    verdict = _verify(log)
    assert (verdict.entries, verdict.findings) == (21, [])
    last = json.loads(_lines(log)[-1])
    assert last["probing"] is True and last["seq"] == 21  # entries take further facts
    # Head and checkpoint name the last entry, sealed; the checkpoint lies beside the key.
    head = json.loads(log.head_path.read_text())
    assert head == {"seq": 21, "mac": last["mac"], "sig": seal(21, last["mac"], SECRET)}
    assert log.checkpoint_path.parent == tmp_path / "keys" / CHECKPOINTS
    assert json.loads(log.checkpoint_path.read_text())["log"] == str(log.path.resolve())
    for path in (log.path, log.head_path, log.checkpoint_path):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def _append_from_threads(path: str, keys: str, writer: str, threads: int, each: int) -> None:
    log = AuditLog(Path(path), AuditKey(SECRET, Path(keys)))

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
    log = _log(tmp_path)
    keys = str(log.key.checkpoints)
    # Two processes with eight threads each, appending their entries at once.
    ctx = multiprocessing.get_context("spawn")
    writers = [
        ctx.Process(target=_append_from_threads, args=(str(log.path), keys, f"w{w}", 8, 50))
        for w in range(2)
    ]
    for w in writers:
        w.start()
    for w in writers:
        w.join(timeout=120)
        assert w.exitcode == 0
    verdict = _verify(log)
    assert (verdict.entries, verdict.findings) == (800, [])
    entries = [json.loads(line) for line in _lines(log)]
    assert {e["user"] for e in entries} == {f"w{w}-{k}" for w in range(2) for k in range(8)}


def test_an_entry_that_cannot_be_written_fails_its_append(tmp_path: Path) -> None:
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the log's folder should be")
    log = AuditLog(blocked / "audit.log", _key(tmp_path))
    with pytest.raises(OSError):
        log.append({"user": "wang"})
    # The writer survives the failure: a log that can be written takes entries again.
    log.path = tmp_path / "audit.log"
    log.head_path = tmp_path / "audit.log.head"
    log.lock_path = tmp_path / "audit.log.lock"
    log.append({"user": "li"})
    assert _verify(log).findings == []


class _CountedLog(AuditLog):
    """A log that counts its batches and can be told to fail the next one."""

    def __init__(self, path: Path, key: AuditKey) -> None:
        super().__init__(path, key)
        self.batches: list[int] = []
        self.fail_next = False

    def write(self, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        self.batches.append(len(batch))
        if self.fail_next:
            self.fail_next = False
            raise OSError(28, "No space left on device")
        return super().write(batch)


async def _audited(commit: GroupCommit, i: int) -> dict[str, Any]:
    await asyncio.sleep(0)  # as a request does some work before its audit
    return await commit.submit({"user": "wang", "params": {"i": i}})


async def _requests(commit: GroupCommit, n: int) -> list[Any]:
    return list(
        await asyncio.gather(*(_audited(commit, i) for i in range(n)), return_exceptions=True)
    )


def test_entries_of_one_loop_turn_are_committed_as_one_batch(tmp_path: Path) -> None:
    log = _CountedLog(tmp_path / "audit" / "audit.log", _key(tmp_path))
    commit = GroupCommit(log)
    entries = asyncio.run(_requests(commit, 50))
    # Every request reached its audit in the same turn: one batch, one commit.
    assert log.batches == [50]
    assert [e["seq"] for e in entries] == list(range(1, 51))
    assert [e["params"]["i"] for e in entries] == list(range(50))
    entries = asyncio.run(_requests(commit, 3))
    assert log.batches == [50, 3] and entries[-1]["seq"] == 53
    assert _verify(log).entries == 53 and _verify(log).intact


def test_a_batch_that_cannot_be_written_fails_each_of_its_requests(tmp_path: Path) -> None:
    log = _CountedLog(tmp_path / "audit" / "audit.log", _key(tmp_path))
    commit = GroupCommit(log)
    log.fail_next = True
    failed = asyncio.run(_requests(commit, 5))
    assert all(isinstance(f, OSError) for f in failed)
    # Nothing of the failed batch is on disk, and the next batch is written.
    assert not log.path.exists()
    assert [e["seq"] for e in asyncio.run(_requests(commit, 5))] == [1, 2, 3, 4, 5]
    assert _verify(log).intact


# ---- a failure between the entries and their head ----


@pytest.mark.parametrize("failing", ["head", "checkpoint"])
def test_a_failure_after_the_entries_leaves_no_entry_and_no_reused_number(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    log = _log(tmp_path, 5)
    before = log.path.read_bytes(), log.head_path.read_bytes(), log.checkpoint_path.read_bytes()
    target = log.head_path if failing == "head" else log.checkpoint_path
    replace = audit._replace_file

    def fail_on_target(path: Path, data: bytes) -> None:
        if path == target:
            raise OSError(28, "No space left on device")
        replace(path, data)

    monkeypatch.setattr(audit, "_replace_file", fail_on_target)
    commit = GroupCommit(log)
    failed = asyncio.run(_requests(commit, 3))
    assert all(isinstance(f, OSError) for f in failed)  # the three requests are refused
    # The entries written before the failure are gone; head and checkpoint are as they were.
    after = log.path.read_bytes(), log.head_path.read_bytes(), log.checkpoint_path.read_bytes()
    assert after == before
    monkeypatch.setattr(audit, "_replace_file", replace)
    assert [e["seq"] for e in asyncio.run(_requests(commit, 2))] == [6, 7]
    verdict = _verify(log)
    assert (verdict.entries, verdict.findings) == (7, [])


def _killed_between_entries_and_head(path: str, keys: str) -> None:
    """Append one entry, dying the moment its checkpoint would be written."""

    def die(p: Path, data: bytes) -> None:
        os._exit(9)

    audit._replace_file = die
    AuditLog(Path(path), AuditKey(SECRET, Path(keys))).append({"user": "killed"})


def test_a_writer_killed_between_entries_and_head_leaves_no_number_given_twice(
    tmp_path: Path,
) -> None:
    log = _log(tmp_path, 4)
    ctx = multiprocessing.get_context("spawn")
    writer = ctx.Process(
        target=_killed_between_entries_and_head, args=(str(log.path), str(log.key.checkpoints))
    )
    writer.start()
    writer.join(timeout=60)
    assert writer.exitcode == 9
    assert json.loads(_lines(log)[-1])["seq"] == 5  # on disk, its head not yet written
    # The next writer takes its place from the log itself: 6, never a second 5.
    log.append({"user": "next"})
    assert [json.loads(line)["seq"] for line in _lines(log)] == [1, 2, 3, 4, 5, 6]
    assert _verify(log).intact


def test_a_torn_last_line_is_cut_before_the_next_entry(tmp_path: Path) -> None:
    log = _log(tmp_path, 3)
    with log.path.open("ab") as f:
        f.write(b'{"seq": 4, "user": "half of an ent')
    log.append({"user": "next"})
    assert [json.loads(line)["seq"] for line in _lines(log)] == [1, 2, 3, 4]
    assert _verify(log).intact


# ---- tampering by whoever can write the audit folder but holds no key ----


def test_an_entry_edited_and_its_chain_recomputed_without_the_key_is_found(
    tmp_path: Path,
) -> None:
    log = _log(tmp_path, 10)
    entries = [json.loads(line) for line in _lines(log)]
    entries[3]["user"] = "someone else"
    # The writer of the files recomputes every MAC after it, and the head, with a key of
    # its own guessing.
    guess = b"a guessed key"
    for i in range(3, 10):
        entries[i]["prev"] = entries[i - 1]["mac"]
        entries[i]["mac"] = entry_mac(entries[i], guess)
    _rewrite(log, [json.dumps(e, ensure_ascii=False) for e in entries])
    mac = entries[-1]["mac"]
    log.head_path.write_text(json.dumps({"seq": 10, "mac": mac, "sig": seal(10, mac, guess)}))
    verdict = _verify(log)
    problems = _problems(verdict)
    assert "line 4 (entry 4): its content does not match its MAC (edited)" in problems
    assert "head audit.log.head: its seal does not hold" in problems
    assert "checkpoint" in problems and "another MAC" in problems


def test_a_keyed_log_rewritten_as_an_old_unkeyed_chain_is_found(tmp_path: Path) -> None:
    log = _log(tmp_path, 6)
    entries, prev = [], GENESIS
    for line in _lines(log):
        entry = {k: v for k, v in json.loads(line).items() if k != "mac"}
        entry["prev"] = prev
        entry["hash"] = prev = entry_hash(entry)
        entries.append(json.dumps(entry))
    _rewrite(log, entries)
    log.head_path.write_text(json.dumps({"seq": 6, "hash": prev}))
    verdict = _verify(log)
    assert not verdict.intact  # the checkpoint, outside the folder, names a keyed entry 6
    assert "checkpoint" in _problems(verdict) and "another MAC" in _problems(verdict)


def test_entries_cut_off_the_end_are_found_even_with_an_older_head_put_back(
    tmp_path: Path,
) -> None:
    log = _log(tmp_path, 5)
    old_head = log.head_path.read_bytes()
    cut_at = len(log.path.read_bytes())
    for i in range(5):
        log.append({"user": "later", "i": i})
    with log.path.open("r+b") as f:
        f.truncate(cut_at)
    verdict = _verify(log)
    assert "names entry 10 but the log ends at entry 5" in _problems(verdict)
    # The head of the time the log ended there, a genuine one, is put back: the
    # checkpoint outside the audit folder still names entry 10.
    log.head_path.write_bytes(old_head)
    problems = _problems(_verify(log))
    assert "head" not in problems
    assert f"the checkpoint {log.checkpoint_path} names entry 10" in problems


def test_a_log_deleted_with_its_head_is_found_and_numbering_goes_on(tmp_path: Path) -> None:
    log = _log(tmp_path, 8)
    log.path.unlink()
    log.head_path.unlink()
    verdict = _verify(log)
    assert "the log is gone, but the checkpoint" in _problems(verdict)
    assert "the key signed 8 entries" in _problems(verdict)
    # The server goes on: its next entry is 9, and the loss stays visible.
    log.append({"user": "after"})
    assert json.loads(_lines(log)[0])["seq"] == 9
    assert "expected entry 1 here: entries deleted before it" in _problems(_verify(log))


def test_reordered_entries_are_found(tmp_path: Path) -> None:
    log = _log(tmp_path, 6)
    lines = _lines(log)
    lines[2], lines[3] = lines[3], lines[2]
    _rewrite(log, lines)
    problems = _problems(_verify(log))
    assert "line 3 (entry 4): expected entry 3 here" in problems
    assert "line 4 (entry 3)" in problems


def _chain(n: int) -> list[dict[str, object]]:
    entries, prev = [], GENESIS
    for seq in range(1, n + 1):
        entry: dict[str, object] = {
            "seq": seq,
            "prev": prev,
            "user": f"u{seq % 7}",
            "records": [f"P{seq:016x}"],
        }
        entry["mac"] = prev = hmac.new(SECRET, canonical(entry), "sha256").hexdigest()
        entries.append(entry)
    return entries


def test_each_of_100_random_tamperings_of_a_100000_entry_chain_is_found(tmp_path: Path) -> None:
    entries = _chain(100_000)
    log = _log(tmp_path)
    log.path.parent.mkdir(parents=True)
    _rewrite(log, [json.dumps(e) for e in entries])
    last = str(entries[-1]["mac"])
    log.head_path.write_text(
        json.dumps({"seq": 100_000, "mac": last, "sig": seal(100_000, last, SECRET)})
    )
    assert verify_chain(log.path, SECRET).intact  # checked against its head alone
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
        elif kind == "delete":
            del tampered[i]
            removed += 1  # the entry now on this line does not follow
        else:
            tampered[i], tampered[i + 1] = tampered[i + 1], tampered[i]
        expected_lines.append(i + 1)
    _rewrite(log, [json.dumps(e) for e in tampered])
    verdict = verify_chain(log.path, SECRET)
    assert verdict.entries == 100_000 - removed
    lines = {f.line for f in verdict.findings}
    missed = [line for line in expected_lines if line not in lines]
    assert not missed, missed


def test_a_wrong_key_is_said_once_not_as_every_entry_edited(tmp_path: Path) -> None:
    log = _log(tmp_path, 30)
    verdict = _verify(log, b"another key")
    assert "none of the 30 keyed entries matches this key" in _problems(verdict)
    assert len(verdict.findings) == 3  # the entries, the head's seal, the checkpoint's seal


# ---- old, unkeyed logs ----


def _old_log(path: Path, n: int) -> None:
    """A log as written before the audit was keyed: plain SHA-256 links and head."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines, prev = [], GENESIS
    for seq in range(1, n + 1):
        entry: dict[str, object] = {"seq": seq, "prev": prev, "user": "wang", "outcome": 200}
        entry["hash"] = prev = entry_hash(entry)
        lines.append(json.dumps(entry, sort_keys=True) + "\n")
    path.write_text("".join(lines))
    path.with_name(path.name + ".head").write_text(json.dumps({"seq": n, "hash": prev}))


def test_an_old_unkeyed_log_is_said_to_be_one_and_keyed_entries_seal_it(tmp_path: Path) -> None:
    log = _log(tmp_path)
    _old_log(log.path, 4)
    verdict = _verify(log)
    assert verdict.intact and (verdict.unkeyed, verdict.keyed) == (4, 0)
    assert "old unkeyed chain" in verdict.notes[0]
    # The server's next entries continue it, keyed; the first names the old last hash.
    log.append({"user": "li"})
    first = json.loads(_lines(log)[-1])
    assert first["seq"] == 5 and first["prev"] == json.loads(_lines(log)[3])["hash"]
    verdict = _verify(log)
    assert verdict.intact and (verdict.unkeyed, verdict.keyed) == (4, 1)
    assert "sealed" in verdict.notes[-1]
    # Rewriting an old entry now, with every old hash recomputed, breaks the seal.
    entries = [json.loads(line) for line in _lines(log)]
    entries[1]["user"] = "someone else"
    for i in range(1, 4):
        entries[i]["prev"] = entries[i - 1]["hash"]
        entries[i]["hash"] = entry_hash(entries[i])
    _rewrite(log, [json.dumps(e) for e in entries])
    assert "line 5 (entry 5): does not follow the entry before it" in _problems(_verify(log))


# ---- the key ----


def test_the_key_file_is_made_once_for_its_owner_and_never_in_the_audit_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    out, log_path = tmp_path / "out", tmp_path / "audit" / "audit.log"
    key = audit_key_for(out, None, log_path)
    key_file = out / ".popbase-keys" / "audit.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
    assert audit_key_for(out, None, log_path) == key  # the same key on the next start
    assert key.checkpoints == key_file.parent / CHECKPOINTS
    with pytest.raises(AuditKeyError, match=r"audit folder.*Fix: set access\.audit_key"):
        audit_key_for(out, tmp_path / "audit" / "audit.key", log_path)
    monkeypatch.setenv(KEY_ENV, "from the environment")
    assert audit_key_for(out, None, log_path).secret == b"from the environment"


def test_verify_needs_only_the_log_and_the_key_file(tmp_path: Path) -> None:
    monkey_env = os.environ.pop(KEY_ENV, None)
    try:
        out, log_path = tmp_path / "out", tmp_path / "audit" / "audit.log"
        log = AuditLog(log_path, audit_key_for(out, None, log_path))
        for i in range(5):
            log.append({"user": "wang", "i": i})
        key_file = out / ".popbase-keys" / "audit.key"
        runner = CliRunner()
        command = ["audit", "verify", "--log", str(log_path), "--key-file", str(key_file)]
        ok = runner.invoke(cli, command)
        assert ok.exit_code == 0, ok.output
        assert f"{log_path}: 5 entries, keyed chain intact" in ok.output
        other = tmp_path / "other.key"
        other.write_text("not the key")
        wrong = runner.invoke(cli, [*command[:-1], str(other)])
        assert wrong.exit_code == 1 and "none of the 5 keyed entries matches" in wrong.output
        # The audit folder and the key's folder copied elsewhere, the checkpoint named.
        copy = tmp_path / "copy"
        shutil.copytree(log_path.parent, copy / "audit")
        shutil.copytree(key_file.parent, copy / "keys")
        moved = [
            "audit",
            "verify",
            "--log",
            str(copy / "audit" / "audit.log"),
            "--key-file",
            str(copy / "keys" / "audit.key"),
        ]
        missing = runner.invoke(cli, moved)
        assert missing.exit_code == 1 and "no checkpoint at" in missing.output
        checkpoint = copy / "keys" / CHECKPOINTS / log.checkpoint_path.name
        found = runner.invoke(cli, [*moved, "--checkpoint", str(checkpoint)])
        assert found.exit_code == 0, found.output
    finally:
        if monkey_env is not None:
            os.environ[KEY_ENV] = monkey_env


# ---- what reaches the log ----


@pytest.mark.parametrize(
    ("written", "logged"),
    [
        ("340103-19911015-5286", "3401**********5286"),
        ("340103 1991 1015 528X", "3401**********528X"),
        ("３４０１０３１９９１１０１５５２８６", "3401**********5286"),
        ("３４０１０３－１９９１１０１５－５２８ｘ", "3401**********528X"),
        ("ID340103199110155286", "ID3401**********5286"),
        ("340103.911015.528", "3401*******5528"),
        ("138-1234-5678", "138****5678"),
        ("+86 138 1234 5678", "+138****5678"),
        ("340103-19911015-5286-1", "3401***********2861"),
        ("王小明 2024-05-01", "王小明 2024-05-01"),
        ("3101120000001-101", "3101120000001-101"),
    ],
)
def test_id_and_phone_numbers_are_masked_however_they_are_written(
    written: str, logged: str
) -> None:
    assert mask_for_log(written) == logged


@pytest.fixture()
def gate(tmp_path: Path) -> Gate:
    access = AccessConfig(users=tmp_path / "users.json", audit_log=tmp_path / "audit" / "a.log")
    return Gate(tmp_path / "out", access, tmp_path)


def test_the_logged_query_holds_no_whole_id_number(gate: Gate, tmp_path: Path) -> None:
    with TestClient(create_app(tmp_path / "out", gate)) as client:
        for q in (
            "340103-19911015-5286",
            "３４０１０３１９９１１０１５５２８６",
            "340103 19911015 5286",
        ):
            client.get("/api/persons", params={"q": q})
        for path in ("persons/340103-19911015-5286", "persons/P01aa10ef6c1ec3dc"):
            client.get(f"/api/{path}")
        client.get("/api/units/310112001001001")
    text = gate.audit_path.read_text(encoding="utf-8")
    typed = "".join(text.splitlines(keepends=True)[:5])  # the last holds a 15-digit grid code
    assert not RAW_ID_IN_TEXT.search(typed.replace("-", "").replace(" ", ""))
    assert "19911015" not in text and "１９９１" not in text
    entries = [json.loads(line) for line in text.splitlines()]
    assert [e["params"]["q"] for e in entries[:3]] == ["3401**********5286"] * 3
    # Typed into the path too; served ids and grid codes stay whole.
    assert [e["endpoint"] for e in entries[3:]] == [
        "/api/persons/3401**********5286",
        "/api/persons/P01aa10ef6c1ec3dc",
        "/api/units/310112001001001",
    ]


def test_a_control_character_in_a_person_id_or_query_is_refused_and_logged_as_sent(
    gate: Gate, tmp_path: Path
) -> None:
    with TestClient(create_app(tmp_path / "out", gate)) as client:
        by_id = client.get("/api/persons/P01aa10ef6c1ec3dc%00")
        by_query = client.get("/api/persons?q=%E7%8E%8B%E2%80%8B")  # 王 + a zero-width space
    assert by_id.status_code == 400 and "U+0000" in by_id.json()["detail"]
    assert by_query.status_code == 400 and "U+200B" in by_query.json()["detail"]
    entries = [json.loads(line) for line in gate.audit_path.read_text().splitlines()]
    assert [e["outcome"] for e in entries] == [400, 400]
    assert entries[0]["endpoint"] == "/api/persons/P01aa10ef6c1ec3dc\x00"
    assert entries[1]["params"]["q"] == "王\u200b"
    checkpoint = gate.audit_key.checkpoint_of(gate.audit_path)
    assert verify_chain(gate.audit_path, gate.audit_key.secret, checkpoint).intact


def test_the_key_checkpoint_of_each_log_is_its_own(tmp_path: Path) -> None:
    key = _key(tmp_path)
    a = AuditLog(tmp_path / "a" / "audit.log", key)
    b = AuditLog(tmp_path / "b" / "audit.log", key)
    a.append({"user": "wang"})
    b.append({"user": "li"})
    b.append({"user": "li"})
    assert a.checkpoint_path != b.checkpoint_path
    assert _verify(a).intact and _verify(b).intact


def test_damaged_bytes_in_the_log_are_reported_not_a_crash(tmp_path: Path) -> None:
    log = _log(tmp_path, 4)
    data = log.path.read_bytes().splitlines(keepends=True)
    data[1] = b"\xff\xfe\x00 not an entry\n"
    log.path.write_bytes(b"".join(data))
    problems = _problems(_verify(log))
    assert "line 2: not a readable entry" in problems


def test_verify_says_an_old_log_is_an_old_unkeyed_chain(tmp_path: Path) -> None:
    log_path = tmp_path / "audit" / "audit.log"
    _old_log(log_path, 3)
    key_file = tmp_path / "keys" / "audit.key"
    key_file.parent.mkdir()
    key_file.write_text("the key")
    runner = CliRunner()
    result = runner.invoke(
        cli, ["audit", "verify", "--log", str(log_path), "--key-file", str(key_file)]
    )
    assert result.exit_code == 0, result.output
    assert f"{log_path}: 3 entries, old unkeyed chain intact" in result.output
    assert "tamper" not in result.output and "written before the audit was keyed" in result.output


def test_a_writer_under_another_key_numbers_on_and_the_break_is_reported(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    log = _log(tmp_path, 3)
    other = AuditLog(log.path, AuditKey(b"a key set by mistake", log.key.checkpoints))
    other.append({"user": "li"})
    assert "does not hold under the audit key" in caplog.text
    assert [json.loads(line)["seq"] for line in _lines(log)] == [1, 2, 3, 4]
    assert "line 4 (entry 4): does not follow the entry before it" in _problems(_verify(log))


def test_a_control_character_in_a_verification_body_is_refused() -> None:
    """A body is checked like a path or query: stripping ``\\x1c`` would check, and log,
    another value than the one sent."""
    with pytest.raises(ValidationError, match="U\\+001C"):
        Verification(id_number="\x1c340103199110155286", community="310112001001")
    with pytest.raises(ValidationError, match="U\\+0000"):
        Verification(id_number="340103199110155286", community="310112001001\x00")
    assert Verification(id_number=" 340103199110155286 ", community="310112001001")
