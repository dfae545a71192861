"""The audit trail: every API request, appended to a keyed, chained log.

Each entry is one JSON line holding its sequence number, the request's facts (who, role,
when, client address, endpoint, masked parameters, purpose, outcome, the record ids
returned; entries stay open to further facts), the MAC of the entry before it
(``prev``), and its own ``mac``: HMAC-SHA256 under the audit key over the entry without
its MAC, in canonical JSON. Whoever can write the log but does not hold the key cannot
edit an entry and compute a MAC that matches, nor forge one.

After each batch the writer records the last sequence number and MAC, sealed with the key,
in two places: the head (``<log>.head``, beside the log) and a checkpoint in the key's
folder (``audit-checkpoints/``), outside the audit folder. Cutting entries off the end
contradicts both; deleting log and head together leaves the checkpoint, which says how many
entries the key has signed; rolling the head back to an older copy leaves the checkpoint.

The key is ``POPBASE_AUDIT_KEY``, or a key file (``access.audit_key``; by default
``.popbase-keys/audit.key`` in the output folder) that popbase creates once, readable by
its owner only (:mod:`popbase.security.audit_key`). It may not lie in the audit folder: a
key kept beside the log protects nothing.

Entries, head and checkpoint are one step (:meth:`AuditLog.write`): the entries are
appended and synced, then the checkpoint and the head are replaced (written to a temporary
file and renamed over). If any of it fails, the log is cut back to its length before
the batch and the checkpoint restored, so no entry remains of a request that was refused.
The writer takes its place in the chain from the log itself — its last entry whose MAC
holds — and from the head and the checkpoint, whichever is furthest, so a sequence number
is never given twice, even after a crash between the steps or a deleted log.

Entries are written in batches, synced at once, so a busy server that gathers the entries
of concurrent requests pays for one commit per batch instead of one per request. Several
threads or server processes may append to the same log: each batch is written under an
exclusive lock on ``<log>.lock``.

A log written before the audit was keyed holds entries with a plain SHA-256 ``hash``; a
writer continues it with keyed entries, the first naming the last old entry's hash as its
``prev``, which seals the old entries as they are from then on (see
:mod:`popbase.security.audit_check`).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import hmac
import json
import logging
import os
from pathlib import Path
from typing import Any

from popbase.security.audit_key import AuditKey

log = logging.getLogger(__name__)

GENESIS = "0" * 64
# The last line of a log is read from its end in blocks of this size.
TAIL_BLOCK = 8192


def canonical(entry: dict[str, Any]) -> bytes:
    """The bytes an entry's MAC (or old hash) is computed over: sorted keys, no spaces, UTF-8.

    >>> canonical({"b": 1, "a": "户"}).decode()
    '{"a":"户","b":1}'
    """
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def entry_hash(entry: dict[str, Any]) -> str:
    """SHA-256 of an entry's canonical form without its ``hash``: the old, unkeyed chain."""
    body = {k: v for k, v in entry.items() if k != "hash"}
    return hashlib.sha256(canonical(body)).hexdigest()


def entry_mac(entry: dict[str, Any], secret: bytes) -> str:
    """HMAC-SHA256 under ``secret`` of an entry's canonical form without its ``mac``.

    >>> a = entry_mac({"seq": 1, "prev": GENESIS, "user": "li"}, b"k")
    >>> a == entry_mac({"seq": 1, "prev": GENESIS, "user": "li", "mac": "x"}, b"k")
    True
    >>> a == entry_mac({"seq": 1, "prev": GENESIS, "user": "li"}, b"other key")
    False
    """
    body = {k: v for k, v in entry.items() if k != "mac"}
    return hmac.new(secret, canonical(body), "sha256").hexdigest()


def seal(seq: int, mac: str, secret: bytes) -> str:
    """The seal of a head or checkpoint naming entry ``seq`` with ``mac``.

    >>> seal(3, "ab", b"k") == seal(3, "ab", b"k"), seal(3, "ab", b"k") == seal(4, "ab", b"k")
    (True, False)
    """
    return hmac.new(secret, f"popbase-audit-head\n{seq}\n{mac}".encode(), "sha256").hexdigest()


def sealed(record: Any, secret: bytes | None) -> tuple[int, str] | None:
    """The ``(seq, mac)`` a head or checkpoint names, if its seal holds under ``secret``.

    >>> sealed({"seq": 2, "mac": "ab", "sig": seal(2, "ab", b"k")}, b"k")
    (2, 'ab')
    >>> sealed({"seq": 3, "mac": "ab", "sig": seal(2, "ab", b"k")}, b"k") is None
    True
    """
    if secret is None or not isinstance(record, dict):
        return None
    try:
        seq, mac, sig = int(record["seq"]), str(record["mac"]), str(record["sig"])
    except (KeyError, TypeError, ValueError):
        return None
    return (seq, mac) if hmac.compare_digest(sig, seal(seq, mac, secret)) else None


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _record(data: bytes | None) -> Any:
    try:
        return json.loads(data) if data else None
    except ValueError:
        return None


