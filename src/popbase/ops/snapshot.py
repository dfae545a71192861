"""Snapshots: each build writes a new one; ``current`` points at the one being served.

Layout under the project's output folder::

    snapshots/<id>/            a finished build
        base.duckdb            served tables (see ``TABLES``)
        graph.lbug             the graph database (LadybugDB)
        report.json            record accounting and stage timings
        manifest.json          id, project, region, created, counts
    snapshots/<id>.building/   a build in progress (readers never look here)
    snapshots/<id>.failed/     a build that failed (kept for inspection)
    current -> snapshots/<id>  switched atomically when a build succeeds
    work/<id>/work.duckdb      the build's working tables (original rows with raw ID
                               numbers, quarantine): kept beside, never inside, what is served
    work/<id>/build.lock       locked (``flock``) by the build while it runs

A failed build never touches ``current``: the previous snapshot keeps serving.

A build that was killed (power cut, out of memory, ``kill -9``) leaves its
``<id>.building`` folder and its working folder, with raw ID numbers, behind. The next
build removes them when it starts: a build's lock is released by the system when its
process ends, so a ``.building`` folder whose lock nobody holds belongs to no running
build. Builds of one project may run at once; each only removes what no live build holds.

Everything a build writes is readable by its owner only: the ``snapshots`` and ``work``
folders are ``0700`` and the build runs with the umask ``077`` (files ``0600``), since
they hold every resident's identity (《个人信息保护法》 art. 51: access control).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from popbase.errors import SnapshotError

SNAPSHOTS = "snapshots"
CURRENT = "current"
BASE_DB = "base.duckdb"
WORK_DB = "work.duckdb"
# Each source's rows as delivered, one Parquet file per source, beside the working database.
RAW_ROWS = "raw"
WORK = "work"
BUILD_LOCK = "build.lock"
# Held while a build starts: cleaning stale builds and creating a new one are one step.
START_LOCK = ".start.lock"
BUILDING = ".building"
# Folders and files of builds: their owner's alone.
PRIVATE_UMASK = 0o077
PRIVATE_FOLDER = 0o700
GRAPH_DB = "graph.lbug"
REPORT = "report.json"
MANIFEST = "manifest.json"
# The served persons and their tags sorted by person id, as Arrow IPC files the API maps
# into memory for lookups of one person (see :mod:`popbase.api.lookup`).
PERSON_CARDS_FILE = "person_cards.arrow"
PERSON_TAGS_FILE = "person_tags.arrow"

# Tables every snapshot's base.duckdb holds, for readers (API, eval, export).
TABLES = {
    "units": "code, name, level, parent_code, resident, usual_resident, floating, registered, "
    "absent, unknown, households, area_km2, geometry (WKB)",
    "buildings": "building_id, address, use, floors, division_code, community_code, grid_code, "
    "resident, usual_resident, floating, registered, absent, unknown, households, lon, lat, "
    "geometry (WKB)",
    "rooms": "room_id, building_id, room_no, floor, origin ('housing'|'rebuilt'), division_code",
    "persons": "person_id, sex, birth_date, status, residency_status, months_here, "
    "residency_rule, months_rule (the rules that decided them; not served to roles), "
    "division_code, room_id, hukou_room_id, employer_credit_code, household_id, relation",
    "tags": "tag, label, label_en, dimension, dimension_label, kind",
    "person_tags": "person_id, tag, source, record_id, valid_from, valid_to",
    "unit_tags": "code, tag, persons",
    "unit_pyramids": "code, sex, age_band, persons",
    "disclosure_cells": "floor, kind ('unit'|'building'), code, measure (a count, or "
    "'tag:<tag>'), value, hidden: the counts below each role's floor, suppressed or not",
    "quality_sources": "source, rows_in, validation_rate, link_rate, as_of, age_days, "
    "ids_unrecognised_area, consistency, completeness, fields (JSON)",
    "quality_units": "code, resident, residence_consistency, ethnicity_known, household_known, "
    "rebuilt_share",
    "unreadable_values": "stage, source, field, present, unreadable, examples (JSON: value, "
    "rows, first)",
    "record_outcomes": "source, record_id, file, row_number, record_no, kind, outcome, "
    "quarantine_stage, reason, person_id",
    "record_links": "source, record_id, address_kind, building_id, room_id, reason",
}


@dataclass(frozen=True)
class Snapshot:
    """A finished snapshot folder."""

    path: Path

    @property
    def id(self) -> str:
        """The snapshot's id (its folder name)."""
        return self.path.name

    @property
    def base_db(self) -> Path:
        """The DuckDB file with the analytical tables."""
        return self.path / BASE_DB

    @property
    def graph_db(self) -> Path:
        """The LadybugDB graph file."""
        return self.path / GRAPH_DB

    @property
    def work_db(self) -> Path:
        """The build's working database (original rows, the quarantine), if kept."""
        return self.path.parent.parent / WORK / self.id / WORK_DB

    def manifest(self) -> dict[str, Any]:
        """The snapshot's manifest."""
        return dict(json.loads((self.path / MANIFEST).read_text(encoding="utf-8")))

    def report(self) -> dict[str, Any]:
        """The build report (record accounting, stage timings)."""
        return dict(json.loads((self.path / REPORT).read_text(encoding="utf-8")))


