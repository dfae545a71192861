"""Bearer tokens: a user's name, role, scope, credential and expiry, signed with HMAC-SHA256.

A token is ``<payload>.<signature>``, both base64url: the payload is JSON, the signature
HMAC-SHA256 over the payload with the token key (``POPBASE_TOKEN_KEY``, or a key file
beside the snapshots). Nothing is stored per token; the API checks on each request that
the token's user still exists with the same role, scope and credential. The credential is
a random value the users file keeps per user and draws anew with each password (and
each ``popbase users revoke``), so a new password, or removing a user and adding one of
the same name, role and scope, ends every token issued before.
"""

from __future__ import annotations

import base64
import hmac
import json
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Claims:
    """What a valid token says."""

    user: str
    role: str
    scope: str
    expires: int  # seconds since the epoch
    credential: str = ""  # the user's credential when the token was issued


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issue_token(claims: Claims, key: str) -> str:
    """Sign ``claims`` into a bearer token.

    >>> t = issue_token(Claims("li", "grid_worker", "310112001001001", 4102444800, "c1"), "k")
    >>> c = read_token(t, "k", now=0)
    >>> c.user, c.scope, c.expires, c.credential
    ('li', '310112001001001', 4102444800, 'c1')
    """
    payload = _b64(
        json.dumps(
            {
                "u": claims.user,
                "r": claims.role,
                "s": claims.scope,
                "e": claims.expires,
                "c": claims.credential,
            },
            separators=(",", ":"),
            ensure_ascii=False,
        ).encode()
    )
    signature = hmac.digest(key.encode(), payload.encode(), "sha256")
    return f"{payload}.{_b64(signature)}"


def read_token(token: str, key: str, now: float | None = None) -> Claims | None:
    """The claims of a token signed with ``key`` and not expired, else None.

    >>> t = issue_token(Claims("li", "grid_worker", "3101", 100), "k")
    >>> read_token(t, "k", now=101) is None, read_token(t, "other", now=0) is None
    (True, True)
    >>> read_token(t[:-2] + "xx", "k", now=0) is None, read_token("junk", "k") is None
    (True, True)
    """
    payload, _, signature = token.partition(".")
    try:
        expected = hmac.digest(key.encode(), payload.encode(), "sha256")
        if not hmac.compare_digest(expected, _unb64(signature)):
            return None
        data = json.loads(_unb64(payload))
        claims = Claims(
            str(data["u"]), str(data["r"]), str(data["s"]), int(data["e"]), str(data.get("c", ""))
        )
    except (ValueError, KeyError, TypeError):
        return None
    if claims.expires <= (time.time() if now is None else now):
        return None
    return claims
