"""Checking an audit log under its key: every entry, its head and its checkpoint.

:func:`verify_chain` walks the log and reports each place where an entry was edited (its
MAC does not match its content under the key), deleted or reordered (its sequence number
or its link to the entry before does not follow), or cut off the end (the head or the
checkpoint names an entry the log no longer has, or has with another MAC). A log that is
gone while the checkpoint says the key signed entries is reported as such. It needs the
log, its head, the key and the checkpoint — nothing of the project that wrote them.

An old log, written before the audit was keyed, holds plain SHA-256 entries: they are
checked link by link and reported as an old unkeyed chain, which proves only that it was
not edited carelessly. Once keyed entries follow it, the first of them seals it.
"""

from __future__ import annotations

import hmac
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from popbase.security.audit import GENESIS, entry_hash, entry_mac, sealed


@dataclass(frozen=True)
class Finding:
    """Where a chain breaks: the line, the entry's sequence number, and what is wrong."""

    line: int
    seq: int | None
    problem: str

    def __str__(self) -> str:
        """``line 4 (entry 4): …``; a finding about no line (an empty log) is its problem.

        >>> str(Finding(4, 4, "edited")), str(Finding(0, None, "the log is gone"))
        ('line 4 (entry 4): edited', 'the log is gone')
        """
        if not self.line:
            return self.problem
        at = f"line {self.line}" + (f" (entry {self.seq})" if self.seq is not None else "")
        return f"{at}: {self.problem}"


@dataclass
class Verdict:
    """What a check found: entries read (keyed and old unkeyed), problems, and notes."""

    entries: int = 0
    keyed: int = 0
    unkeyed: int = 0
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        """No problem found."""
        return not self.findings


@dataclass
class _Walk:
    """The state of a walk along the log."""

    verdict: Verdict
    secret: bytes | None
    prev: str = GENESIS
    expected: int = 1
    bad_macs: list[Finding] = field(default_factory=list)
    # The entries a head or checkpoint names: only their links are kept, not every one's.
    wanted: set[int] = field(default_factory=set)
    links: dict[int, str] = field(default_factory=dict)

    def entry(self, number: int, line: str) -> None:
        v = self.verdict
        v.entries += 1
        try:
            entry = json.loads(line)
            seq = int(entry["seq"])
        except (ValueError, KeyError, TypeError):
            v.findings.append(Finding(number, None, "not a readable entry (edited or damaged)"))
            self.prev, self.expected = "?", self.expected + 1
            return
        link = self._link(number, seq, entry)
        if seq != self.expected:
            kind = "deleted before it" if seq > self.expected else "reordered or repeated"
            v.findings.append(
                Finding(number, seq, f"expected entry {self.expected} here: entries {kind}")
            )
        elif self.prev != "?" and entry.get("prev") != self.prev:
            v.findings.append(
                Finding(number, seq, "does not follow the entry before it (reordered or replaced)")
            )
        if seq in self.wanted:
            self.links.setdefault(seq, link)
        self.prev, self.expected = link, seq + 1

    def _link(self, number: int, seq: int, entry: dict[str, Any]) -> str:
        """Check an entry's own MAC (or old hash); return what the next entry must name."""
        v = self.verdict
        if "mac" in entry:
            v.keyed += 1
            mac = str(entry["mac"])
            if self.secret is not None and not hmac.compare_digest(
                mac, entry_mac(entry, self.secret)
            ):
                self.bad_macs.append(
                    Finding(number, seq, "its content does not match its MAC (edited)")
                )
            return mac
        if "hash" in entry:
            v.unkeyed += 1
            if v.keyed:
                v.findings.append(
                    Finding(
                        number,
                        seq,
                        "an unkeyed entry inside the keyed chain (written without the key)",
                    )
                )
            if entry["hash"] != entry_hash(entry):
                v.findings.append(
                    Finding(number, seq, "its content does not match its hash (edited)")
                )
            return str(entry["hash"])
        v.findings.append(Finding(number, seq, "an entry with neither MAC nor hash"))
        return "?"

    @property
    def last(self) -> int:
        return self.expected - 1

    def named(self, what: str, record: Any, lines: int) -> None:
        """Check that a head or checkpoint names an entry the log holds, as the log has it."""
        v = self.verdict
        if self.secret is None:
            return
        named = sealed(record, self.secret)
        if named is None:
            v.findings.append(Finding(lines, None, f"{what}: its seal does not hold (forged)"))
            return
        seq, mac = named
        if seq and not v.entries:
            problem = f"the log is gone, but {what} says the key signed {seq} entries"
        elif seq > self.last:
            problem = (
                f"{what} names entry {seq} but the log ends at entry {self.last}: "
                "entries cut off the end"
            )
        elif seq and self.links.get(seq) != mac:
            problem = f"{what} names entry {seq} with another MAC: entries replaced"
        else:
            return
        v.findings.append(Finding(lines, self.last or None, problem))


