"""Events and tags a person source's own columns give (``events:`` and ``tags:``).

Many departments deliver one row per person with a column per programme (a 慢病类型
column holding 高血压、糖尿病, a 孕产妇 column holding 是/否 or a date) instead of one row
per event with an event-type column. The project file says how to read such columns
(:class:`popbase.config.EventColumn`, :class:`popbase.config.TagColumn`). Ingest takes
their cells (one row per record, column and non-empty cell: :func:`source_cells`) and
this module turns them into ``record_events``: one row per record and event (or tag)
given, with the column and the value that gave it and the event's own date, if any.

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
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from popbase.values.dates import read_dates

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

SOURCE_CELLS = pa.schema(
    [
        ("cell_no", pa.int64()),
        ("record_id", pa.string()),
        ("column", pa.string()),
        ("cell", pa.string()),
    ]
)
COLUMN_MAPS = pa.schema(
    [
        ("column", pa.string()),
        ("date_column", pa.string()),
        ("reading", pa.string()),
        ("value", pa.string()),
        ("event_type", pa.string()),
        ("tag", pa.string()),
    ]
)
RECORD_EVENTS = pa.schema(
    [
        ("source", pa.string()),
        ("record_id", pa.string()),
        ("column", pa.string()),
        ("value", pa.string()),
        ("event_type", pa.string()),
        ("tag", pa.string()),
        ("event_date", pa.date32()),
    ]
)
UNREADABLE_EVENT_VALUES = pa.schema(
    [
        ("source", pa.string()),
        ("field", pa.string()),
        ("present", pa.int64()),
        ("unreadable", pa.int64()),
        # JSON: [{"value", "rows", "first"}], most frequent first (as unreadable_values).
        ("examples", pa.string()),
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


def column_maps(source: SourceConfig) -> pa.Table:
    """What each column of ``events:`` and ``tags:`` gives, as a table (:data:`COLUMN_MAPS`).

    A flag gives one row without a value; a column read by its values one row per value.
    """
    rows: list[dict[str, str | None]] = []
    entries: list[tuple[ColumnReading, str | None, str | None]] = [
        *((e, e.event_type, None) for e in source.events),
        *((t, None, t.tag) for t in source.tags),
    ]
    for entry, event_type, tag in entries:
        base = {"column": entry.column, "date_column": entry.date}
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


def source_cells(cells: pd.DataFrame) -> pa.Table:
    """The non-empty cells of ``cells`` (``record_id`` and one column each), one per row.

    ``cell_no`` numbers them in the order of the file's rows, column by column.
    """
    record_ids = pa.array(cells["record_id"], pa.string())
    parts = []
    for column in cells.columns.drop("record_id"):
        values = pa.array(cells[column], pa.string(), from_pandas=True)
        present = pc.is_valid(values)
        kept = pc.filter(values, present)
        parts.append(
            pa.table(
                {
                    "record_id": pc.filter(record_ids, present),
                    "column": pa.array([str(column)] * len(kept), pa.string()),
                    "cell": kept,
                }
            )
        )
    if not parts:
        return SOURCE_CELLS.empty_table()
    table = pa.concat_tables(parts)
    numbers = pa.array(range(table.num_rows), pa.int64())
    return table.add_column(0, "cell_no", numbers).cast(SOURCE_CELLS)


def _words(words: Iterable[str]) -> str:
    """SQL string literals, comma-separated (``NULL`` for none: ``IN (NULL)`` is never true)."""
    return ", ".join("'" + w.replace("'", "''") + "'" for w in words) or "NULL"


@dataclass(frozen=True)
class SourceColumns:
    """The columns a source reads under ``events:`` and ``tags:``, by how each is read."""

    flags: tuple[str, ...]
    values: tuple[str, ...]
    dates: tuple[str, ...]  # every entry's `date:` column

    @classmethod
    def of(cls, source: SourceConfig) -> SourceColumns:
        """The columns ``source`` reads."""
        entries = [*source.events, *source.tags]
        return cls(
            flags=tuple(dict.fromkeys(e.column for e in entries if e.values is None)),
            values=tuple(dict.fromkeys(e.column for e in entries if e.values is not None)),
            dates=tuple(dict.fromkeys(e.date for e in entries if e.date)),
        )

    @property
    def date_only(self) -> tuple[str, ...]:
        """The date columns no entry reads otherwise (their unreadable cells are counted)."""
        return tuple(c for c in self.dates if c not in (*self.flags, *self.values))


def cell_dates(columns: SourceColumns, cells: pa.Table) -> pa.Table:
    """``text, date``: each distinct cell of a flag or date column, and the date it reads as.

    Each distinct text is read once, by the reader of every date field
    (:func:`popbase.values.dates.read_dates`); a text that is no date reads as null.
    """
    wanted = pc.is_in(
        cells.column("column"), pa.array([*columns.flags, *columns.dates], pa.string())
    )
    texts = pc.unique(cells.filter(wanted).column("cell").combine_chunks())
    iso = read_dates(texts).values
    return pa.table({"text": texts, "date": pc.cast(iso, pa.date32())})


def cell_values_sql(columns: SourceColumns) -> str:
    """``cell_values``: each cell of a flag column whole, each part of a value column.

    A flag's cell carries the date it reads as (``date``), unless it is a yes-word.
    """
    return f"""
        CREATE OR REPLACE TEMP TABLE cell_values AS
        SELECT c.cell_no, c.record_id, c."column", 'flag' AS reading, c.cell AS value,
               CASE WHEN upper(c.cell) NOT IN ({_words(YES_WORDS)}) THEN d.date END AS date
        FROM source_cells c LEFT JOIN cell_dates d ON d.text = c.cell
        WHERE c."column" IN ({_words(columns.flags)})
        UNION ALL
        SELECT c.cell_no, c.record_id, c."column", 'values', trim(p.value), NULL
        FROM source_cells c, unnest(string_split_regex(c.cell, '{SEPARATORS}')) AS p(value)
        WHERE c."column" IN ({_words(columns.values)}) AND trim(p.value) <> ''
    """


def cell_reads_sql() -> str:
    """``cell_reads``: each value of ``cell_values`` with what each entry reading it gives.

    A value is read by the entry that lists it (compared without regard to case); a
    flag's cell by every flag entry of its column when it is a yes-word or a date. A value
    no entry reads keeps one row, with ``read`` false.
    """
    return f"""
        CREATE OR REPLACE TEMP TABLE cell_reads AS
        SELECT v.*, m."column" IS NOT NULL AS read, m.event_type, m.tag, m.date_column
        FROM cell_values v LEFT JOIN column_maps m
             ON m.reading = 'values' AND m."column" = v."column"
            AND lower(m.value) = lower(v.value)
        WHERE v.reading = 'values'
        UNION ALL
        SELECT v.*, m."column" IS NOT NULL, m.event_type, m.tag, m.date_column
        FROM cell_values v LEFT JOIN column_maps m
             ON m.reading = 'flag' AND m."column" = v."column"
            AND (upper(v.value) IN ({_words(YES_WORDS)}) OR v.date IS NOT NULL)
        WHERE v.reading = 'flag'
    """


def _entry_dates_sql(columns: SourceColumns) -> str:
    """Each record's cells of date columns, with the date each reads as (or NULL)."""
    return f"""
        SELECT c.cell_no, c.record_id, c."column", c.cell AS value, d.date
        FROM source_cells c JOIN cell_dates d ON d.text = c.cell
        WHERE c."column" IN ({_words(columns.dates)})
    """


