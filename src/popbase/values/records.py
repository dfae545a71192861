"""Every value field of the record tables read into one form; what cannot be read, counted.

The validate stage runs :func:`read_record_values` first. For each value field a source
maps (:data:`FIELD_READERS`), each *distinct* value is read once — dates to ISO
(:mod:`.dates`), months and numbers (:mod:`.numbers`), words to canonical values
(:mod:`.vocabulary`) — and the table is rewritten in place where the canonical text
differs from what was delivered. Later SQL reads one form: ``TRY_CAST(x AS DATE)`` for
dates, canonical codes for words.

A value that was present but could not be read (a date that is no date, a sex word not
in the vocabulary, months that are not a number) becomes missing; the row is kept, and the
value is counted per source and field in ``unreadable_values`` with up to three examples
(the most frequent, each with its count and the first record that has it). A word that
means "no value" (不详, ``-``, 9 for sex) is missing, not unreadable.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import pyarrow as pa
import pyarrow.compute as pc

from popbase.context import RECORD_TABLES
from popbase.values.dates import read_dates
from popbase.values.numbers import read_floors, read_months, read_numbers
from popbase.values.reading import Reading
from popbase.values.unreadable import EXAMPLES, record_unreadable, summarise
from popbase.values.vocabulary import FIELDS, Vocabulary

if TYPE_CHECKING:
    from popbase.backends.base import Backend
    from popbase.context import BuildContext

__all__ = [
    "FIELD_READERS",
    "read_field",
    "read_record_values",
    "read_table_values",
]

# Per record kind, the reader of each value field: "date", "months", "number", or the
# vocabulary field its words belong to.
FIELD_READERS: Final[dict[str, dict[str, str]]] = {
    "person": {
        "birth_date": "date",
        "residence_since": "date",
        "hukou_since": "date",
        "event_date": "date",
        "residence_months": "months",
        "lon": "number",
        "lat": "number",
        "sex": "sex",
        "person_status": "person_status",
        "household_status": "household_status",
    },
    "enterprise": {"founded": "date"},
    "signaling": {"date": "date", "residents": "number", "workers": "number", "visitors": "number"},
}


def read_field(reader: str, values: pa.Array, vocabulary: Vocabulary) -> Reading:
    """Read ``values`` with ``reader`` (see :data:`FIELD_READERS`).

    Words meaning "no value" in any field (不详, NULL, ``-``) read as missing.

    >>> from popbase.values.vocabulary import load_vocabulary
    >>> read = read_field("date", pa.array(["2026年9月", "不详", "2026年13月"]), load_vocabulary())
    >>> read.values.to_pylist(), read.unreadable.to_pylist()
    (['2026-09-01', None, None], [False, False, True])
    """
    if reader in FIELDS:
        return vocabulary.read(reader, values)
    readers = {
        "date": read_dates,
        "months": read_months,
        "number": read_numbers,
        "floors": read_floors,
    }
    read = readers[reader](values)
    none = vocabulary.says_missing(values)
    return Reading(
        pc.if_else(none, pa.scalar(None, pa.string()), read.values),
        pc.and_(read.unreadable, pc.invert(none)),
    )


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def distinct_values_sql(table: str, field: str) -> str:
    """The distinct delivered values of one field."""
    column = _quoted(field)
    return f"SELECT DISTINCT {column} AS raw FROM {table} WHERE {column} IS NOT NULL"


def present_values_sql(table: str, field: str) -> str:
    """Per source, how many rows give a value of ``field``."""
    return f"SELECT source, count({_quoted(field)}) AS present FROM {table} GROUP BY source"


def unreadable_examples_sql(table: str, field: str, changes: str) -> str:
    """Per source, the unreadable values of ``field`` (the most frequent first) and totals.

    ``changes`` holds ``raw, value, unreadable`` for each distinct value that changes.
    """
    return f"""
        WITH bad AS (
            SELECT t.source, c.raw, count(*) AS n, arg_min(t.record_id, t.rowid) AS first
            FROM {table} t JOIN {changes} c ON t.{_quoted(field)} = c.raw
            WHERE c.unreadable GROUP BY ALL
        )
        SELECT source, raw, n, first, sum(n) OVER (PARTITION BY source) AS unreadable
        FROM bad
        QUALIFY row_number() OVER (PARTITION BY source ORDER BY n DESC, raw) <= {EXAMPLES}
        ORDER BY source, n DESC, raw
    """


def rewrite_values_sql(table: str, field: str, changes: str) -> str:
    """Replace each delivered value of ``field`` by its canonical text (null if unread)."""
    column = _quoted(field)
    return f"UPDATE {table} SET {column} = c.value FROM {changes} c WHERE {table}.{column} = c.raw"


def _changes(values: pa.Array, reading: Reading) -> pa.Table:
    """The distinct values whose canonical text differs from what was delivered."""
    same = pc.fill_null(pc.equal(values, reading.values), False)
    data = pa.table({"raw": values, "value": reading.values, "unreadable": reading.unreadable})
    return data.filter(pc.invert(same))


def read_table_values(
    db: Backend, table: str, fields: dict[str, str], vocabulary: Vocabulary
) -> list[dict[str, Any]]:
    """Read every field of ``fields`` (field → reader) in ``table``; return the summaries."""
    summaries: list[dict[str, Any]] = []
    for field, reader in fields.items():
        values = db.query_arrow(distinct_values_sql(table, field)).column("raw").combine_chunks()
        if len(values) == 0:
            continue
        changes = _changes(values, read_field(reader, values, vocabulary))
        if changes.num_rows == 0:
            continue
        with db.registered("value_changes", changes):
            bad = db.query_arrow(unreadable_examples_sql(table, field, "value_changes"))
            if bad.num_rows:
                counts = db.query_arrow(present_values_sql(table, field)).to_pylist()
                present = {str(r["source"]): int(r["present"]) for r in counts}
                summaries += summarise("validate", field, present, bad.to_pylist())
            db.execute(rewrite_values_sql(table, field, "value_changes"))
    return summaries


def read_record_values(ctx: BuildContext) -> dict[str, Any]:
    """Read the value fields of every record table; count and record what cannot be read.

    Returns
    -------
    dict
        ``unreadable``: one summary per source and field with unreadable values
        (``source, field, present, unreadable, examples``).
    """
    config = ctx.project.config
    summaries: list[dict[str, Any]] = []
    for kind, readers in FIELD_READERS.items():
        mapped = {f for s in config.sources if s.kind == kind for f in s.columns}
        fields = {f: r for f, r in readers.items() if f in mapped}
        summaries += read_table_values(ctx.db, RECORD_TABLES[kind], fields, ctx.project.vocabulary)
    record_unreadable(ctx.db, "validate", summaries)
    return {"unreadable": [{k: v for k, v in s.items() if k != "stage"} for s in summaries]}
