"""Every API request into the audit trail, before its response leaves.

The middleware identifies the caller (through the gate), lets the endpoint run while
holding back what it sends, and appends one entry — who, role, when, client address,
method and endpoint, parameters (with every ID and phone number masked, however it is
written), stated purpose, outcome, and the record ids the endpoint returned — to the keyed,
chained log (:mod:`popbase.security.audit`). Denied and failed requests are audited too.
Only then does the response go out; if the entry cannot be written, a 500 goes out
instead: no request is answered unaudited.

A request whose path or parameters hold a control or format character (a ``%00`` after a
person id, a zero-width space in a query) is refused with a 400 before any endpoint reads
it: a lookup that dropped the character would find the person while the log holds another
value.

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
import re
import unicodedata
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from popbase.api.gate import Gate
from popbase.population.resident_id import check_digit
from popbase.security.audit import AuditLog
from popbase.security.masking import mask_id_number, mask_phone, mask_text

log = logging.getLogger(__name__)
PURPOSE_HEADER = "x-purpose"
REFUSED = json.dumps({"detail": "the audit trail cannot be written; the request is refused"})


# A number as people type it: digits (half- or full-width, which ``\d`` matches) with
# spaces, dashes, dots or slashes between them, and an ID number's check character X.
_SEPARATORS = r"[\s\-\u2010-\u2015\u2212\uff0d.\uff0e_/]"
NUMBER_IN_TEXT = re.compile(rf"\d(?:{_SEPARATORS}*[\dXx\uff38\uff58])+")
ID_LENGTH = 18


def _holds_id_number(number: str) -> bool:
    """Whether 18 characters in a row of a longer number are an ID number, check included.

    As in ``340103-19911015-5286-1``, an ID number with a suffix.
    """
    return any(
        number[i : i + ID_LENGTH - 1].isdigit()
        and check_digit(number[i : i + ID_LENGTH - 1]) == number[i + ID_LENGTH - 1]
        for i in range(len(number) - ID_LENGTH + 1)
    )


def _masked_number(written: str, old_ids: bool) -> str:
    number = re.sub(r"[^0-9X]", "", unicodedata.normalize("NFKC", written).upper())
    if number[:-1].isdigit() and (
        len(number) == ID_LENGTH or (old_ids and len(number) == 15 and number.isdigit())
    ):
        return mask_id_number(number) or "****"
    if len(number) in (11, 13) and number.isdigit() and (phone := mask_phone(number)):
        return phone
    if len(number) > ID_LENGTH and _holds_id_number(number):
        return number[:4] + "*" * (len(number) - 8) + number[-4:]
    return written


def mask_for_log(text: str) -> str:
    """Mask every ID number and mobile number in text, however it is written.

    Examples
    --------
    >>> mask_for_log("340103-19911015-5286"), mask_for_log("３４０１０３１９９１１０１５５２８６")
    ('3401**********5286', '3401**********5286')
    >>> mask_for_log("王 138 1234 5678 room 3101120000001-101")
    '王 138****5678 room 3101120000001-101'
    """
    masked = NUMBER_IN_TEXT.sub(lambda m: _masked_number(m.group(0), old_ids=True), text)
    return mask_text(masked)


def mask_path(path: str) -> str:
    """A request path with ID and mobile numbers masked in its all-digit segments.

    A served id (``P…``, ``police_hukou:…``) is kept whole, and so is a 15-digit grid code,
    which an old 15-digit ID number cannot be told from; an 18-character ID number (whose
    check character holds or not) or a mobile number is masked.

    Examples
    --------
    >>> mask_path("/api/units/310112001001001"), mask_path("/api/persons/340103199110155286")
    ('/api/units/310112001001001', '/api/persons/3401**********5286')
    >>> mask_path("/api/persons/P0123456789012345")
    '/api/persons/P0123456789012345'
    """
    return "/".join(
        part
        if re.search("[A-Za-z]", part.replace("x", "").replace("X", ""))
        else NUMBER_IN_TEXT.sub(lambda m: _masked_number(m.group(0), old_ids=False), part)
        for part in path.split("/")
    )


def control_character(text: str) -> str | None:
    r"""The first control or format character in ``text``, as ``U+XXXX``; else None.

    >>> control_character("P01aa10ef6c1ec3dc\x00"), control_character("王\u200b小明")
    ('U+0000', 'U+200B')
    >>> control_character("310112 王小明") is None
    True
    """
    for char in text:
        if unicodedata.category(char) in ("Cc", "Cf"):
            return f"U+{ord(char):04X}"
    return None


def refusal(scope: Scope) -> str | None:
    """Why a request's path or query must be refused (a control character), or None.

    A query sent as raw UTF-8 bytes rather than percent-escaped is read as UTF-8: its
    bytes read one by one as Latin-1 would look like control characters (U+0080–U+009F).

    Examples
    --------
    >>> refusal({"path": "/api/persons", "query_string": "q=王".encode()}) is None
    True
    >>> refusal({"path": "/api/persons", "query_string": b"q=P01%00"})[:42]
    "the request's parameter 'q' holds the cont"
    """
    raw = scope.get("query_string", b"")
    try:
        query = raw.decode("utf-8")
    except UnicodeDecodeError:
        query = raw.decode("latin-1")
    if char := control_character(scope["path"]):
        where = "path"
    else:
        for name, value in parse_qsl(query, keep_blank_values=True):
            if char := control_character(name) or control_character(value):
                where = f"parameter {name!r}"
                break
        else:
            return None
    return (
        f"the request's {where} holds the control character {char}; it is refused rather "
        "than read without it. Fix: send the value as written, without control characters."
    )


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", [])}


def _params(scope: Scope, stated: dict[str, Any]) -> dict[str, Any]:
    """Query parameters and what the endpoint chose to record, masked."""
    query = scope.get("query_string", b"").decode("latin-1")
    params: dict[str, Any] = {k: mask_for_log(v) for k, v in parse_qsl(query)}
    params.update({k: mask_for_log(str(v)) for k, v in stated.items()})
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


def _json_response(status: int, text: str) -> list[Message]:
    body = text.encode()
    return [
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        },
        {"type": "http.response.body", "body": body},
    ]


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
        refused = refusal(scope)
        if refused is not None:
            status, held = 400, _json_response(400, json.dumps({"detail": refused}))
        else:
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
            "endpoint": mask_path(scope["path"]),
            "params": _params(scope, state.get("audit_params") or {}),
            "purpose": mask_for_log(purpose) if purpose else None,
            "outcome": status,
            "records": list(state.get("audit_records") or []),
            # Exact lookups past the limit of misses (popbase.security.throttle).
            **({"probing": True} if state.get("audit_probing") else {}),
        }
        try:
            await self.commit.submit(entry)
        except Exception as exc:
            log.error("audit write failed (%s); request refused", exc)
            for message in _json_response(500, REFUSED):
                await send(message)
            return
        if failure is not None:
            raise failure
        for message in held:
            await send(message)