def record_events_sql(source: str, columns: SourceColumns) -> str:
    """Rows of ``record_events`` (:data:`RECORD_EVENTS`) the cells of ``source`` give.

    ``value`` is the part of the cell that gave it (null for a flag); ``event_date`` the
    flag's own date, else the date in the entry's date column, else null: the record's
    ``event_date`` then applies (see :func:`popbase.portraits.tagging.person_events_sql`).
    A value mapped to nothing is read, and gives nothing.
    """
    given = "(r.event_type IS NOT NULL OR r.tag IS NOT NULL)"
    fields = "r.record_id, r.\"column\", CASE WHEN r.reading = 'values' THEN r.value END, "
    fields += "r.event_type, r.tag"
    return f"""
        SELECT {_words([source])}, {fields}, r.date FROM cell_reads r
        WHERE {given} AND (r.date IS NOT NULL OR r.date_column IS NULL)
        UNION ALL
        SELECT {_words([source])}, {fields}, d.date FROM cell_reads r
        LEFT JOIN ({_entry_dates_sql(columns)}) d
             ON d.record_id = r.record_id AND d."column" = r.date_column
        WHERE {given} AND r.date IS NULL AND r.date_column IS NOT NULL
    """


def _not_none(value: str) -> str:
    return f"upper({value}) NOT IN ({_words(NONE_WORDS)})"


