"""Keyed pseudonyms: stable identifiers that reveal nothing without the key.

Persons are identified in the served base by ``P`` + the first 16 hex digits of
HMAC-SHA256(key, ID number). The key comes from the environment variable
``POPBASE_PSEUDONYM_KEY``, or from a key file that popbase creates once beside (not
inside) the snapshots, readable only by its owner. The same key gives the same person the
same id in every build, which keeps ids stable across deliveries.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

KEY_ENV = "POPBASE_PSEUDONYM_KEY"
KEY_FILE = ".popbase-keys/pseudonym.key"


def pseudonym_key(output_dir: Path) -> str:
    """Return the pseudonym key for a project's output folder (creating a key file once)."""
    from_env = os.environ.get(KEY_ENV)
    if from_env:
        return from_env
    path = output_dir / KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(path.parent, 0o700)
        path.write_text(secrets.token_hex(32), encoding="ascii")
        os.chmod(path, 0o600)
    return path.read_text(encoding="ascii").strip()