def new_snapshot_id(now: dt.datetime | None = None) -> str:
    """A sortable, unique-enough id such as ``20261125T164012Z``."""
    now = now or dt.datetime.now(dt.UTC)
    return now.strftime("%Y%m%dT%H%M%S%fZ")


@contextlib.contextmanager
def owner_only() -> Iterator[None]:
    """Create files readable and writable by their owner only (umask 077) inside."""
    before = os.umask(PRIVATE_UMASK)
    try:
        yield
    finally:
        os.umask(before)


def _private_folder(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(PRIVATE_FOLDER)
    return folder


# Lock files held by the builds of this process, by their ``.building`` folder.
_HELD: dict[Path, int] = {}


def _try_lock(path: Path) -> int | None:
    """An open descriptor of ``path`` locked exclusively, or None if another holds it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def _release(building: Path) -> None:
    fd = _HELD.pop(building, None)
    if fd is not None:
        (building.parent.parent / WORK / building.name.removesuffix(BUILDING) / BUILD_LOCK).unlink(
            missing_ok=True
        )
        os.close(fd)


def _is_stale(lock: Path) -> bool:
    """Whether no running build holds ``lock`` (a missing lock: a build that never took one)."""
    if not lock.exists():
        return True
    fd = _try_lock(lock)
    if fd is None:
        return False
    os.close(fd)
    return True


def clean_stale_builds(output_dir: Path) -> list[str]:
    """Remove the ``.building`` and working folders of builds no running process holds.

    Returns
    -------
    list of str
        The ids of the builds removed.
    """
    snapshots, work = output_dir / SNAPSHOTS, output_dir / WORK
    removed: list[str] = []
    if snapshots.is_dir():
        for folder in sorted(snapshots.glob(f"*{BUILDING}")):
            build_id = folder.name.removesuffix(BUILDING)
            if folder in _HELD or not _is_stale(work / build_id / BUILD_LOCK):
                continue
            shutil.rmtree(folder, ignore_errors=True)
            shutil.rmtree(work / build_id, ignore_errors=True)
            removed.append(build_id)
    if work.is_dir():
        known = {p.name.split(".")[0] for p in snapshots.iterdir()} if snapshots.is_dir() else set()
        for folder in sorted(work.iterdir()):
            # A working folder whose snapshot is gone: a build killed while it was renamed.
            if not folder.is_dir() or folder.name in known:
                continue
            if _is_stale(folder / BUILD_LOCK):
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder.name)
    return removed


def start_build(output_dir: Path) -> Path:
    """Create the folder of a build in progress and return it.

    Stale builds (killed, their lock free) are removed first; the new build's lock is held
    until :func:`finish_build` or :func:`fail_build`, or until its process ends.
    """
    snapshots = _private_folder(output_dir / SNAPSHOTS)
    work = _private_folder(output_dir / WORK)
    start = os.open(work / START_LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(start, fcntl.LOCK_EX)
        clean_stale_builds(output_dir)
        build_id = new_snapshot_id()
        mine = _private_folder(work / build_id)
        fd = _try_lock(mine / BUILD_LOCK)
        if fd is None:  # pragma: no cover - ids are unique to the microsecond
            raise SnapshotError(f"{mine}: another build holds this id; build again")
        folder = snapshots / f"{build_id}{BUILDING}"
        folder.mkdir(mode=PRIVATE_FOLDER)
        _HELD[folder] = fd
    finally:
        os.close(start)
    return folder


def work_folder(building: Path) -> Path:
    """The working folder of a build (outside the snapshot that will be served)."""
    snapshot_id = building.name.split(".")[0]
    folder = building.parent.parent / WORK / snapshot_id
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def raw_rows_file(work: Path, source: str) -> Path:
    """The Parquet file of ``source``'s rows as delivered, in the working folder ``work``."""
    return work / RAW_ROWS / f"{source}.parquet"


def finish_build(building: Path, keep: int = 3) -> Snapshot:
    """Publish a finished build: rename it, then switch ``current`` atomically.

    Parameters
    ----------
    building
        The ``<id>.building`` folder.
    keep
        How many finished snapshots to keep (older ones are removed).

    Returns
    -------
    Snapshot
        The new current snapshot.
    """
    final = building.with_name(building.name.removesuffix(BUILDING))
    building.rename(final)
    _release(building)
    output_dir = final.parent.parent
    link = output_dir / CURRENT
    tmp = output_dir / f".{CURRENT}.{os.getpid()}"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    tmp.symlink_to(Path(SNAPSHOTS) / final.name)
    # rename(2) replaces the old link in one step: readers see the old or the new one.
    os.replace(tmp, link)
    _prune(final.parent, keep)
    _prune_work(output_dir, final.parent, keep)
    return Snapshot(final)


def fail_build(building: Path) -> Path:
    """Mark a build as failed, keeping its folder for inspection."""
    failed = building.with_name(building.name.removesuffix(BUILDING) + ".failed")
    building.rename(failed)
    _release(building)
    return failed


def _prune(snapshots: Path, keep: int) -> None:
    finished = sorted(p for p in snapshots.iterdir() if p.is_dir() and "." not in p.name)
    for old in finished[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    failed = sorted(p for p in snapshots.iterdir() if p.name.endswith(".failed"))
    for old in failed[:-keep]:
        shutil.rmtree(old, ignore_errors=True)


def _prune_work(output_dir: Path, snapshots: Path, keep: int) -> None:
    """Drop working folders of snapshots that no longer exist (failed ones: keep the last)."""
    work = output_dir / WORK
    if not work.is_dir():
        return
    alive = {p.name.split(".")[0] for p in snapshots.iterdir()}
    for folder in work.iterdir():
        # A build starting at this moment holds its lock before its snapshot folder exists.
        if folder.is_dir() and folder.name not in alive and _is_stale(folder / BUILD_LOCK):
            shutil.rmtree(folder, ignore_errors=True)


def current_snapshot(output_dir: Path) -> Snapshot:
    """The snapshot ``current`` points at.

    Raises
    ------
    SnapshotError
        If no build has succeeded yet.
    """
    link = output_dir / CURRENT
    if not link.exists():
        raise SnapshotError(
            f"{output_dir}: no current snapshot (no build has succeeded here yet). "
            "Fix: run `popbase build` on this project first."
        )
    return Snapshot(link.resolve())
