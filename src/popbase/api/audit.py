"""Every API request into the audit trail, before its response leaves.

The middleware identifies the caller (through the gate), lets the endpoint run while
holding back what it sends, and appends one entry — who, role, when, client address,
method and endpoint, parameters (with every ID and phone number masked), stated
purpose, outcome, and the record ids the endpoint returned — to the hash-chained log
(:mod:`popbase.security.audit`). Denied and failed requests are audited too. Only then
does the response go out; if the entry cannot be written, a 500 goes out instead: no
request is answered unaudited.

It is plain ASGI (no per-request task or stream as with Starlette's
``BaseHTTPMiddleware``): the audit must not cost more than the answer. For the same
reason entries are committed on the event loop itself (:class:`GroupCommit`), not by a
writer thread: under load the loop holds the interpreter lock, and a thread waits a
switch interval (5 ms) each time it takes the lock back after a system call.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from popbase.api.gate import Gate
from popbase.security.audit import AuditLog
from popbase.security.masking import mask_text

log = logging.getLogger(__name__)
PURPOSE_HEADER = "x-purpose"
REFUSED = json.dumps({"detail": "the audit trail cannot be written; the request is refused"})


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", [])}


def _params(scope: Scope, stated: dict[str, Any]) -> dict[str, Any]:
    """Query parameters and what the endpoint chose to record, masked."""
    query = scope.get("query_string", b"").decode("latin-1")
    params: dict[str, Any] = {k: mask_text(v) for k, v in parse_qsl(query)}
    params.update({k: mask_text(str(v)) for k, v in stated.items()})
    return params


def stated_purpose(header: str | None, parameter: str | None) -> str:
    """The purpose a request states: its ``X-Purpose`` header, else its ``purpose``.

    HTTP headers arrive decoded as Latin-1; a header sent as UTF-8 text is read back as
    such, so its length counts characters.

    Examples
    --------
    >>> stated_purpose(None, " 养老走访 "), stated_purpose("visits", "other")
    ('养老走访', 'visits')
    >>> stated_purpose("养老走访".encode().decode("latin-1"), None)
    '养老走访'
    """
    if not header:
        return (parameter or "").strip()
    try:
        return header.encode("latin-1").decode("utf-8").strip()
    except UnicodeError:
        return header.strip()


class GroupCommit:
    """Group commit of audit entries on the event loop.

    The entries of the requests that reach their audit in the same turn of the loop are
    written as one batch, with one sync, at the end of that turn. Writing blocks the loop
    for the batch's write and sync (a fraction of a millisecond on a local disk), which
    costs less than handing it to a thread.

    Parameters
    ----------
    audit
        The log the batches are appended to.
    """

    def __init__(self, audit: AuditLog) -> None:
        self.audit = audit
        self._pending: list[tuple[dict[str, Any], asyncio.Future[dict[str, Any]]]] = []

    def submit(self, facts: dict[str, Any]) -> asyncio.Future[dict[str, Any]]:
        """Queue an entry; the future holds it once it is on disk, or the write's error."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[dict[str, Any]] = loop.create_future()
        if not self._pending:
            # Behind the callbacks already due in this turn: their entries join the batch.
            loop.call_soon(self._commit)
        self._pending.append((facts, done))
        return done

    def _commit(self) -> None:
        batch, self._pending = self._pending, []
        try:
            entries = self.audit.write([facts for facts, _ in batch])
        except Exception as exc:  # any failure refuses the batch's requests, never hangs them
            for _, done in batch:
                if not done.cancelled():
                    done.set_exception(exc)
            return
        for (_, done), entry in zip(batch, entries, strict=True):
            if not done.cancelled():
                done.set_result(entry)


class AuditMiddleware:
    """ASGI middleware that audits every ``/api/`` request before answering it.

    Parameters
    ----------
    app
        The application.
    gate
        Identifies callers from their bearer token.
    audit
        The log entries are appended to.
    """

    def __init__(self, app: ASGIApp, gate: Gate, audit: AuditLog) -> None:
        self.app = app
        self.gate = gate
        self.commit = GroupCommit(audit)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one request; audit it first if it is an API request."""
        if scope["type"] != "http" or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        principal = self.gate.principal(headers.get("authorization"))
        state = scope.setdefault("state", {})
        state["principal"] = principal
        held: list[Message] = []
        status = 500

        async def hold(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            held.append(message)

        failure: BaseException | None = None
        try:
            await self.app(scope, receive, hold)
        except Exception as exc:  # audited as a 500, then raised to the error handler
            failure, status, held = exc, 500, []
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        purpose = stated_purpose(headers.get(PURPOSE_HEADER), query.get("purpose")) or None
        client = scope.get("client")
        entry = {
            "time": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
            "user": principal.user if principal else None,
            "role": principal.role.id if principal else None,
            "scope": principal.scope if principal else None,
            "client": client[0] if client else None,
            "method": scope["method"],
            "endpoint": scope["path"],
            "params": _params(scope, state.get("audit_params") or {}),
            "purpose": mask_text(purpose) if purpose else None,
            "outcome": status,
            "records": list(state.get("audit_records") or []),
            # Exact lookups past the limit of misses (popbase.security.throttle).
            **({"probing": True} if state.get("audit_probing") else {}),
        }
        try:
            await self.commit.submit(entry)
        except Exception as exc:
            log.error("audit write failed (%s); request refused", exc)
            body = REFUSED.encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 500,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        if failure is not None:
            raise failure
        for message in held:
            await send(message)
