"""The deliveries stage: a source delivering nothing, or far less than before, stops publishing.

A department's file that cannot be decoded, a workbook that will not open, an empty
export or a folder that lost most of its files do not stop the build: their files are
quarantined and every row is accounted for. Published as it is, such a build would
silently drop that department's persons, tags and counts from the served base (a
street's residents fall, every disability tag vanishes). So before publishing, each
configured source is compared with what it should have delivered:

- *nothing delivered*: none of its rows could be read (every file unreadable or empty,
  every row malformed or over-long), unless the snapshot being served has none of its
  rows either;
- *far less than last time*: its usable rows (accepted or merged into a person,
  enterprise or room) are fewer than ``ingest.min_delivery_share`` (half, by default) of
  those of the same source in the snapshot being served.

Either stops the build with a :class:`~popbase.errors.PartialDeliveryError` naming the
source, its files, the counts and the fix; ``current`` keeps serving the last snapshot.
``popbase build --accept-partial NAME`` (or ``all``) publishes anyway, and the report
records what was accepted. A source the project no longer declares is not compared.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from popbase.context import INGEST_REASONS
from popbase.errors import PartialDeliveryError, PopbaseError
from popbase.ops.snapshot import current_snapshot

if TYPE_CHECKING:
    from popbase.context import BuildContext

# ``--accept-partial all`` accepts every source.
ACCEPT_ALL = "all"


class DeliveryNameError(PopbaseError, ValueError):
    """``--accept-partial`` names a source the project does not declare."""


@dataclass(frozen=True)
class Shortfall:
    """A source that delivered nothing, or far less than its last published delivery.

    Attributes
    ----------
    source
        The source's name.
    files
        Each of its files with how it was read (``read`` or a quarantine reason).
    rows_in, delivered, usable
        Rows its files hold; rows read intact (not malformed or over-long); rows
        accepted or merged.
    previous
        Usable rows of the source in the snapshot being served (None: none served).
    """

    source: str
    files: list[dict[str, str]]
    rows_in: int
    delivered: int
    usable: int
    previous: int | None

    @property
    def problem(self) -> str:
        """What is wrong, in words."""
        unread = [f for f in self.files if f["status"] != "read"]
        if self.delivered == 0:
            if self.files and len(unread) == len(self.files):
                return "none of its files could be read"
            return "none of its rows could be read" if self.rows_in else "its files hold no rows"
        share = self.usable / self.previous if self.previous else 0.0
        return (
            f"it gives {self.usable:,} usable rows where the snapshot being served has "
            f"{self.previous:,} ({share:.0%})"
        )

    def describe(self) -> str:
        """One paragraph for the error message."""
        files = "; ".join(
            f["file"] if f["status"] == "read" else f"{f['file']} ({f['reason']}: {f['message']})"
            for f in self.files
        )
        return (
            f"source {self.source!r}: {self.problem}. Files: {files or 'none'}. Rows in "
            f"{self.rows_in:,}, read {self.delivered:,}, usable {self.usable:,}"
            + (f", usable last time {self.previous:,}" if self.previous is not None else "")
            + "."
        )


def usable_rows(entry: Mapping[str, Any]) -> int:
    """Rows of a source's accounting entry that ended in the base (accepted or merged).

    >>> usable_rows({"accepted": 3, "merged": 2, "quarantined": 9})
    5
    """
    return int(entry.get("accepted", 0)) + int(entry.get("merged", 0))


def delivered_rows(entry: Mapping[str, Any]) -> int:
    """Rows of a source's accounting entry that were read intact (not set aside at ingest).

    >>> delivered_rows({"rows_in": 10, "quarantined_by_reason": {"row_malformed": 4}})
    6
    """
    aside = entry.get("quarantined_by_reason", {})
    return int(entry.get("rows_in", 0)) - sum(int(aside.get(r, 0)) for r in INGEST_REASONS)


def served_usable_rows(output_dir: Path) -> dict[str, int]:
    """Usable rows per source in the snapshot being served (empty when none is)."""
    try:
        report = current_snapshot(output_dir).report()
    except (PopbaseError, OSError, ValueError):
        return {}
    return {s: usable_rows(a) for s, a in report.get("accounting", {}).items()}


def shortfalls(
    accounting: Mapping[str, Mapping[str, Any]],
    files: Mapping[str, list[dict[str, str]]],
    previous: Mapping[str, int],
    min_share: float,
) -> list[Shortfall]:
    """The sources of ``accounting`` that delivered nothing or less than ``min_share``.

    >>> short = {"a": {"rows_in": 10, "accepted": 4, "merged": 0}}
    >>> shortfalls(short, {}, {"a": 10}, 0.5)[0].problem
    'it gives 4 usable rows where the snapshot being served has 10 (40%)'
    >>> shortfalls({"a": {"rows_in": 10, "accepted": 6, "merged": 0}}, {}, {"a": 10}, 0.5)
    []
    """
    found = []
    for source, entry in accounting.items():
        usable, delivered = usable_rows(entry), delivered_rows(entry)
        before = previous.get(source)
        short = bool(before) and usable < min_share * (before or 0)
        # Nothing read is a loss unless the served snapshot has nothing of it either (a
        # delivery that is empty every time, once accepted, stops no further build).
        nothing = delivered == 0 and before != 0
        if nothing or short:
            found.append(
                Shortfall(
                    source,
                    list(files.get(source, [])),
                    int(entry.get("rows_in", 0)),
                    delivered,
                    usable,
                    before,
                )
            )
    return found


def check_accept_names(accept: Collection[str], sources: Collection[str]) -> None:
    """Raise ValueError when ``accept`` names a source the project does not declare.

    >>> check_accept_names(["health", "all"], ["health", "police"])
    >>> try:
    ...     check_accept_names(["heath"], ["health", "police"])
    ... except ValueError as exc:
    ...     print(str(exc).split(". Fix:")[0])
    --accept-partial names no source of the project: heath
    """
    unknown = sorted(set(accept) - set(sources) - {ACCEPT_ALL})
    if unknown:
        raise DeliveryNameError(
            f"--accept-partial names no source of the project: {', '.join(unknown)}. Fix: "
            f"give source names as under `sources:` in popbase.yaml ({', '.join(sources)}), "
            f"or `{ACCEPT_ALL}`"
        )


def accepted(found: list[Shortfall], accept: Collection[str]) -> list[Shortfall]:
    """The shortfalls the build was told to publish anyway."""
    return [s for s in found if ACCEPT_ALL in accept or s.source in accept]


def check_deliveries(ctx: BuildContext) -> dict[str, Any]:
    """Stop the build before publishing when a source delivered nothing or far less."""
    accounting: dict[str, dict[str, Any]] = ctx.report.get("accounting", {})
    files: dict[str, list[dict[str, str]]] = {}
    for row in ctx.db.query_df(
        "SELECT source, file, status, reason, message FROM source_files ORDER BY source, file"
    ).to_dict("records"):
        files.setdefault(str(row["source"]), []).append(
            {k: str(row[k]) for k in ("file", "status", "reason", "message")}
        )
    found = shortfalls(
        accounting,
        files,
        served_usable_rows(ctx.project.output_dir),
        ctx.project.config.ingest.min_delivery_share,
    )
    allowed = accepted(found, ctx.accept_partial)
    refused = [s for s in found if s not in allowed]
    if refused:
        raise PartialDeliveryError(
            [s.describe() for s in refused], [s.source for s in refused], ctx.project.root
        )
    return {"accepted_partial": [{**asdict(s), "problem": s.problem} for s in allowed]}