def _load(path: Path) -> tuple[bool, Any]:
    """Whether a small JSON file exists, and its content (None if unreadable)."""
    try:
        return True, json.loads(path.read_bytes())
    except FileNotFoundError:
        return False, None
    except ValueError:
        return True, None


def _old_head(walk: _Walk, head: dict[str, Any], lines: int) -> None:
    """The head of an old, unkeyed log: the last sequence number and hash."""
    if walk.verdict.keyed:
        problem = "the head is an old unkeyed one, but the log holds keyed entries (replaced)"
    elif str(head.get("seq")) != str(walk.last) or head.get("hash") != walk.prev:
        problem = f"the log should end at entry {head.get('seq')}: entries cut off the end"
    else:
        return
    walk.verdict.findings.append(Finding(lines, walk.last or None, problem))


def verify_chain(path: Path, secret: bytes | None, checkpoint: Path | None = None) -> Verdict:
    """Check a log under its key, with its head and, if given, its checkpoint.

    Parameters
    ----------
    path
        The log; its head is ``<log>.head`` beside it.
    secret
        The audit key; None checks only an old unkeyed log.
    checkpoint
        The log's checkpoint in the key's folder.
    """
    path = Path(path)
    head_path = path.with_name(path.name + ".head")
    head_exists, head = _load(head_path)
    checkpoint_exists, record = _load(checkpoint) if checkpoint is not None else (False, None)
    walk = _Walk(Verdict(), secret)
    for named in (sealed(head, secret), sealed(record, secret)):
        if named:
            walk.wanted.add(named[0])
    lines = 0
    if path.exists():
        # Line by line (a log may be large); bytes that are not UTF-8 make their entry fail.
        with path.open(encoding="utf-8", errors="replace") as f:
            for lines, line in enumerate(f, start=1):
                walk.entry(lines, line.rstrip("\n"))
    v = walk.verdict
    if len(walk.bad_macs) == v.keyed > 1:
        v.findings.append(
            Finding(
                walk.bad_macs[0].line,
                walk.bad_macs[0].seq,
                f"none of the {v.keyed} keyed entries matches this key: it is not the key "
                "the log was written with, or every entry was rewritten",
            )
        )
    else:
        v.findings.extend(walk.bad_macs)
    if v.keyed and secret is None:
        v.findings.append(
            Finding(0, None, "keyed entries but no key to check them. Fix: give the key file.")
        )
    if isinstance(head, dict) and "sig" not in head and "hash" in head:
        _old_head(walk, head, lines)
    elif head_exists:
        walk.named(f"the head {head_path.name}", head, lines)
    elif lines:
        v.findings.append(Finding(lines, None, f"{head_path.name} is missing (deleted)"))
    if checkpoint is not None:
        if checkpoint_exists:
            walk.named(f"the checkpoint {checkpoint}", record, lines)
        elif v.keyed:
            v.findings.append(
                Finding(
                    lines,
                    None,
                    f"no checkpoint at {checkpoint}, though the log is keyed. Fix: give the "
                    "checkpoint the server wrote (audit-checkpoints/ beside the key file).",
                )
            )
    elif v.keyed:
        v.notes.append("no checkpoint given: deleting the log together with its head goes unseen")
    if v.unkeyed:
        v.notes.append(_old_chain_note(v))
    return v


def _old_chain_note(v: Verdict) -> str:
    if v.keyed:
        return (
            f"entries 1-{v.unkeyed} are an old unkeyed chain (plain SHA-256, written before "
            "the audit was keyed), sealed as they were by the first keyed entry after them"
        )
    return (
        "this is an old unkeyed chain (plain SHA-256, written before the audit was keyed): "
        "its links are checked, but whoever could write the audit folder could have "
        "rewritten it; the next entry the server writes continues it with keyed entries, "
        "which seal it as it then is"
    )


def report(path: Path, verdict: Verdict) -> list[str]:
    """The lines ``popbase audit verify`` prints for a verdict.

    >>> report(Path("audit.log"), Verdict(entries=3, keyed=3))
    ['audit.log: 3 entries, keyed chain intact']
    """
    if verdict.keyed:
        kind = "keyed chain" if not verdict.unkeyed else "chain (old unkeyed, then keyed)"
    else:
        kind = "old unkeyed chain" if verdict.unkeyed else "chain"
    if verdict.intact:
        lines = [f"{path}: {verdict.entries} entries, {kind} intact"]
    else:
        lines = [f"{path}: {verdict.entries} entries, {len(verdict.findings)} problem(s)"]
    lines += [f"  {finding}" for finding in verdict.findings]
    lines += [f"  note: {note}" for note in verdict.notes]
    return lines
