"""The build: stages declared once, in order, each a function from tables to tables.

``run(project)`` opens a new snapshot folder, runs every stage against one backend
(tables live in the snapshot's ``base.duckdb``), and switches ``current`` to the new
snapshot only when every stage has succeeded. A failed build leaves the previous
snapshot serving and keeps the failed folder for inspection.
"""

from __future__ import annotations

import json
import time
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from popbase.address import match
from popbase.analysis import rollup
from popbase.backends import DuckDBBackend
from popbase.config import Project
from popbase.context import BuildContext, Progress, StageFn
from popbase.errors import PopbaseError, StageError
from popbase.ops import accounting, delivery, ingest, publish, quality, snapshot
from popbase.population import fuse, link, residency, resolve, validate
from popbase.portraits import tagging
from popbase.schema import conform_tables
from popbase.space import basemap


@dataclass(frozen=True)
class Stage:
    """One step of the build.

    Attributes
    ----------
    name, description
        How reports and progress name the stage.
    run
        The stage itself.
    writes
        The tables it writes, each declared in :data:`popbase.schema.TABLES`. After the
        stage they all exist with their declared types, empty where the stage had
        nothing to write (an optional layer or source the project does not have).
    """

    name: str
    description: str
    run: StageFn
    writes: tuple[str, ...] = ()


STAGES: tuple[Stage, ...] = (
    Stage(
        "space",
        "load the basemap: divisions, grids, buildings, facilities",
        basemap.load_space,
        (
            "divisions",
            "division_aliases",
            "grids",
            "buildings",
            "facilities",
            "basemap_rooms",
            "space_quarantine",
            "unreadable_values",
        ),
    ),
    Stage(
        "ingest",
        "read every department source",
        ingest.ingest_sources,
        (
            "quarantine",
            "person_records",
            "enterprise_records",
            "room_records",
            "signaling_records",
            "source_files",
            "rows_in",
            "record_events",
            "unreadable_event_values",
        ),
    ),
    Stage(
        "validate",
        "validate identifiers; quarantine rows that fail",
        validate.validate_records,
        (
            "person_records_valid",
            "claimed_id_parts",
            "name_fixes",
            "enterprise_records_valid",
            "signaling_valid",
        ),
    ),
    Stage(
        "address",
        "parse every distinct address once",
        match.parse_addresses,
        ("parsed_addresses",),
    ),
    Stage(
        "match",
        "match addresses to buildings and rooms",
        match.match_addresses,
        ("record_links", "room_record_links", "rooms"),
    ),
    Stage(
        "resolve",
        "resolve records into persons: by ID, then probabilistically",
        resolve.resolve_persons,
        ("person_keys", "person_members", "name_forms", "probable_links", "review_queue"),
    ),
    Stage("fuse", "one golden record per person", fuse.fuse_persons, ("persons_golden",)),
    Stage(
        "link",
        "link persons to rooms, hukou and employers",
        link.link_persons,
        (
            "lives_in",
            "hukou_at",
            "member_of",
            "households",
            "enterprises",
            "employer_codes",
            "works_at",
        ),
    ),
    Stage(
        "residency",
        "each person's 人户 status",
        residency.classify_residency,
        ("presence_places", "stays_in", "residence_rules", "residency"),
    ),
    Stage(
        "portrait",
        "1+9+X tags from facts and events",
        tagging.tag_persons,
        ("person_facts", "person_events", "person_tags", "tags"),
    ),
    Stage(
        "rollup",
        "count residents for every unit",
        rollup.rollup_units,
        (
            "residents",
            "unit_members",
            "building_counts",
            "unit_counts",
            "unit_tags",
            "unit_pyramids",
        ),
    ),
    Stage(
        "account",
        "record accounting: every row ends somewhere",
        accounting.account_records,
        ("record_outcomes",),
    ),
    Stage(
        "quality",
        "data quality per source and community",
        quality.measure_quality,
        ("quality_sources", "quality_units"),
    ),
    Stage(
        "deliveries",
        "stop before publishing if a source delivered nothing or far less than last time",
        delivery.check_deliveries,
    ),
    Stage("publish", "write the graph and the served tables", publish.publish_snapshot),
)


@dataclass(frozen=True)
class BuildResult:
    """A finished build."""

    snapshot: snapshot.Snapshot
    report: dict[str, Any]


def run_stages(ctx: BuildContext, stages: tuple[Stage, ...] = STAGES) -> None:
    """Run ``stages`` in order on ``ctx``, timing each; a failure raises StageError."""
    timings: dict[str, float] = ctx.report.setdefault("timings", {})
    for stage in stages:
        ctx.tick(stage.name, 0, 1)
        start = time.perf_counter()
        try:
            ctx.report[stage.name] = stage.run(ctx)
        except PopbaseError as exc:
            exc.add_note(f"(in build stage {stage.name!r}: {stage.description})")
            raise
        except Exception as exc:
            raise StageError(stage.name, exc) from exc
        # A declared table the stage left unwritten exists empty; drifted types are cast
        # back and recorded (a clean build records none).
        cast = conform_tables(ctx.db, stage.writes)
        if cast:
            ctx.report.setdefault("schema_casts", {})[stage.name] = cast
        timings[stage.name] = round(time.perf_counter() - start, 3)
        ctx.tick(stage.name, 1, 1)


def run(
    project: Project,
    stages: tuple[Stage, ...] = STAGES,
    progress: Progress | None = None,
    accept_partial: Collection[str] = (),
) -> BuildResult:
    """Build a new snapshot of ``project`` and make it current.

    Parameters
    ----------
    project
        The loaded project.
    stages
        The stages to run (all of them, in order, by default).
    progress
        Called with (stage, done, total) as stages advance.
    accept_partial
        Sources to publish even when they delivered nothing or far less than the served
        snapshot holds (``"all"``: every source); others stop the build.

    Returns
    -------
    BuildResult
        The new current snapshot and its report.

    Raises
    ------
    PopbaseError
        A stage failed, or a source delivered nothing or far less than last time
        (:class:`~popbase.errors.PartialDeliveryError`); ``current`` still points at the
        previous snapshot.
    """
    delivery.check_accept_names(accept_partial, [s.name for s in project.config.sources])
    # Working tables hold raw ID numbers, served ones every resident's whereabouts.
    with snapshot.owner_only():
        folder = snapshot.start_build(project.output_dir)
        try:
            db = DuckDBBackend(snapshot.work_folder(folder) / snapshot.WORK_DB)
        except BaseException:
            snapshot.fail_build(folder)
            raise
        ctx = BuildContext(project, db, folder, progress, accept_partial=frozenset(accept_partial))
        ctx.report["snapshot"] = folder.name.removesuffix(snapshot.BUILDING)
        try:
            run_stages(ctx, stages)
        except BaseException:
            db.close()
            snapshot.fail_build(folder)
            raise
        db.close()
        (folder / snapshot.REPORT).write_text(
            json.dumps(ctx.report, ensure_ascii=False, indent=2, default=str), encoding="utf-8"
        )
        snap = snapshot.finish_build(folder, keep=project.config.output.keep_snapshots)
    return BuildResult(snap, snap.report())
