"""The HTTP API over the current snapshot, and the map dashboard that reads it.

Every request resolves ``current`` anew (:class:`~popbase.api.served.ServedBase`), so a
build that publishes a new snapshot is served at once, without a restart. Until a build
has succeeded, the API answers 503 with the fix.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, HTTPException, Query, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from popbase import __version__
from popbase.api import extracts, occupancy, people, statistics
from popbase.api.audit import AuditMiddleware
from popbase.api.deps import Caller, GateDep, Served
from popbase.api.disclosed import (
    below,
    building_counts,
    floor_of,
    hidden_cells,
    plain,
    scoped_units,
    unit_counts,
    unit_of,
)
from popbase.api.gate import Gate
from popbase.api.geojson import parse_bbox, unit_properties
from popbase.api.models import (
    BuildingCollection,
    ChildUnit,
    Problem,
    Summary,
    Totals,
    UnitCollection,
    UnitDetail,
    UnitLevel,
)
from popbase.api.served import ServedBase
from popbase.config import AccessConfig
from popbase.errors import SnapshotError
from popbase.security.access import LEVELS
from popbase.security.audit import AuditLog
from popbase.web import missing_vendor_files, static_dir

log = logging.getLogger(__name__)

GEOJSON = "application/geo+json"
MAX_BUILDINGS = 50_000
NO_SNAPSHOT: dict[int | str, dict[str, Any]] = {
    503: {"model": Problem, "description": "No build has succeeded yet"}
}

router = APIRouter(prefix="/api", responses=NO_SNAPSHOT)


def _region(manifest: dict[str, Any]) -> dict[str, Any]:
    region = manifest.get("region")
    if isinstance(region, dict):
        return region
    return {"code": region} if region is not None else {}


@router.get("/summary", response_model=Summary)
def summary(served: Served, gate: GateDep, principal: Caller) -> Summary:
    """Describe the current snapshot: its region, build time and your jurisdiction's totals."""
    who = gate.require_counts(principal)

    def totals() -> Totals:
        units = scoped_units(served, who)
        # The jurisdiction's residents are those of its top units (whose parent is not in it).
        top = units[~units["parent_code"].isin(units["code"])]
        order = {lv: i for i, lv in enumerate(LEVELS)}
        levels = sorted(units["level"].unique().tolist(), key=lambda lv: order.get(lv, len(order)))
        return Totals(
            resident=int(top["resident"].fillna(0).sum()),
            units={lv: int((units["level"] == lv).sum()) for lv in levels},
        )

    return Summary(
        snapshot=served.id,
        region=_region(served.manifest),
        created=str(served.manifest["created"]) if "created" in served.manifest else None,
        # The same for every request of one jurisdiction and floor: worked out once.
        totals=served.derived(("totals", who.scope, floor_of(who)), totals),
    )


@router.get(
    "/units",
    response_model=UnitCollection,
    responses={200: {"content": {GEOJSON: {}}}},
)
def units(
    served: Served,
    gate: GateDep,
    principal: Caller,
    level: Annotated[UnitLevel, Query(description="Which level of units to return")] = (
        UnitLevel.community
    ),
) -> Response:
    """Units of one level in your jurisdiction as GeoJSON (EPSG:4490 lon/lat)."""
    who = gate.require_counts(principal)
    floor = floor_of(who) if below(floor_of(who), level.value) else None
    layer = served.unit_layer(level.value)
    text = served.derived(
        ("layer", level.value, who.scope, floor),
        lambda: layer.text(who.scope, unit_counts(served, floor) if floor else None),
    )
    return Response(text, media_type=GEOJSON)


@router.get(
    "/units/{code}",
    response_model=UnitDetail,
    responses={404: {"model": Problem, "description": "Not found, or outside your jurisdiction"}},
)
def unit(served: Served, gate: GateDep, principal: Caller, code: str) -> UnitDetail:
    """One unit's figures and the units directly inside it."""
    who = gate.require_counts(principal)
    mine = unit_of(served, who, code)
    table = scoped_units(served, who)
    counts = {m: plain(mine[m]) for m in ("resident", "households")}
    children = table[table["parent_code"] == code].sort_values("code")
    return UnitDetail(
        **unit_properties({**{str(k): v for k, v in mine.items()}, **counts}),
        children=[
            ChildUnit(code=c, name=n, level=lv, resident=plain(r))
            for c, n, lv, r in children[["code", "name", "level", "resident"]].itertuples(
                index=False
            )
        ],
    )


