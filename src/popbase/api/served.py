"""The snapshot being served: read-only DuckDB connections, re-resolved per request.

A build switches ``current`` atomically (see :mod:`popbase.ops.snapshot`). The server
resolves ``current`` on every request, so a new build is served without a restart; each
snapshot is opened once, read-only, and every request works on its own cursor, because a
DuckDB connection must not be shared between threads.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, TypeVar

import duckdb

from popbase.api.geojson import BuildingIndex, UnitLayer, building_index_from_rows, unit_layer
from popbase.api.lookup import PersonIndex
from popbase.errors import SnapshotError
from popbase.ops.snapshot import CURRENT, Snapshot, current_snapshot

T = TypeVar("T")

# Snapshots kept open at once: the current one and the one before it, so that requests
# still running on the previous snapshot when ``current`` switches can finish.
OPEN_SNAPSHOTS = 2

UNIT_COLUMNS = "code, name, level, parent_code, resident, households, area_km2"
BUILDING_COLUMNS = (
    "building_id, address, use, floors, resident, division_code, community_code, geometry"
)


# The key :meth:`ServedSnapshot.derived` keeps the person index under.
PERSON_INDEX = "person_index"


class ServedSnapshot:
    """One finished snapshot, opened read-only, with caches of its decoded geometry.

    Snapshots never change once published, so whatever is derived from one (GeoJSON of a
    level, building bounds) is cached for as long as it stays open.

    Parameters
    ----------
    snapshot
        The finished snapshot folder.
    threads
        DuckDB threads per query; None leaves DuckDB's default (one per core).

    Raises
    ------
    SnapshotError
        If the snapshot has no ``base.duckdb``.
    """

    def __init__(self, snapshot: Snapshot, threads: int | None = None) -> None:
        if not snapshot.base_db.exists():
            raise SnapshotError(
                f"{snapshot.path}: snapshot has no {snapshot.base_db.name}. "
                "Fix: run `popbase build` again to publish a complete snapshot."
            )
        self.snapshot = snapshot
        self.manifest: dict[str, Any] = snapshot.manifest()
        self._connection = duckdb.connect(str(snapshot.base_db), read_only=True)
        if threads is not None:
            self._connection.execute(f"SET threads = {int(threads)}")
        self._lock = threading.Lock()
        self._buildings_lock = threading.Lock()
        self._unit_layers: dict[str, UnitLayer] = {}
        self._buildings: BuildingIndex | None = None
        self._derived: dict[Hashable, Any] = {}
        self._derived_lock = threading.RLock()  # builds may derive from other builds

    @property
    def id(self) -> str:
        """The snapshot's id."""
        return self.snapshot.id

    @contextmanager
    def cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """Yield a cursor of its own for one request, closed afterwards."""
        cur = self._connection.cursor()
        try:
            yield cur
        finally:
            cur.close()

    def query(self, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
        """Run ``sql`` on a fresh cursor and return its rows as dictionaries."""
        with self.cursor() as cur:
            result = cur.execute(sql, params or [])
            names = [d[0] for d in result.description or []]
            return [dict(zip(names, row, strict=True)) for row in result.fetchall()]

    def unit_layer(self, level: str) -> UnitLayer:
        """Return the units of ``level`` as GeoJSON, decoded once per snapshot."""
        with self._lock:
            layer = self._unit_layers.get(level)
        if layer is not None:
            return layer
        rows = self.query(
            f"SELECT {UNIT_COLUMNS}, geometry FROM units WHERE level = ? ORDER BY code", [level]
        )
        layer = unit_layer(rows)
        with self._lock:
            return self._unit_layers.setdefault(level, layer)

    def buildings(self) -> BuildingIndex:
        """Return the buildings' bounds and properties, decoded once per snapshot."""
        # A lock of its own: decoding a city's buildings takes a moment, during which
        # requests for units must not wait.
        with self._buildings_lock:
            if self._buildings is None:
                with self.cursor() as cur:
                    table = cur.execute(f"SELECT {BUILDING_COLUMNS} FROM buildings")
                    self._buildings = building_index_from_rows(table.to_arrow_table())
            return self._buildings

    def person_index(self) -> PersonIndex | None:
        """The snapshot's persons by id, mapped once; None if it has no lookup files."""
        folder = self.snapshot.path
        # A published snapshot never changes: whether it has the files is looked up once.
        return self.derived(
            PERSON_INDEX, lambda: PersonIndex(folder) if PersonIndex.exists(folder) else None
        )

    def mapped_index(self) -> PersonIndex | None:
        """The person index if it is mapped already, without waiting: else None."""
        index = self.ready(PERSON_INDEX)
        return index if isinstance(index, PersonIndex) else None

    def ready(self, key: Hashable) -> Any:
        """What :meth:`derived` holds under ``key`` already, without waiting; else None."""
        return self._derived.get(key)

    def derived(self, key: Hashable, build: Callable[[], T]) -> T:
        """What ``build`` derives from this snapshot, built once under ``key`` and kept.

        Parameters
        ----------
        key
            Names what is derived (e.g. the counts one disclosure level leaves shown).
        build
            Derives it; called once per key while the snapshot is open.
        """
        # Built already: read without the lock, which a long build elsewhere may hold.
        if key in self._derived:
            done: T = self._derived[key]
            return done
        with self._derived_lock:
            if key not in self._derived:
                self._derived[key] = build()
            value: T = self._derived[key]
            return value

    def report(self) -> dict[str, Any]:
        """Read the build report (record accounting, stage timings)."""
        return self.snapshot.report()

    def close(self) -> None:
        """Close the snapshot's connection."""
        self._connection.close()


class ServedBase:
    """The population base under one output folder, as the server sees it.

    Parameters
    ----------
    output_dir
        The folder holding ``snapshots/`` and the ``current`` pointer.
    threads
        DuckDB threads per query (see :class:`ServedSnapshot`).
    """

    def __init__(self, output_dir: Path, threads: int | None = None) -> None:
        self.output_dir = output_dir
        self.threads = threads
        self._open: OrderedDict[str, ServedSnapshot] = OrderedDict()
        self._lock = threading.Lock()

    def current(self) -> ServedSnapshot:
        """Return the snapshot ``current`` points at now, opened on first use.

        Raises
        ------
        SnapshotError
            If no build has succeeded in the output folder yet.
        """
        # The pointer is a link to ``snapshots/<id>``: one readlink names the snapshot,
        # where resolving it costs a system call per path component.
        with suppress(OSError):
            named = Path(os.readlink(self.output_dir / CURRENT)).name
            with self._lock:
                known = self._open.get(named)
                if known is not None:
                    self._open.move_to_end(named)
                    return known
        snapshot = current_snapshot(self.output_dir)
        with self._lock:
            served = self._open.get(snapshot.id)
            if served is None:
                served = ServedSnapshot(snapshot, self.threads)
                self._open[snapshot.id] = served
                while len(self._open) > OPEN_SNAPSHOTS:
                    _, oldest = self._open.popitem(last=False)
                    oldest.close()
            else:
                self._open.move_to_end(snapshot.id)
            return served

    def close(self) -> None:
        """Close every open snapshot."""
        with self._lock:
            for served in self._open.values():
                served.close()
            self._open.clear()
