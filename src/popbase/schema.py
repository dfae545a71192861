"""The build's tables: every table a stage writes, with its columns and their types.

A stage's outputs keep their declared types whatever its inputs held: a city without
grids still has a ``grids`` table whose ``grid_code`` is text, so that a later join on it
works. Two things hold the declarations to account:

- :class:`DeclaredTables` wraps the build's backend: a table a stage writes from Python
  (``put``, ``append``) is cast to its declaration first, so an empty or all-missing
  column arrives typed rather than as whatever the engine guesses for nothing;
- :func:`conform_tables` runs after each stage: a declared table the stage did not write
  (its inputs were absent) is created empty, and one whose column types drifted is cast
  back, each cast recorded in the build report (a clean build records none).

Types are DuckDB's names (``VARCHAR``, ``BIGINT``, ``DOUBLE``, ``BOOLEAN``, ``DATE``,
``TIMESTAMP``, ``BLOB``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pandas as pd
import pyarrow as pa

from popbase.backends.base import Backend
from popbase.errors import PopbaseError

__all__ = [
    "TABLES",
    "DeclaredTables",
    "TableSchemaError",
    "conform",
    "conform_tables",
    "empty_table_sql",
]


class TableSchemaError(PopbaseError, TypeError):
    """Data for a declared table has a column that cannot take the declared type."""


@dataclass(frozen=True)
class TableSchema:
    """A build table: its columns in order, each with a DuckDB type."""

    name: str
    columns: tuple[tuple[str, str], ...]

    @property
    def names(self) -> list[str]:
        """Column names in order."""
        return [c for c, _ in self.columns]


def _table(name: str, columns: str) -> TableSchema:
    pairs = []
    for part in columns.split(","):
        column, kind = part.split()
        pairs.append((column, kind.upper()))
    return TableSchema(name, tuple(pairs))


# The meta columns every record table starts with (see popbase.ops.ingest).
_RECORD_META = (
    "source VARCHAR, department VARCHAR, priority BIGINT, as_of TIMESTAMP, file VARCHAR, "
    "row_number BIGINT, record_id VARCHAR"
)
_PERSON_FIELDS = (
    "record_no, id_number, name, sex, birth_date, ethnicity, phone, residence_address, "
    "residence_since, residence_months, hukou_address, hukou_since, household_no, "
    "household_status, relation, person_status, marital_status, spouse_id_number, education, "
    "employer_credit_code, employer_name, event_type, event_detail, event_date, "
    "community_name, text, lon, lat"
)
_ENTERPRISE_FIELDS = "credit_code, name, address, legal_person, founded, industry, status"
_ROOM_FIELDS = "room_code, address, building_address, room_no, floor, area, use"
_SIGNALING_FIELDS = "grid_code, date, hour, residents, workers, visitors"
_COUNTS = (
    "resident BIGINT, usual_resident BIGINT, floating BIGINT, registered BIGINT, "
    "absent BIGINT, unknown BIGINT, households BIGINT"
)
_LINK = "person_id VARCHAR, room_id VARCHAR, source VARCHAR, record_id VARCHAR, as_of TIMESTAMP"


def _text(fields: str) -> str:
    return ", ".join(f"{f.strip()} VARCHAR" for f in fields.split(","))


_DECLARED: Final = (
    # space
    _table(
        "divisions",
        "code VARCHAR, name VARCHAR, level VARCHAR, parent_code VARCHAR, area_km2 DOUBLE, "
        "geometry BLOB",
    ),
    _table("division_aliases", "alias VARCHAR, code VARCHAR, valid_until BIGINT, note VARCHAR"),
    _table(
        "grids",
        "grid_code VARCHAR, name VARCHAR, community_code VARCHAR, area_km2 DOUBLE, geometry BLOB",
    ),
    _table(
        "buildings",
        "building_id VARCHAR, address VARCHAR, use VARCHAR, floors BIGINT, compound VARCHAR, "
        "community_code VARCHAR, grid_code VARCHAR, division_code VARCHAR, lon DOUBLE, "
        "lat DOUBLE, geometry BLOB",
    ),
    _table(
        "facilities",
        "facility_id VARCHAR, name VARCHAR, type VARCHAR, capacity DOUBLE, building_id VARCHAR, "
        "lon DOUBLE, lat DOUBLE",
    ),
    _table(
        "basemap_rooms",
        "room_id VARCHAR, building_id VARCHAR, room_no VARCHAR, floor BIGINT, area DOUBLE, "
        "use VARCHAR",
    ),
    _table("space_quarantine", "layer VARCHAR, feature VARCHAR, reason VARCHAR, detail VARCHAR"),
    # Values that could not be read: the space stage's (layers), then validate's (sources).
    _table(
        "unreadable_values",
        "stage VARCHAR, source VARCHAR, field VARCHAR, present BIGINT, unreadable BIGINT, "
        "examples VARCHAR",
    ),
    # ingest
    _table(
        "quarantine",
        "source VARCHAR, record_id VARCHAR, file VARCHAR, row_number BIGINT, stage VARCHAR, "
        "reason VARCHAR, detail VARCHAR",
    ),
    _table("person_records", f"{_RECORD_META}, {_text(_PERSON_FIELDS)}"),
    _table("enterprise_records", f"{_RECORD_META}, {_text(_ENTERPRISE_FIELDS)}"),
    _table("room_records", f"{_RECORD_META}, {_text(_ROOM_FIELDS)}"),
    _table("signaling_records", f"{_RECORD_META}, {_text(_SIGNALING_FIELDS)}"),
    _table(
        "source_files",
        "source VARCHAR, file VARCHAR, status VARCHAR, reason VARCHAR, message VARCHAR",
    ),
    _table("rows_in", "source VARCHAR, rows_in BIGINT"),
    _table(
        "record_events",
        "source VARCHAR, record_id VARCHAR, column VARCHAR, value VARCHAR, event_type VARCHAR, "
        "tag VARCHAR, event_date DATE",
    ),
    _table(
        "unreadable_event_values",
        "source VARCHAR, field VARCHAR, present BIGINT, unreadable BIGINT, examples VARCHAR",
    ),
    # validate
    _table(
        "person_records_valid",
        f"{_RECORD_META}, {_text(_PERSON_FIELDS)}, id18 VARCHAR, id_sex VARCHAR, "
        "id_birth_date DATE, id_historical_area BOOLEAN, id_upgraded BOOLEAN, "
        "id_unrecognised_area BOOLEAN, "
        "sex_norm VARCHAR, birth_date_norm DATE, "
        "id_claimed_sex VARCHAR, id_claimed_birth_date DATE, id_claimed_area_code VARCHAR",
    ),
    # What a checksum-failing ID number still tells (popbase.population.mistyped_id).
    _table(
        "claimed_id_parts",
        "record_id VARCHAR, id_claimed_sex VARCHAR, id_claimed_birth_date DATE, "
        "id_claimed_area_code VARCHAR",
    ),
    _table("name_fixes", "record_id VARCHAR, original VARCHAR, name VARCHAR, fixes VARCHAR"),
    _table(
        "enterprise_records_valid",
        f"{_RECORD_META}, {_text(_ENTERPRISE_FIELDS)}, credit_code_norm VARCHAR",
    ),
    _table(
        "signaling_valid",
        f"{_RECORD_META}, grid_code VARCHAR, date VARCHAR, hour BIGINT, residents DOUBLE, "
        "workers DOUBLE, visitors DOUBLE",
    ),
    # address, match
    _table(
        "parsed_addresses",
        "text VARCHAR, outside_region BOOLEAN, components VARCHAR, codes VARCHAR, "
        "confidence DOUBLE, rest VARCHAR",
    ),
    _table(
        "record_links",
        "source VARCHAR, record_id VARCHAR, address_kind VARCHAR, text VARCHAR, "
        "building_id VARCHAR, room_id VARCHAR, reason VARCHAR",
    ),
    _table(
        "room_record_links",
        "record_id VARCHAR, building_id VARCHAR, room_no VARCHAR, room_id VARCHAR, reason VARCHAR",
    ),
    _table(
        "rooms",
        "room_id VARCHAR, building_id VARCHAR, room_no VARCHAR, origin VARCHAR, floor BIGINT",
    ),
    # resolve, fuse
    _table("person_keys", "record_id VARCHAR, id18 VARCHAR, person_id VARCHAR"),
    _table(
        "person_members",
        "record_id VARCHAR, source VARCHAR, person_id VARCHAR, priority BIGINT, "
        "as_of TIMESTAMP, rank_in_person BIGINT",
    ),
    _table(
        "name_forms",
        "raw VARCHAR, name VARCHAR, surname VARCHAR, name_sound VARCHAR, sex VARCHAR",
    ),
    _table(
        "probable_links",
        "record_id VARCHAR, person_id VARCHAR, match_probability DOUBLE, "
        "pair_probability DOUBLE, runner_up_person_id VARCHAR, runner_up_probability DOUBLE, "
        "decision VARCHAR",
    ),
    _table(
        "review_queue",
        "source VARCHAR, file VARCHAR, row_number BIGINT, record_id VARCHAR, "
        "quarantine_reason VARCHAR, name VARCHAR, residence_address VARCHAR, "
        "candidate_person_id VARCHAR, match_probability DOUBLE, pair_probability DOUBLE, "
        "runner_up_person_id VARCHAR, runner_up_probability DOUBLE",
    ),
    _table(
        "persons_golden",
        "person_id VARCHAR, id18 VARCHAR, sex VARCHAR, birth_date DATE, id_source VARCHAR, "
        "id_record VARCHAR, deceased BOOLEAN, records BIGINT, sources BIGINT, "
        "sex_conflicts BIGINT, birth_conflicts BIGINT, name VARCHAR, name_source VARCHAR, "
        "name_record VARCHAR, name_as_of TIMESTAMP",
    ),
    # link
    _table("lives_in", _LINK),
    _table("hukou_at", _LINK),
    _table(
        "member_of",
        "person_id VARCHAR, household_id VARCHAR, relation VARCHAR, source VARCHAR, "
        "record_id VARCHAR, as_of TIMESTAMP",
    ),
    _table(
        "households",
        "household_id VARCHAR, members BIGINT, head_person_id VARCHAR, room_id VARCHAR",
    ),
    _table(
        "enterprises",
        "credit_code VARCHAR, name VARCHAR, building_id VARCHAR, record_id VARCHAR, "
        "industry VARCHAR, status VARCHAR",
    ),
    _table("employer_codes", "raw VARCHAR, credit_code VARCHAR"),
    _table(
        "works_at",
        "person_id VARCHAR, credit_code VARCHAR, employer_name VARCHAR, registered BOOLEAN, "
        "source VARCHAR, record_id VARCHAR, as_of TIMESTAMP",
    ),
    # residency
    _table(
        "presence_places",
        "person_id VARCHAR, source VARCHAR, record_id VARCHAR, as_of TIMESTAMP, "
        "priority BIGINT, place VARCHAR, division_code VARCHAR, community_code VARCHAR",
    ),
    _table(
        "stays_in",
        "person_id VARCHAR, division_code VARCHAR, community_code VARCHAR, source VARCHAR, "
        "record_id VARCHAR, as_of TIMESTAMP",
    ),
    _table(
        "residency",
        "person_id VARCHAR, live_code VARCHAR, hukou_code VARCHAR, months BIGINT, "
        "residency_status VARCHAR, residency_rule VARCHAR, months_rule VARCHAR",
    ),
    _table("residence_rules", "person_id VARCHAR, rule VARCHAR"),
    # portrait
    _table(
        "person_facts",
        "person_id VARCHAR, sex VARCHAR, deceased BOOLEAN, age BIGINT, age_band VARCHAR, "
        "ethnicity VARCHAR, residency_status VARCHAR, employed BOOLEAN, lives_alone BOOLEAN, "
        "household_relation VARCHAR, room_origin VARCHAR, division_code VARCHAR",
    ),
    _table(
        "person_events",
        "person_id VARCHAR, source VARCHAR, record_id VARCHAR, event_type VARCHAR, "
        "event_detail VARCHAR, event_date DATE, tag VARCHAR",
    ),
    _table(
        "person_tags",
        "person_id VARCHAR, tag VARCHAR, source VARCHAR, record_id VARCHAR, valid_from DATE, "
        "valid_to DATE",
    ),
    _table(
        "tags",
        "tag VARCHAR, label VARCHAR, label_en VARCHAR, dimension VARCHAR, "
        "dimension_label VARCHAR, kind VARCHAR",
    ),
    # rollup
    _table(
        "residents",
        "person_id VARCHAR, room_id VARCHAR, building_id VARCHAR, community_code VARCHAR, "
        "grid_code VARCHAR, division_code VARCHAR",
    ),
    _table(
        "unit_members",
        "person_id VARCHAR, measure VARCHAR, room_id VARCHAR, building_id VARCHAR, "
        "community_code VARCHAR, grid_code VARCHAR",
    ),
    _table("building_counts", f"building_id VARCHAR, {_COUNTS}"),
    _table("unit_counts", f"code VARCHAR, {_COUNTS}"),
    _table("unit_tags", "code VARCHAR, tag VARCHAR, persons BIGINT"),
    _table("unit_pyramids", "code VARCHAR, sex VARCHAR, age_band VARCHAR, persons BIGINT"),
    # account, quality
    _table(
        "record_outcomes",
        "source VARCHAR, record_id VARCHAR, file VARCHAR, row_number BIGINT, kind VARCHAR, "
        "outcome VARCHAR, quarantine_stage VARCHAR, reason VARCHAR, person_id VARCHAR",
    ),
    _table(
        "quality_sources",
        "source VARCHAR, rows_in BIGINT, validation_rate DOUBLE, link_rate DOUBLE, "
        "as_of VARCHAR, age_days BIGINT, ids_unrecognised_area BIGINT, consistency DOUBLE, "
        "completeness DOUBLE, fields VARCHAR",
    ),
    _table(
        "quality_units",
        "code VARCHAR, resident BIGINT, residence_consistency DOUBLE, ethnicity_known DOUBLE, "
        "household_known DOUBLE, rebuilt_share DOUBLE",
    ),
)

TABLES: Final[dict[str, TableSchema]] = {t.name: t for t in _DECLARED}

_ARROW_TYPES: Final[dict[str, pa.DataType]] = {
    "VARCHAR": pa.string(),
    "BIGINT": pa.int64(),
    "INTEGER": pa.int32(),
    "DOUBLE": pa.float64(),
    "BOOLEAN": pa.bool_(),
    "DATE": pa.date32(),
    "TIMESTAMP": pa.timestamp("us"),
    "BLOB": pa.binary(),
}


def arrow_schema(table: TableSchema) -> pa.Schema:
    """The Arrow schema of a declared table.

    >>> arrow_schema(TABLES["rows_in"]).types
    [DataType(string), DataType(int64)]
    """
    return pa.schema([(c, _ARROW_TYPES[t]) for c, t in table.columns])


def _column(data: pd.DataFrame | pa.Table, name: str) -> pa.Array | pa.ChunkedArray:
    if isinstance(data, pa.Table):
        return data.column(name)
    values = data[name]
    try:
        return pa.array(values, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        # Mixed kinds in one object column (numbers and text): read every value as text.
        return pa.array(
            [None if pd.isna(v) else str(v) for v in values.to_numpy(dtype=object)], pa.string()
        )


def _check_columns(name: str, given: Sequence[str]) -> None:
    extra = [c for c in given if c not in TABLES[name].names]
    if extra:
        raise TableSchemaError(
            f"table {name!r} has no column {', '.join(map(repr, extra))}; its declared "
            f"columns are {TABLES[name].names}. Fix: declare them in popbase.schema.TABLES"
        )


def typed_select_sql(name: str, given: Sequence[str], source: str) -> str:
    """A ``SELECT`` of ``source`` (columns ``given``) as the declared table ``name``.

    >>> print(typed_select_sql("rows_in", ["source"], "new"))
    SELECT CAST("source" AS VARCHAR) AS "source", CAST(NULL AS BIGINT) AS "rows_in" FROM "new"
    """
    parts = [
        f'CAST("{c}" AS {kind}) AS "{c}"' if c in given else f'CAST(NULL AS {kind}) AS "{c}"'
        for c, kind in TABLES[name].columns
    ]
    return f'SELECT {", ".join(parts)} FROM "{source}"'


def conform(name: str, data: pd.DataFrame | pa.Table) -> pa.Table:
    """``data`` as the declared table ``name``: its columns, in order, of their types.

    A declared column ``data`` lacks is all null; a column of no declared name raises,
    as does a value that cannot take its column's type.

    >>> conform("rows_in", pd.DataFrame({"source": [], "rows_in": []})).schema.types
    [DataType(string), DataType(int64)]

    Raises
    ------
    TableSchemaError
        ``data`` has an undeclared column, or a value its column's type cannot hold.
    """
    table = TABLES[name]
    given = list(data.column_names if isinstance(data, pa.Table) else data.columns)
    _check_columns(name, given)
    rows = data.num_rows if isinstance(data, pa.Table) else len(data)
    arrays = []
    for column, kind in table.columns:
        target = _ARROW_TYPES[kind]
        if column not in given:
            arrays.append(pa.nulls(rows, target))
            continue
        values = _column(data, column)
        if values.type == target:
            arrays.append(values)
            continue
        if pa.types.is_null(values.type):
            arrays.append(pa.nulls(rows, target))
            continue
        try:
            arrays.append(values.cast(target))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise TableSchemaError(
                f"column {column!r} of table {name!r} is {values.type}, which cannot be read "
                f"as its declared {kind} ({exc}). Fix: convert it where the table is written"
            ) from exc
    return pa.Table.from_arrays(arrays, schema=arrow_schema(table))


def empty_table_sql(name: str) -> str:
    """``CREATE TABLE`` of the declared table ``name`` with no rows.

    >>> empty_table_sql("rows_in")
    'CREATE TABLE "rows_in" ("source" VARCHAR, "rows_in" BIGINT)'
    """
    columns = ", ".join(f'"{c}" {t}' for c, t in TABLES[name].columns)
    return f'CREATE TABLE "{name}" ({columns})'


def column_types_sql(names: Iterable[str]) -> str:
    """Columns and types of the tables ``names`` as the database holds them."""
    listed = ", ".join(f"'{n}'" for n in names)
    return f"""
        SELECT table_name, column_name, data_type FROM information_schema.columns
        WHERE table_schema = 'main' AND table_name IN ({listed})
        ORDER BY table_name, ordinal_position
    """


def cast_column_sql(name: str, column: str, kind: str) -> str:
    """Cast a column of a table back to its declared type."""
    return (
        f'ALTER TABLE "{name}" ALTER COLUMN "{column}" TYPE {kind} '
        f'USING TRY_CAST("{column}" AS {kind})'
    )


def add_column_sql(name: str, column: str, kind: str) -> str:
    """Add a declared column a table lacks (all null)."""
    return f'ALTER TABLE "{name}" ADD COLUMN "{column}" {kind}'


def conform_tables(db: Backend, names: Iterable[str]) -> list[str]:
    """Make the declared tables ``names`` exist with their declared columns and types.

    A missing table is created empty; a missing column is added; a column of another type
    is cast to the declared one. Returns what was changed, one line each (a table created
    empty because a stage had nothing to write is not a change worth reporting).
    """
    wanted = [n for n in names if n in TABLES]
    if not wanted:
        return []
    held = db.query_df(column_types_sql(wanted))
    by_table = {
        str(t): dict(zip(g["column_name"], g["data_type"], strict=True))
        for t, g in held.groupby("table_name")
    }
    changes: list[str] = []
    for name in wanted:
        actual = by_table.get(name)
        if actual is None:
            db.execute(empty_table_sql(name))
            continue
        for column, kind in TABLES[name].columns:
            if column not in actual:
                db.execute(add_column_sql(name, column, kind))
                changes.append(f"{name}.{column}: added ({kind})")
            elif actual[column] != kind:
                db.execute(cast_column_sql(name, column, kind))
                changes.append(f"{name}.{column}: {actual[column]} cast to {kind}")
    return changes


class DeclaredTables:
    """A backend whose ``put`` and ``append`` cast declared tables to their declaration.

    Everything else passes through to the wrapped backend. Tables that are not declared
    (scratch tables a stage drops again) are stored as given.

    Parameters
    ----------
    backend
        The backend that holds the tables.
    """

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    def _write(self, name: str, data: pd.DataFrame | pa.Table, *, append: bool) -> None:
        write = self.backend.append if append else self.backend.put
        if name not in TABLES:
            write(name, data)
            return
        if isinstance(data, pa.Table):
            # Arrow columns already of their type pass through without a copy.
            write(name, conform(name, data))
            return
        # A DataFrame is cast by the engine as it scans it, so no typed copy of a table
        # of millions of rows is held beside it; a column the engine cannot read as one
        # type (text and numbers mixed in one object column) goes through Arrow instead.
        _check_columns(name, [str(c) for c in data.columns])
        incoming = f"__incoming_{name}"
        select = typed_select_sql(name, [str(c) for c in data.columns], incoming)
        exists = append and self.backend.has_table(name)
        statement = (
            f'INSERT INTO "{name}" BY NAME {select}'
            if exists
            else f'CREATE OR REPLACE TABLE "{name}" AS {select}'
        )
        try:
            with self.backend.registered(incoming, data):
                self.backend.execute(statement)
        except PopbaseError:
            write(name, conform(name, data))

    def put(self, name: str, data: pd.DataFrame | pa.Table) -> None:
        """Store ``data`` as table ``name`` (replacing it), typed as declared."""
        self._write(name, data, append=False)

    def append(self, name: str, data: pd.DataFrame | pa.Table) -> None:
        """Append ``data`` to table ``name`` (created if absent), typed as declared."""
        self._write(name, data, append=True)

    def execute(self, sql: str, params: list[Any] | None = None) -> None:
        """Run a statement that returns nothing."""
        self.backend.execute(sql, params)

    def query_df(self, sql: str, params: list[Any] | None = None) -> pd.DataFrame:
        """Run a query and return its result as a DataFrame."""
        return self.backend.query_df(sql, params)

    def query_arrow(self, sql: str, params: list[Any] | None = None) -> pa.Table:
        """Run a query and return its result as an Arrow table."""
        return self.backend.query_arrow(sql, params)

    def scalar(self, sql: str, params: list[Any] | None = None) -> Any:
        """Run a query that returns one value."""
        return self.backend.scalar(sql, params)

    def has_table(self, name: str) -> bool:
        """Whether table ``name`` exists."""
        return self.backend.has_table(name)

    def registered(self, name: str, data: pd.DataFrame | pa.Table) -> AbstractContextManager[None]:
        """Make ``data`` readable as table ``name`` inside a ``with`` block, without a copy."""
        return self.backend.registered(name, data)

    def to_parquet(self, sql: str, path: Path) -> None:
        """Write a query's result to a Parquet file."""
        self.backend.to_parquet(sql, path)

    def to_arrow_file(self, sql: str, path: Path) -> int:
        """Write a query's result to an Arrow IPC file, batch by batch; return its rows."""
        return self.backend.to_arrow_file(sql, path)

    def close(self) -> None:
        """Release the database."""
        self.backend.close()