def _replace_file(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` at once: a temporary file renamed over it.

    Not synced: the log is, before any answer leaves. A head or checkpoint that a power
    cut sets back names an earlier entry, which the log still holds.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def last_line(fd: int, size: int) -> bytes:
    """The last line of the first ``size`` bytes of an open file, read from its end."""
    end, data = size, b""
    while end > 0:
        start = max(0, end - TAIL_BLOCK)
        data = os.pread(fd, end - start, start) + data
        end = start
        cut = data.rfind(b"\n", 0, len(data) - 1)
        if cut >= 0:
            return data[cut + 1 :]
    return data


def _complete(fd: int, path: Path) -> int:
    """The log's length, after cutting a torn last line a crash left without its newline."""
    size = os.fstat(fd).st_size
    if size == 0 or os.pread(fd, 1, size - 1) == b"\n":
        return size
    keep = size - len(last_line(fd, size))
    log.warning("%s: cutting a torn last line (%d bytes) left by a crash", path, size - keep)
    os.ftruncate(fd, keep)
    return keep


def _append(fd: int, data: bytes) -> None:
    """Write all of ``data`` at the end of the file and sync it."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
    os.fsync(fd)


class AuditLog:
    """An append-only, keyed, chained audit log in one JSON-lines file.

    Parameters
    ----------
    path
        The log file; created with its folder on the first append.
    key
        The audit key and its checkpoint folder.
    """

    def __init__(self, path: Path, key: AuditKey) -> None:
        self.path = Path(path)
        self.key = key
        self.head_path = self.path.with_name(self.path.name + ".head")
        self.lock_path = self.path.with_name(self.path.name + ".lock")

    @property
    def checkpoint_path(self) -> Path:
        """Where this log's checkpoint is kept, outside the audit folder."""
        return self.key.checkpoint_of(self.path)

    def append(self, facts: dict[str, Any]) -> dict[str, Any]:
        """Append one entry for ``facts``; return it with its ``seq``, ``prev`` and ``mac``.

        Raises
        ------
        OSError
            When the entry cannot be written; the caller must then fail the request.
        """
        return self.write([facts])[0]

    def _position(self, fd: int, size: int, head: Any, checkpoint: Any) -> tuple[int, str]:
        """The sequence number and MAC the next entry follows.

        The log's last entry, if its MAC (or, in an old log, its hash) holds; the head and
        the checkpoint, if their seals hold; whichever is furthest. An entry that does not
        hold still counts for its sequence number, so none is given twice.
        """
        secret = self.key.secret
        known = [p for p in (sealed(head, secret), sealed(checkpoint, secret)) if p]
        floor = 0
        if size:
            try:
                entry = json.loads(last_line(fd, size))
                seq = int(entry["seq"])
            except (ValueError, KeyError, TypeError):
                entry, seq = None, 0
            if isinstance(entry, dict):
                floor = seq
                if "mac" in entry and hmac.compare_digest(
                    str(entry["mac"]), entry_mac(entry, secret)
                ):
                    known.append((seq, str(entry["mac"])))
                elif "mac" not in entry and entry.get("hash") == entry_hash(entry):
                    known.append((seq, str(entry["hash"])))
                else:  # said once: the next batch's last entry is this writer's own
                    log.warning(
                        "%s: the last entry (%d) does not hold under the audit key (edited, "
                        "or the key changed); `popbase audit verify` will report it",
                        self.path,
                        seq,
                    )
        if isinstance(head, dict) and "sig" not in head:  # an old head: its count only
            with contextlib.suppress(KeyError, TypeError, ValueError):
                floor = max(floor, int(head["seq"]))
        seq, mac = max(known, default=(0, GENESIS))
        return max(seq, floor), mac

    def write(self, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Chain a batch of entries onto the log and commit them, with head and checkpoint.

        The log's lock is held throughout, so batches from several threads or processes
        follow one another in one chain.

        Parameters
        ----------
        batch
            The facts of each entry, in order.

        Returns
        -------
        list of dict
            The entries as written, each with its ``seq``, ``prev`` and ``mac``.

        Raises
        ------
        OSError
            When the batch cannot be committed; the log is then as it was before, and none
            of the batch's requests may be answered.
        """
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        lock_fd = os.open(self.lock_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(lock_fd, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                size = _complete(fd, self.path)
                kept = {p: _read(p) for p in (self.head_path, self.checkpoint_path)}
                seq, last = self._position(
                    fd, size, _record(kept[self.head_path]), _record(kept[self.checkpoint_path])
                )
                entries, lines = [], []
                for facts in batch:
                    seq += 1
                    entry = {**facts, "seq": seq, "prev": last}
                    entry["mac"] = last = entry_mac(entry, self.key.secret)
                    entries.append(entry)
                    lines.append(json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n")
                self._commit(fd, size, "".join(lines).encode(), seq, last, kept)
            finally:
                os.close(fd)
        return entries

    def _commit(
        self, fd: int, size: int, data: bytes, seq: int, mac: str, kept: dict[Path, bytes | None]
    ) -> None:
        """Append ``data``, then replace checkpoint and head; on failure undo all of it."""
        head = {"seq": seq, "mac": mac, "sig": seal(seq, mac, self.key.secret)}
        checkpoint = {**head, "log": str(self.path.resolve())}
        replaced: list[Path] = []
        try:
            _append(fd, data)
            for path, record in ((self.checkpoint_path, checkpoint), (self.head_path, head)):
                _replace_file(path, json.dumps(record).encode())
                replaced.append(path)
        except BaseException:
            self._undo(fd, size, replaced, kept)
            raise

    def _undo(
        self, fd: int, size: int, replaced: list[Path], kept: dict[Path, bytes | None]
    ) -> None:
        """Cut the log back to ``size`` and put back what was replaced, as far as possible."""
        try:
            os.ftruncate(fd, size)
            os.fsync(fd)
            for path in replaced:
                old = kept[path]
                if old is None:
                    path.unlink(missing_ok=True)
                else:
                    _replace_file(path, old)
        except OSError as exc:  # the disk refuses even this: verify will report it
            log.error("%s: the failed audit batch could not be undone (%s)", self.path, exc)
