"""Sealed identifiers: ID and phone numbers in the served base, readable only with the key.

The served tables never hold a raw ID or phone number. Each is stored twice: masked
(:mod:`popbase.security.masking`), for roles that may see the mask, and sealed —
AES-256-GCM with a random nonce, under a key derived from the pseudonym key — for the
roles that may see it whole, which only the API (holding the key) can open.
"""

from __future__ import annotations

import base64
import hmac
import os
from collections.abc import Iterable
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12


def seal_key(pseudonym_key: str) -> bytes:
    """The 256-bit sealing key, derived from the pseudonym key (never stored)."""
    return hmac.digest(pseudonym_key.encode(), b"popbase seal v1", "sha256")


def seal(values: Iterable[str | None], key: bytes) -> list[str | None]:
    """Seal each value (None stays None).

    >>> k = seal_key("k")
    >>> [s] = seal(["310112199001011234"], k)
    >>> "3101" in s, unseal(s, k)
    (False, '310112199001011234')
    """
    aead = AESGCM(key)
    out: list[str | None] = []
    for v in values:
        if v is None:
            out.append(None)
            continue
        nonce = os.urandom(NONCE_BYTES)
        sealed = nonce + aead.encrypt(nonce, v.encode(), None)
        out.append(base64.b64encode(sealed).decode("ascii"))
    return out


@lru_cache(maxsize=8)
def _cipher(key: bytes) -> AESGCM:
    # Made once per key: setting up the cipher costs more than opening one value.
    return AESGCM(key)


def unseal(value: str | None, key: bytes) -> str | None:
    """Open a sealed value; None when it is missing or was not sealed with ``key``."""
    if not value:
        return None
    try:
        raw = base64.b64decode(value)
        return _cipher(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], None).decode()
    except (InvalidTag, ValueError):
        return None
