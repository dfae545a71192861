"""Events and tags a person source's own columns give (``events:`` and ``tags:``).

Many departments deliver one row per person with a column per programme (a 慢病类型
column holding 高血压、糖尿病, a 孕产妇 column holding 是/否 or a date) instead of one row
per event with an event-type column. The project file says how to read such columns
(:class:`popbase.config.EventColumn`, :class:`popbase.config.TagColumn`); ingest keeps
their cells in ``record_cells`` (one row per record, column and non-empty cell) and this
module turns them into ``record_events``: one row per record and event (or tag) given,
with the column and the value that gave it and the event's own date, if any.

A column is read one way:

- as a **flag**: 是/有/Y/1/√/true give the entry's event or tag, a date gives it on that
  date, 否/无/N/0/×/false give nothing;
- by its **values**: each cell is split on 、,，;；/ and spaces, and each part gives what
  ``values`` maps it to. The part becomes the event's detail (the portrait stage appends
  the record's ``event_detail``), so the shipped rules (慢病管理 with
  ``detail_contains: 高血压``) tag a cell of 高血压、糖尿病 twice.

Whatever a column holds that no entry reads (a date column: a cell that is no date) is
counted per source and column in ``unreadable_event_values``, with examples; nothing is
dropped silently.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa

if TYPE_CHECKING:
    from popbase.backends import Backend
    from popbase.config import ColumnReading, SourceConfig

# Cells of a flag that say the row records the event: Chinese, English, Excel's own
# TRUE, and the check marks ledgers tick. Compared in upper case.
YES_WORDS = ("是", "有", "已", "Y", "YES", "T", "TRUE", "1", "√", "✓", "✔", "☑")
# Cells that say the row records no such event, or does not know: neither an event nor
# unreadable, in flag and value columns alike (a value column's 无 means no disease).
NONE_WORDS = (
    "否",
    "无",
    "没有",
    "未",
    "非",
    "不是",
    "N",
    "NO",
    "F",
    "FALSE",
    "0",
    "×",
    "✗",
    "✘",
    "X",
    "-",
    "—",
    "－",
    "/",
    "／",
    "不详",
    "未知",
    "空",
)
# What separates the values of one cell: 、 and full- and half-width commas and
# semicolons, slashes, and whitespace (a full-width space included).
SEPARATORS = r"[、,，;；/／\s]+"
_SEPARATORS = re.compile(SEPARATORS)
# Examples of an unreadable column's values shown in the report.
EXAMPLES = 3

RECORD_CELLS = pa.schema(
    [
        ("source", pa.string()),
        ("record_id", pa.string()),
        ("column", pa.string()),
        ("cell", pa.string()),
    ]
)
COLUMN_MAPS = pa.schema(
    [
        ("source", pa.string()),
        ("column", pa.string()),
        ("date_column", pa.string()),
        ("reading", pa.string()),
        ("value", pa.string()),
        ("event_type", pa.string()),
        ("tag", pa.string()),
    ]
)


def split_cell(cell: str) -> list[str]:
    """The values of one cell, in order.

    >>> split_cell("高血压、糖尿病")
    ['高血压', '糖尿病']
    >>> split_cell(" 低保对象；持证残疾人 / 党员 ")
    ['低保对象', '持证残疾人', '党员']
    """
    return [part for part in _SEPARATORS.split(cell) if part]


def column_maps(sources: Sequence[SourceConfig]) -> pa.Table:
    """What each column of ``events:`` and ``tags:`` gives, as a table (:data:`COLUMN_MAPS`).

    A flag gives one row without a value; a column read by its values one row per value.
    """
    rows: list[dict[str, str | None]] = []
    for source in sources:
        entries: list[tuple[ColumnReading, str | None, str | None]] = [
            *((e, e.event_type, None) for e in source.events),
            *((t, None, t.tag) for t in source.tags),
        ]
        for entry, event_type, tag in entries:
            base = {"source": source.name, "column": entry.column, "date_column": entry.date}
            targets = entry.targets(event_type if tag is None else tag)
            if targets is None:
                rows.append(
                    {**base, "reading": "flag", "value": None, "event_type": event_type, "tag": tag}
                )
                continue
            for value, target in targets.items():
                rows.append(
                    {
                        **base,
                        "reading": "values",
                        "value": value,
                        "event_type": target if tag is None else None,
                        "tag": target if tag is not None else None,
                    }
                )
    return pa.Table.from_pylist(rows, schema=COLUMN_MAPS)


def record_cells(source: str, cells: pd.DataFrame) -> pa.Table:
    """The non-empty cells of ``cells`` (``record_id`` and one column each), one per row."""
    long = cells.melt(id_vars="record_id", var_name="column", value_name="cell")
    long = long[long["cell"].notna()]
    return pa.table(
        {
            "source": pa.array([source] * len(long), pa.string()),
            "record_id": pa.array(long["record_id"].to_numpy(dtype=object), pa.string()),
            "column": pa.array(long["column"].to_numpy(dtype=object), pa.string()),
            "cell": pa.array(long["cell"].to_numpy(dtype=object), pa.string()),
        },
        schema=RECORD_CELLS,
    )


def _words(words: Sequence[str]) -> str:
    return ", ".join("'" + w.replace("'", "''") + "'" for w in words)


def cell_date_sql(text: str) -> str:
    """SQL reading the text of a cell as a DATE (NULL when it is no date)."""
    # Imported here: the validate stage imports ingest, which builds these events.
    from popbase.population.validate import parse_date_sql

    return parse_date_sql(text)


# The (source, column) pairs named only as an entry's `date:` column.
_DATE_COLUMNS = """
    SELECT * FROM (
        SELECT source, date_column AS "column" FROM column_maps WHERE date_column IS NOT NULL
        EXCEPT SELECT source, "column" FROM column_maps
    )