@router.get(
    "/buildings",
    response_model=BuildingCollection,
    responses={
        200: {"content": {GEOJSON: {}}},
        422: {"model": Problem, "description": "The bounding box is malformed"},
    },
)
def buildings(
    served: Served,
    gate: GateDep,
    principal: Caller,
    bbox: Annotated[
        str,
        Query(
            description="minlon,minlat,maxlon,maxlat in degrees (EPSG:4490)",
            examples=["121.38,31.10,121.42,31.13"],
        ),
    ],
    limit: Annotated[int, Query(ge=1, le=MAX_BUILDINGS)] = 5000,
) -> Response:
    """Buildings of your jurisdiction (footprints or points) whose bounds intersect ``bbox``."""
    who = gate.require_counts(principal)
    try:
        box = parse_bbox(bbox)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    # A building's residents are counted below street level: controlled for departments.
    floor = floor_of(who)
    residents = (
        building_counts(served, floor, "resident")
        if floor is not None and below(floor, "building")
        else None
    )
    selection = served.buildings().select(box, limit, who.scope, residents)
    return Response(selection.text, media_type=GEOJSON)


@router.get(
    "/report",
    response_model=dict[str, Any],
    responses={404: {"model": Problem, "description": "The snapshot has no report"}},
)
def report(served: Served, gate: GateDep, principal: Caller) -> JSONResponse:
    """The current snapshot's build report (record accounting, stage timings); admins only."""
    gate.require(principal, "admin")
    try:
        return JSONResponse(served.report())
    except FileNotFoundError:
        raise HTTPException(404, f"snapshot {served.id} has no report.json") from None


async def _no_snapshot(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=503)


def create_app(
    output_dir: Path, gate: Gate | None = None, query_threads: int | None = None
) -> FastAPI:
    """Create the API and dashboard app serving the base under ``output_dir``.

    Parameters
    ----------
    output_dir
        The project's output folder: it holds ``snapshots/`` and the ``current``
        pointer. It need not have a snapshot yet (the API then answers 503).
    gate
        Users, roles and the audit trail (:meth:`Gate.for_project`); without it, the
        defaults of an ``access:`` section with paths under ``output_dir``.
    query_threads
        DuckDB threads per query; None leaves one per core. Several server processes
        share the cores, and a point lookup gains nothing from a second thread but its
        cost (twice the CPU time), so :func:`popbase.api.server.serve` divides them.

    Returns
    -------
    FastAPI
        The app: JSON under ``/api/``, the map at ``/``, OpenAPI docs at ``/docs``.
    """
    base = ServedBase(Path(output_dir), query_threads)
    static = static_dir()
    missing = missing_vendor_files()
    if missing:
        log.warning(
            "the map page's libraries are missing (%s); run `make web` to copy them from npm",
            ", ".join(missing),
        )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Map the person lookup files, and read which counts the snapshot suppresses,
        # before the first request rather than during it.
        with suppress(SnapshotError):
            current = base.current()
            current.person_index()
            for floor in {r.suppress_below for r in app.state.gate.roles.roles}:
                if floor is not None:
                    hidden_cells(current, floor)
        yield
        base.close()

    app = FastAPI(
        title="popbase",
        summary="Household-precise population base: division units, buildings, totals",
        version=__version__,
        lifespan=lifespan,
    )
    app.state.base = base
    app.state.gate = gate or Gate(Path(output_dir), AccessConfig(), Path(output_dir))
    app.add_middleware(
        AuditMiddleware,
        gate=app.state.gate,
        audit=AuditLog(app.state.gate.audit_path, app.state.gate.audit_key),
    )
    app.add_exception_handler(SnapshotError, _no_snapshot)
    app.include_router(router)
    app.include_router(people.router, responses=NO_SNAPSHOT)
    app.include_router(statistics.router, responses=NO_SNAPSHOT)
    app.include_router(extracts.router, responses=NO_SNAPSHOT)
    app.include_router(occupancy.router, responses=NO_SNAPSHOT)
    app.mount("/static", StaticFiles(directory=static), name="static")

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, Any]:
        """Liveness of this worker process: answered once its start-up is done."""
        return {"status": "ok", "worker": os.getpid()}

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(static / "index.html", headers={"Cache-Control": "no-cache"})

    return app
