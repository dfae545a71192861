"""What every stage of the build shares: the build's context and the quarantine's rows.

A stage is a function from the tables of :class:`BuildContext` to more tables; it imports
this module, never the pipeline that orders the stages nor another stage's module, so
that each can be read, run and tested alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from popbase.backends.base import Backend
from popbase.config import Project
from popbase.schema import DeclaredTables

# The reason of a row set aside for a value longer than its field takes (see
# :mod:`popbase.ops.value_limits`).
VALUE_TOO_LONG = "value_too_long"

Progress = Callable[[str, int, int], None]


@dataclass
class BuildContext:
    """What a stage works with.

    Attributes
    ----------
    project
        The project being built.
    db
        The backend holding the build's tables.
    folder
        The snapshot folder being written.
    report
        Per-stage figures, written to ``report.json``.
    accept_partial
        Sources to publish even if they delivered nothing or far less than last time
        (``all`` for every source; see :mod:`popbase.ops.delivery`).
    """

    project: Project
    db: Backend
    folder: Path
    progress: Progress | None = None
    report: dict[str, Any] = field(default_factory=dict)
    accept_partial: frozenset[str] = frozenset()
    # Objects a stage builds that a later stage reuses (never required: a stage run
    # alone rebuilds what it needs).
    shared: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Tables a stage writes from Python arrive typed as declared (popbase.schema).
        if not isinstance(self.db, DeclaredTables):
            self.db = DeclaredTables(self.db)

    def tick(self, stage: str, done: int, total: int) -> None:
        """Report progress of a long stage."""
        if self.progress is not None:
            self.progress(stage, done, total)


StageFn = Callable[[BuildContext], dict[str, Any]]


# The records table of each source kind, as ingest writes it.
RECORD_TABLES = {
    "person": "person_records",
    "enterprise": "enterprise_records",
    "room": "room_records",
    "signaling": "signaling_records",
}
# Reasons of rows set aside at ingest, before they reach the kind's records table.
INGEST_REASONS = {"row_malformed": "malformed", VALUE_TOO_LONG: "too_long"}

# A quarantine entry: the row's source, id, file and row number, the stage, and why.
QUARANTINE_COLUMNS = ["source", "record_id", "file", "row_number", "stage", "reason", "detail"]


def quarantine_rows(
    records: pd.DataFrame, stage: str, reason: str | pd.Series, detail: str | pd.Series = ""
) -> pd.DataFrame:
    """Quarantine entries for ``records`` (which carry the meta columns)."""
    return pd.DataFrame(
        {
            "source": records["source"].to_numpy(dtype=object),
            "record_id": records["record_id"].to_numpy(dtype=object),
            "file": records["file"].to_numpy(dtype=object),
            "row_number": records["row_number"].to_numpy(),
            "stage": stage,
            "reason": reason if isinstance(reason, str) else reason.to_numpy(dtype=object),
            "detail": detail if isinstance(detail, str) else detail.to_numpy(dtype=object),
        },
        columns=QUARANTINE_COLUMNS,
    )