"""


def cell_dates_sql() -> str:
    """``cell_dates``: each distinct cell of a flag or date column, and the date it reads as.

    Dates are read once per distinct text, as the validate stage reads ``event_date``.
    """
    return f"""
        CREATE OR REPLACE TABLE cell_dates AS
        WITH dated AS (
            SELECT source, "column" FROM column_maps WHERE reading = 'flag'
            UNION {_DATE_COLUMNS}
        )
        SELECT DISTINCT c.cell AS text, {cell_date_sql("c.cell")} AS date
        FROM record_cells c JOIN dated USING (source, "column")
    """


def cell_values_sql() -> str:
    """``cell_values``: each cell of a flag column whole, each part of a value column.

    A flag's cell carries the date it reads as (``date``), unless it is a yes-word.
    ``cell_no`` keeps the order of the files' rows.
    """
    return f"""
        CREATE OR REPLACE TABLE cell_values AS
        WITH readings AS (SELECT DISTINCT source, "column", reading FROM column_maps)
        SELECT c.source, c.record_id, c."column", k.reading, trim(p.value) AS value,
               CASE WHEN k.reading = 'flag' AND upper(c.cell) NOT IN ({_words(YES_WORDS)})
                    THEN d.date END AS date,
               c.rowid AS cell_no
        FROM record_cells c
             JOIN readings k USING (source, "column")
             LEFT JOIN cell_dates d ON k.reading = 'flag' AND d.text = c.cell,
             unnest(
                 CASE WHEN k.reading = 'flag' THEN [c.cell]
                      ELSE string_split_regex(c.cell, '{SEPARATORS}') END
             ) AS p(value)
        WHERE trim(p.value) <> ''
    """


def _not_none(value: str) -> str:
    return f"upper({value}) NOT IN ({_words(NONE_WORDS)})"


def reads_sql(v: str, m: str) -> str:
    """The condition that entry ``m`` of ``column_maps`` reads value ``v`` of ``cell_values``."""
    return (
        f"(({m}.reading = 'values' AND lower({m}.value) = lower({v}.value)) OR "
        f"({m}.reading = 'flag' AND (upper({v}.value) IN ({_words(YES_WORDS)}) "
        f"OR {v}.date IS NOT NULL)))"
    )


def record_events_sql() -> str:
    """``record_events``: one row per record and event (or tag) its columns give.

    ``value`` is the part of the cell that gave it (null for a flag); ``event_date`` the
    flag's own date, else the date in the entry's date column, else null: the record's
    ``event_date`` then applies (see :func:`popbase.portraits.tagging.person_events_sql`).
    """
    return f"""
        CREATE OR REPLACE TABLE record_events AS
        SELECT v.source, v.record_id, v."column",
               CASE WHEN v.reading = 'values' THEN v.value END AS value,
               m.event_type, m.tag, coalesce(v.date, dd.date) AS event_date
        FROM cell_values v
        JOIN column_maps m ON m.source = v.source AND m."column" = v."column"
             AND {reads_sql("v", "m")}
        LEFT JOIN record_cells d
             ON d.record_id = v.record_id AND d."column" = m.date_column
        LEFT JOIN cell_dates dd ON dd.text = d.cell
        -- A value mapped to nothing is read, and gives nothing.
        WHERE m.event_type IS NOT NULL OR m.tag IS NOT NULL
        ORDER BY v.cell_no
    """


def unreadable_event_values_sql() -> str:
    """``unreadable_event_values``: per source and column, the values it could not read.

    A value is unreadable when no entry of its column reads it and it is not a word for
    "none" (:data:`NONE_WORDS`); a cell of a date column, when it is no date. Each row:
    ``source, field`` (the column), ``present`` (values read), ``unreadable`` and the
    :data:`EXAMPLES` most frequent (``value, rows, first``: the first record with it).
    """
    return f"""
        CREATE OR REPLACE TABLE unreadable_event_values AS
        WITH dates AS (
            SELECT c.source, c."column", c.cell AS value, c.record_id, c.rowid AS cell_no,
                   d.date
            FROM record_cells c JOIN ({_DATE_COLUMNS}) k USING (source, "column")
            JOIN cell_dates d ON d.text = c.cell
        ),
        unread AS (
            SELECT v.source, v."column", v.value, v.record_id, v.cell_no FROM cell_values v
            WHERE {_not_none("v.value")} AND NOT EXISTS (
                SELECT 1 FROM column_maps m
                WHERE m.source = v.source AND m."column" = v."column" AND {reads_sql("v", "m")}
            )
            UNION ALL
            SELECT source, "column", value, record_id, cell_no FROM dates
            WHERE date IS NULL AND {_not_none("value")}
        ),
        present AS (
            SELECT source, "column", count(*) AS present FROM cell_values GROUP BY ALL
            UNION ALL
            SELECT source, "column", count(*) FROM dates GROUP BY ALL
        ),
        bad AS (
            SELECT source, "column", value, count(*) AS n, arg_min(record_id, cell_no) AS first
            FROM unread GROUP BY ALL
        )
        SELECT b.source, b."column" AS field, p.present, CAST(sum(b.n) AS BIGINT) AS unreadable,
               list({{'value': b.value, 'rows': b.n, 'first': b.first}}
                    ORDER BY b.n DESC, b.value)[1:{EXAMPLES}] AS examples
        FROM bad b JOIN present p USING (source, "column")
        GROUP BY b.source, b."column", p.present
        ORDER BY b.source, field
    """


def derive_record_events(db: Backend, sources: Sequence[SourceConfig]) -> dict[str, int]:
    """Build ``record_events`` and ``unreadable_event_values`` from ``record_cells``.

    Returns the number of events and tags the columns of each source gave.
    """
    with db.registered("column_maps", column_maps(sources)):
        db.execute(cell_dates_sql())
        db.execute(cell_values_sql())
        db.execute(record_events_sql())
        db.execute(unreadable_event_values_sql())
    db.execute("DROP TABLE cell_values")
    db.execute("DROP TABLE cell_dates")
    counts = db.query_df("SELECT source, count(*) AS n FROM record_events GROUP BY source")
    given = dict(zip(counts["source"], counts["n"].astype(int), strict=True))
    return {s.name: given.get(s.name, 0) for s in sources if s.events or s.tags}


def unreadable_summary(db: Backend) -> list[dict[str, Any]]:
    """Per source and column read under ``events:``/``tags:``: what could not be read.

    One summary each (``source, field, present, unreadable, examples``), as the other
    fields' unreadable values are summarised.
    """
    rows: list[dict[str, Any]] = db.query_arrow(
        "SELECT source, field, present, unreadable, examples FROM unreadable_event_values"
    ).to_pylist()
    return rows


def unknown_tags(
    sources: Sequence[SourceConfig], tag_ids: Sequence[str]
) -> list[tuple[tuple[int | str, ...], str]]:
    """Tags named under ``tags:`` that the rules do not define.

    Each with its place in the project file (``sources.2.tags.0.tag``) and the message.
    """
    found: list[tuple[tuple[int | str, ...], str]] = []
    for i, source in enumerate(sources):
        for j, entry in enumerate(source.tags):
            named: list[tuple[tuple[str, ...], str]] = (
                [(("tag",), entry.tag)]
                if entry.tag is not None
                else [(("values", v), t) for v, t in (entry.targets(None) or {}).items() if t]
            )
            for where, tag in named:
                if tag in tag_ids:
                    continue
                close = difflib.get_close_matches(tag, tag_ids, n=1)
                hint = f"did you mean {close[0]!r}?" if close else f"known: {', '.join(tag_ids)}"
                found.append(
                    (
                        ("sources", i, "tags", j, *where),
                        f"source {source.name!r}, column {entry.column!r}: {tag!r} is not a "
                        f"tag of the portrait rules; {hint} (a new tag goes in the rules "
                        "file named by `portraits: {rules: …}`)",
                    )
                )
    return found
