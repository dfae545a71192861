"""Every API request into the audit trail, before its response leaves.

The middleware identifies the caller (through the gate), lets the endpoint run, and
appends one entry — who, role, when, client address, method and endpoint, parameters
(with every ID and phone number masked), stated purpose, outcome, and the record ids the
endpoint returned — to the hash-chained log (:mod:`popbase.security.audit`). Denied and
failed requests are audited too. If the entry cannot be written, the response is
replaced by a 500: no request is answered unaudited.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse

from popbase.api.gate import Gate
from popbase.security.audit import AuditLog
from popbase.security.masking import mask_text

log = logging.getLogger(__name__)
PURPOSE_HEADER = "X-Purpose"


def _params(request: Request) -> dict[str, Any]:
    """Query parameters and what the endpoint chose to record, masked."""
    params: dict[str, Any] = {k: mask_text(v) for k, v in request.query_params.items()}
    stated = getattr(request.state, "audit_params", None) or {}
    params.update({k: mask_text(str(v)) for k, v in stated.items()})
    return params


def audit_middleware(
    gate: Gate, audit: AuditLog
) -> Callable[[Request, Callable[[Request], Awaitable[Response]]], Awaitable[Response]]:
    """An HTTP middleware that audits every ``/api/`` request."""

    async def middleware(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        if not request.url.path.startswith("/api/"):
            return await call_next(request)
        principal = gate.principal(request.headers.get("authorization"))
        request.state.principal = principal
        response = await call_next(request)
        purpose = request.headers.get(PURPOSE_HEADER) or request.query_params.get("purpose")
        entry = {
            "time": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
            "user": principal.user if principal else None,
            "role": principal.role.id if principal else None,
            "scope": principal.scope if principal else None,
            "client": request.client.host if request.client else None,
            "method": request.method,
            "endpoint": request.url.path,
            "params": _params(request),
            "purpose": mask_text(purpose) if purpose else None,
            "outcome": response.status_code,
            "records": list(getattr(request.state, "audit_records", None) or []),
        }
        try:
            audit.append(entry)
        except OSError as exc:
            log.error("audit write failed (%s); request refused", exc.strerror)
            return JSONResponse(
                {"detail": "the audit trail cannot be written; the request is refused"},
                status_code=500,
            )
        return response

    return middleware