def unreadable_event_values_sql(source: str, columns: SourceColumns) -> str:
    """Rows of ``unreadable_event_values`` (:data:`UNREADABLE_EVENT_VALUES`) for ``source``.

    A value is unreadable when no entry of its column reads it and it is not a word for
    "none" (:data:`NONE_WORDS`); a cell of a date column, when it is no date. Each row:
    the column (``field``), the values read in it (``present``), the unreadable ones and
    the :data:`EXAMPLES` most frequent (``value, rows, first``: the first record with it).
    """
    only = SourceColumns(flags=(), values=(), dates=columns.date_only)
    return f"""
        WITH dates AS ({_entry_dates_sql(only)}),
        unread AS (
            SELECT cell_no, record_id, "column", value FROM cell_reads
            WHERE NOT read AND {_not_none("value")}
            UNION ALL
            SELECT cell_no, record_id, "column", value FROM dates
            WHERE date IS NULL AND {_not_none("value")}
        ),
        present AS (
            SELECT "column", count(*) AS present FROM cell_values GROUP BY ALL
            UNION ALL
            SELECT "column", count(*) FROM dates GROUP BY ALL
        ),
        bad AS (
            SELECT "column", value, count(*) AS n, arg_min(record_id, cell_no) AS first
            FROM unread GROUP BY ALL
        )
        SELECT {_words([source])}, b."column", p.present, CAST(sum(b.n) AS BIGINT),
               CAST(to_json(list({{'value': b.value, 'rows': b.n, 'first': b.first}}
                    ORDER BY b.n DESC, b.value)[1:{EXAMPLES}]) AS VARCHAR)
        FROM bad b JOIN present p USING ("column")
        GROUP BY b."column", p.present
        ORDER BY b."column"
    """


def add_record_events(db: Backend, source: SourceConfig, cells: pa.Table) -> None:
    """Add what the cells of ``source`` (:data:`SOURCE_CELLS`) give to ``record_events``.

    And what they hold that no entry reads to ``unreadable_event_values``.
    """
    columns = SourceColumns.of(source)
    with (
        db.registered("column_maps", column_maps(source)),
        db.registered("source_cells", cells),
        db.registered("cell_dates", cell_dates(columns, cells)),
    ):
        db.execute(cell_values_sql(columns))
        db.execute(cell_reads_sql())
        db.execute(f"INSERT INTO record_events {record_events_sql(source.name, columns)}")
        unread = unreadable_event_values_sql(source.name, columns)
        db.execute(f"INSERT INTO unreadable_event_values {unread}")
    for table in ("cell_reads", "cell_values"):
        db.execute(f"DROP TABLE {table}")


def events_given(db: Backend, sources: Sequence[SourceConfig]) -> dict[str, int]:
    """The number of events and tags the columns of each source gave."""
    counts = db.query_df("SELECT source, count(*) AS n FROM record_events GROUP BY source")
    given = dict(zip(counts["source"], counts["n"].astype(int), strict=True))
    return {s.name: given.get(s.name, 0) for s in sources if s.events or s.tags}


def unreadable_summary(db: Backend) -> list[dict[str, Any]]:
    """Per source and column read under ``events:``/``tags:``: what could not be read.

    One summary each (``source, field, present, unreadable, examples``), as the other
    fields' unreadable values are summarised.
    """
    rows: list[dict[str, Any]] = db.query_arrow(
        "SELECT source, field, present, unreadable, examples FROM unreadable_event_values "
        "ORDER BY source, field"
    ).to_pylist()
    return [{**row, "examples": json.loads(row["examples"])} for row in rows]


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
