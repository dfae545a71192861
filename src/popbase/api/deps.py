"""What every endpoint takes from its request: the gate, the caller and the snapshot.

The audit middleware (:mod:`popbase.api.audit`) identifies the caller before the
endpoint runs; endpoints name the records they return with :func:`returned`, for the
audit entry.

The dependencies are coroutines: FastAPI runs a plain function dependency on a worker
thread, and three thread hops per request cost more than all they do (a few attribute
reads and, for the snapshot, a ``stat`` of ``current``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from popbase.api.gate import Gate, Principal
from popbase.api.served import ServedBase, ServedSnapshot


async def gate_of(request: Request) -> Gate:
    """The app's gate."""
    gate: Gate = request.app.state.gate
    return gate


async def caller(request: Request) -> Principal | None:
    """The signed-in caller of this request, or None."""
    principal: Principal | None = getattr(request.state, "principal", None)
    return principal


async def served_of(request: Request) -> ServedSnapshot:
    """The snapshot ``current`` points at, resolved anew for this request."""
    base: ServedBase = request.app.state.base
    return base.current()


def returned(request: Request, ids: list[str]) -> None:
    """Name the records a response holds, for its audit entry."""
    request.state.audit_records = ids


Caller = Annotated[Principal | None, Depends(caller)]
Served = Annotated[ServedSnapshot, Depends(served_of)]
GateDep = Annotated[Gate, Depends(gate_of)]
