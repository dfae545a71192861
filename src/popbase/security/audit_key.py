"""The audit key: where it is kept, how it is made, and where its checkpoints go.

The key that MACs the audit chain (:mod:`popbase.security.audit`) is ``POPBASE_AUDIT_KEY``,
or a key file (``access.audit_key``; by default ``.popbase-keys/audit.key`` in the output
folder) that popbase creates once, readable by its owner only, in a folder only its owner
may enter. The checkpoints of the logs written under the key are kept beside it, in
``audit-checkpoints/``, one per log path. Neither may lie in the audit folder: a key or a
checkpoint that whoever can rewrite the log can also read or replace protects nothing.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from popbase.errors import PopbaseError

KEY_ENV = "POPBASE_AUDIT_KEY"
KEY_FILE = ".popbase-keys/audit.key"
CHECKPOINTS = "audit-checkpoints"


class AuditKeyError(PopbaseError, ValueError):
    """The audit key is missing, empty, or kept where it protects nothing."""


@dataclass(frozen=True)
class AuditKey:
    """The audit key and the folder, outside the audit folder, of its checkpoints.

    Parameters
    ----------
    secret
        The key's bytes.
    checkpoints
        Where the checkpoint of each log written under this key is kept.
    """

    secret: bytes
    checkpoints: Path

    def checkpoint_of(self, log_path: Path) -> Path:
        """The checkpoint file of a log: named by the log's file name and resolved path."""
        return checkpoint_file(self.checkpoints, log_path)


def checkpoint_file(folder: Path, log_path: Path) -> Path:
    """The checkpoint of ``log_path`` in ``folder``, one per log path.

    >>> checkpoint_file(Path("/k/audit-checkpoints"), Path("/p/audit/audit.log")).name
    'audit.log-c1da29c07c89d7cc.json'
    """
    where = hashlib.sha256(str(Path(log_path).resolve()).encode()).hexdigest()[:16]
    return Path(folder) / f"{Path(log_path).name}-{where}.json"


def _inside(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())


def read_key_file(path: Path) -> bytes:
    """The key in an existing key file (its text, stripped).

    Raises
    ------
    AuditKeyError
        When the file is missing or empty.
    """
    try:
        text = Path(path).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise AuditKeyError(
            f"{path}: no audit key file there. Fix: give the key file the server uses "
            f"(by default .popbase-keys/audit.key in the output folder) or set {KEY_ENV}."
        ) from None
    if not text:
        raise AuditKeyError(f"{path}: the audit key file is empty. Fix: give the server's key.")
    return text.encode()


def audit_key_for(output_dir: Path, key_file: Path | None, log_path: Path) -> AuditKey:
    """The audit key of a served project, creating its key file once if there is none.

    Parameters
    ----------
    output_dir
        The project's output folder; the key file is ``.popbase-keys/audit.key`` there
        unless ``key_file`` is given.
    key_file
        The configured key file (``access.audit_key``), or None.
    log_path
        The audit log; its folder may hold neither the key nor the checkpoints.

    Raises
    ------
    AuditKeyError
        When the key file or the checkpoints would lie in the audit folder.
    """
    path = Path(key_file) if key_file is not None else Path(output_dir) / KEY_FILE
    checkpoints = path.parent / CHECKPOINTS
    audit_folder = Path(log_path).parent
    if _inside(path, audit_folder) or _inside(checkpoints, audit_folder):
        raise AuditKeyError(
            f"{path}: the audit key and its checkpoints would lie in the audit folder "
            f"{audit_folder}, where whoever can rewrite the log can read them. Fix: set "
            "access.audit_key to a file outside that folder."
        )
    from_env = os.environ.get(KEY_ENV, "").strip()
    if from_env:
        return AuditKey(from_env.encode(), checkpoints)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(path.parent, 0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(secrets.token_hex(32))
    return AuditKey(read_key_file(path), checkpoints)
