"""Keyed pseudonyms: stable identifiers that reveal nothing without the key.

Persons are identified in the served base by ``P`` + the first 16 hex digits of
HMAC-SHA256(key, ID number). The key comes from the environment variable
``POPBASE_PSEUDONYM_KEY``, or from a key file that popbase creates once beside (not
inside) the snapshots, readable only by its owner. The same key gives the same person the
same id in every build, which keeps ids stable across deliveries.

The API's secrets (the key that signs bearer tokens, ``POPBASE_TOKEN_KEY``) are kept the
same way, each in its own file.
"""

from __future__ import annotations

import hmac
import os
import secrets
from pathlib import Path

KEY_ENV = "POPBASE_PSEUDONYM_KEY"
KEY_FILE = ".popbase-keys/pseudonym.key"
TOKEN_KEY_ENV = "POPBASE_TOKEN_KEY"
TOKEN_KEY_FILE = ".popbase-keys/token.key"


def secret_key(output_dir: Path, env: str, file: str) -> str:
    """Return the secret in ``env``, or in the key ``file`` under ``output_dir`` (made once)."""
    from_env = os.environ.get(env)
    if from_env:
        return from_env
    path = output_dir / file
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(path.parent, 0o700)
        path.write_text(secrets.token_hex(32), encoding="ascii")
        os.chmod(path, 0o600)
    return path.read_text(encoding="ascii").strip()


def pseudonym_key(output_dir: Path) -> str:
    """Return the pseudonym key for a project's output folder (creating a key file once)."""
    return secret_key(output_dir, KEY_ENV, KEY_FILE)


def person_id_of(id_number: str, key: str) -> str:
    """The served person id of a (normalised, 18-character) ID number.

    >>> person_id_of("310112199001011234", "k") == person_id_of("310112199001011234", "k")
    True
    """
    return "P" + hmac.digest(key.encode(), id_number.encode(), "sha256")[:8].hex()
