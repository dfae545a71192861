"""The audit trail: every API request, appended to a hash-chained log.

Each entry is one JSON line holding its sequence number, the request's facts (who, role,
when, client address, endpoint, masked parameters, purpose, outcome, the record ids
returned), the hash of the entry before it, and its own hash: SHA-256 over the entry
without its hash, in canonical JSON. A side file (``<log>.head``) holds the last
sequence number and hash, so cutting entries off the end is detected too.

:func:`verify_chain` walks the log and reports the first place where an entry was
edited (its hash does not match its content), deleted or reordered (its sequence number
or its link to the entry before does not follow), or cut off the end (the head does
not match the last entry).

Every entry is on disk (written and fsync'ed) before the response it records leaves: if
the write fails, the request fails (see :mod:`popbase.api.audit`). Entries are written
in batches (:meth:`AuditLog.write`), chained, written and synced at once, so a busy
server that gathers the entries of concurrent requests pays one sync per batch instead
of one per request. Several threads or server processes may append to the same log:
each batch is written under an exclusive lock on ``<log>.lock``, and continues from the
head the last writer left, whichever process that was.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

GENESIS = "0" * 64


def canonical(entry: dict[str, Any]) -> bytes:
    """The bytes an entry's hash is computed over: sorted keys, no spaces, UTF-8.

    >>> canonical({"b": 1, "a": "户"}).decode()
    '{"a":"户","b":1}'
    """
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_hash(entry: dict[str, Any]) -> str:
    """SHA-256 of an entry's canonical form, leaving out its own ``hash``."""
    body = {k: v for k, v in entry.items() if k != "hash"}
    return hashlib.sha256(canonical(body)).hexdigest()


class AuditLog:
    """An append-only, hash-chained audit log in one JSON-lines file.

    Parameters
    ----------
    path
        The log file; created with its folder on the first append.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.head_path = self.path.with_name(self.path.name + ".head")
        self.lock_path = self.path.with_name(self.path.name + ".lock")

    def append(self, facts: dict[str, Any]) -> dict[str, Any]:
        """Append one entry for ``facts``; return it with its ``seq``, ``prev`` and ``hash``.

        Raises
        ------
        OSError
            When the entry cannot be written; the caller must then fail the request.
        """
        return self.write([facts])[0]

    def _read_head(self) -> tuple[int, str]:
        if self.head_path.exists():
            head = json.loads(self.head_path.read_text(encoding="utf-8"))
            return int(head["seq"]), str(head["hash"])
        return 0, GENESIS

    def write(self, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Chain a batch of entries onto the log, write them and sync them at once.

        The log's lock is held throughout, so batches from several threads or processes
        follow one another in one chain.

        Parameters
        ----------
        batch
            The facts of each entry, in order.

        Returns
        -------
        list of dict
            The entries as written, each with its ``seq``, ``prev`` and ``hash``.

        Raises
        ------
        OSError
            When the batch cannot be written; none of its requests may then be answered.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.lock_path.open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
            seq, last = self._read_head()
            entries, lines = [], []
            for facts in batch:
                seq += 1
                entry = {**facts, "seq": seq, "prev": last}
                entry["hash"] = last = entry_hash(entry)
                entries.append(entry)
                lines.append(json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n")
            with self.path.open("a", encoding="utf-8") as f:
                f.write("".join(lines))
                f.flush()
                os.fsync(f.fileno())
            tmp = self.head_path.with_name(self.head_path.name + ".tmp")
            tmp.write_text(json.dumps({"seq": seq, "hash": last}), encoding="utf-8")
            os.replace(tmp, self.head_path)
        return entries


@dataclass(frozen=True)
class Finding:
    """Where a chain breaks: the line, the entry's sequence number, and what is wrong."""

    line: int
    seq: int | None
    problem: str

    def __str__(self) -> str:
        at = f"line {self.line}" + (f" (entry {self.seq})" if self.seq is not None else "")
        return f"{at}: {self.problem}"


def verify_chain(path: Path) -> tuple[int, list[Finding]]:
    """Check a log: return the number of entries read and every break found.

    Each entry must parse, hash to its ``hash``, carry the next sequence number, and name
    the previous entry's hash as ``prev``; the head file must name the last entry.
    """
    path = Path(path)
    findings: list[Finding] = []
    prev, expected_seq, n = GENESIS, 1, 0
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    for number, line in enumerate(lines, start=1):
        n += 1
        try:
            entry = json.loads(line)
            seq = int(entry["seq"])
        except (ValueError, KeyError, TypeError):
            findings.append(Finding(number, None, "not a readable entry (edited or damaged)"))
            prev, expected_seq = "?", expected_seq + 1
            continue
        if entry.get("hash") != entry_hash(entry):
            findings.append(Finding(number, seq, "its content does not match its hash (edited)"))
        if seq != expected_seq:
            kind = "deleted before it" if seq > expected_seq else "reordered or repeated"
            findings.append(
                Finding(number, seq, f"expected entry {expected_seq} here: entries {kind}")
            )
        elif prev != "?" and entry.get("prev") != prev:
            findings.append(
                Finding(number, seq, "does not follow the entry before it (reordered or replaced)")
            )
        prev, expected_seq = str(entry.get("hash")), seq + 1
    head = path.with_name(path.name + ".head")
    if head.exists():
        last = json.loads(head.read_text(encoding="utf-8"))
        if int(last["seq"]) != expected_seq - 1 or last["hash"] != prev:
            findings.append(
                Finding(
                    len(lines),
                    expected_seq - 1 if lines else None,
                    f"the log should end at entry {last['seq']}: entries cut off the end",
                )
            )
    elif lines:
        findings.append(Finding(len(lines), None, f"{head.name} is missing"))
    return n, findings
