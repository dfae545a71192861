"""Keyed pseudonyms: stable identifiers that reveal nothing without the key.

Persons are identified in the served base by ``P`` + the first 16 hex digits of
HMAC-SHA256(key, ID number). The key comes from the environment variable
``POPBASE_PSEUDONYM_KEY``, or from a key file that popbase creates once beside (not
inside) the snapshots, readable only by its owner. The same key gives the same person the
same id in every build, which keeps ids stable across deliveries.

The API's secrets (the key that signs bearer tokens, ``POPBASE_TOKEN_KEY``) are kept the
same way, each in its own file.

Extracts handed out of the API carry pseudonyms of their own, keyed with
``POPBASE_EXPORT_KEY``: that key is read from the environment only and never written
anywhere by popbase, so an extract cannot be linked back to the served base, or two
extracts made under different keys to each other, without it.
"""

from __future__ import annotations

import hmac
import os
import secrets
from collections.abc import Sequence
from pathlib import Path

KEY_ENV = "POPBASE_PSEUDONYM_KEY"
KEY_FILE = ".popbase-keys/pseudonym.key"
TOKEN_KEY_ENV = "POPBASE_TOKEN_KEY"
TOKEN_KEY_FILE = ".popbase-keys/token.key"
EXPORT_KEY_ENV = "POPBASE_EXPORT_KEY"
# Hex digits of an extract's pseudonym: 128 bits, no collision among a city's persons.
EXTRACT_PSEUDONYM_DIGITS = 32


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


def keyed_ids(prefix: str, values: Sequence[str], key: str) -> list[str]:
    """``prefix`` + 16 hex digits of HMAC-SHA256 of each value: the build's person ids.

    ``P`` for a person known by an ID number, ``U`` for an unidentified resident (of its
    name, birth date and room). Every person id of the build is made here.

    >>> keyed_ids("P", ["310112199001011234"], "k") == [person_id_of("310112199001011234", "k")]
    True
    """
    secret = key.encode()
    # hmac.digest is the one-call form: at a million IDs, three times faster than hmac.new.
    return [prefix + hmac.digest(secret, v.encode(), "sha256")[:8].hex() for v in values]


def person_id_of(id_number: str, key: str) -> str:
    """The served person id of a (normalised, 18-character) ID number.

    >>> person_id_of("310112199001011234", "k") == person_id_of("310112199001011234", "k")
    True
    """
    return keyed_ids("P", [id_number], key)[0]


def export_key() -> str | None:
    """The key of extracts' pseudonyms, from ``POPBASE_EXPORT_KEY``; None if unset or blank.

    It is never read from, or written to, a file.
    """
    key = os.environ.get(EXPORT_KEY_ENV, "").strip()
    return key or None


def extract_pseudonym(kind: str, value: str, key: str) -> str:
    """The pseudonym of a served id in an extract: HMAC-SHA256 of ``kind:value``.

    ``kind`` keeps a person's and a household's pseudonyms apart even where their ids
    were equal; the same key gives the same value in every extract.

    Examples
    --------
    >>> a = extract_pseudonym("person", "P01aa10ef6c1ec3dc", "k")
    >>> len(a), a == extract_pseudonym("person", "P01aa10ef6c1ec3dc", "k")
    (32, True)
    >>> a == extract_pseudonym("household", "P01aa10ef6c1ec3dc", "k")
    False
    """
    digest = hmac.new(key.encode(), f"{kind}:{value}".encode(), "sha256").hexdigest()
    return digest[:EXTRACT_PSEUDONYM_DIGITS]
