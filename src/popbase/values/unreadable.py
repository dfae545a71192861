"""Values that could not be read: one summary per source (or layer) and field.

Each summary counts the values of a field that were present but could not be read and
gives up to :data:`EXAMPLES` of them, the most frequent first, each with its count and the
first record (or basemap feature) that has it. The build keeps them in the table
``unreadable_values`` (served in ``base.duckdb``) and in its report under the stage that
read them (``space`` for basemap layers, ``validate`` for sources); the command line warns
about each, ``popbase report`` lists them and ``popbase quality`` shows them.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Final

import pyarrow as pa

if TYPE_CHECKING:
    from popbase.backends.base import Backend

__all__ = [
    "EXAMPLES",
    "UNREADABLE_SCHEMA",
    "record_unreadable",
    "summarise",
    "unreadable_in_report",
    "unreadable_warning",
]

EXAMPLES: Final = 3
UNREADABLE_SCHEMA: Final = pa.schema(
    [
        ("stage", pa.string()),
        ("source", pa.string()),
        ("field", pa.string()),
        ("present", pa.int64()),
        ("unreadable", pa.int64()),
        ("examples", pa.string()),  # JSON: [{"value", "rows", "first"}], most frequent first
    ]
)


def summarise(
    stage: str, field: str, present: dict[str, int], bad: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """One summary per source with unreadable values of ``field``.

    ``present`` counts the values each source gives; ``bad`` holds the examples, most
    frequent first: ``source, raw, n`` (its rows), ``first`` (its first record) and
    ``unreadable`` (the source's total).

    >>> summarise("validate", "sex", {"ledger": 50}, [{"source": "ledger", "raw": "男女",
    ...     "n": 2, "first": "ledger:a.csv:7", "unreadable": 3}])[0]["examples"]
    [{'value': '男女', 'rows': 2, 'first': 'ledger:a.csv:7'}]
    """
    out: dict[str, dict[str, Any]] = {}
    for row in bad:
        entry = out.setdefault(
            row["source"],
            {
                "stage": stage,
                "source": row["source"],
                "field": field,
                "present": present.get(row["source"], 0),
                "unreadable": int(row["unreadable"]),
                "examples": [],
            },
        )
        example = {"value": row["raw"], "rows": int(row["n"]), "first": row["first"]}
        entry["examples"].append(example)
    return list(out.values())


def record_unreadable(db: Backend, stage: str, summaries: list[dict[str, Any]]) -> None:
    """Write the summaries of ``stage`` into ``unreadable_values`` (replacing earlier ones)."""
    if db.has_table("unreadable_values"):
        db.execute("DELETE FROM unreadable_values WHERE stage = ?", [stage])
    else:
        db.put("unreadable_values", UNREADABLE_SCHEMA.empty_table())
    if summaries:
        rows = [{**s, "examples": json.dumps(s["examples"], ensure_ascii=False)} for s in summaries]
        db.append("unreadable_values", pa.Table.from_pylist(rows, schema=UNREADABLE_SCHEMA))


# The stages that read values, in build order: basemap layers, source fields, and the
# columns a source reads under `events:`/`tags:`.
READING_STAGES: Final = ("space", "validate", "portrait")


def unreadable_in_report(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The unreadable-value summaries of a build report, each with the stage that read it.

    >>> unreadable_in_report({"space": {"unreadable": [{"source": "buildings"}]},
    ...                       "validate": {"unreadable": [{"source": "ledger"}]}})
    [{'stage': 'space', 'source': 'buildings'}, {'stage': 'validate', 'source': 'ledger'}]
    """
    return [
        {"stage": stage, **s}
        for stage in READING_STAGES
        for s in report.get(stage, {}).get("unreadable", [])
    ]


def unreadable_warning(summary: dict[str, Any]) -> str:
    """A one-line warning about one source's unreadable values of one field.

    >>> warning = unreadable_warning({"source": "ledger", "field": "residence_since",
    ...     "present": 900, "unreadable": 12,
    ...     "examples": [{"value": "2026年13月", "rows": 10, "first": "ledger:a.xlsx:7"}]})
    >>> print(warning.split(", e.g. ")[0])
    ledger.residence_since: 12 of 900 values could not be read and count as missing
    >>> print(warning.split(", e.g. ")[1].split(". Fix")[0])
    '2026年13月' (10 rows)
    """
    examples = ", ".join(f"{e['value']!r} ({e['rows']:,} rows)" for e in summary["examples"])
    if summary.get("stage") == "portrait":
        fix = (
            "add each value under `values:` of the source's events:/tags: entry for its "
            "column (left empty, a value is read as giving nothing)"
        )
    else:
        fix = "correct them in the source, or add the words to the project's vocabulary file"
    return (
        f"{summary['source']}.{summary['field']}: {summary['unreadable']:,} of "
        f"{summary['present']:,} values could not be read and count as missing, e.g. "
        f"{examples}. Fix: {fix}"
    )
