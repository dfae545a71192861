"""The portrait stage: facts and events per person, and the tags the rules give them.

``person_facts`` holds what fact conditions may test (age at the project's as-of date,
its five-year band, ethnicity from the most trusted record that gives one, residency
status, employment, living alone, the household relation, the residence room's origin
and unit); ``person_events`` every dated event of a person's records (业务类型, 备注),
whether a column names its type or the source reads it from its own columns
(:mod:`popbase.portraits.column_events`), and every tag a record's column gives directly.
Each rule of :mod:`popbase.portraits.rules` adds its tags to ``person_tags``, one row per
person and tag, with the source and record that gave it (``facts`` for a fact condition)
and its validity. The deceased carry no tags.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import pandas as pd

from popbase.backends.duckdb_backend import BackendError
from popbase.config import PROJECT_FILE
from popbase.errors import ConfigError
from popbase.portraits.column_events import unknown_tags, unreadable_summary
from popbase.portraits.rules import (
    DEFAULT_RULES,
    DIMENSION_LABELS,
    FACT_COLUMNS,
    TagRule,
    load_rules,
)
from popbase.values.dates import iso_date_sql
from popbase.values.unreadable import record_unreadable

if TYPE_CHECKING:
    from pathlib import Path

    from popbase.context import BuildContext

TAG_COLUMNS = "person_id, tag, source, record_id, valid_from, valid_to"


def _text(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def _day(day: dt.date) -> str:
    return f"DATE '{day.isoformat()}'"


def age_band_sql(age: str) -> str:
    """Five-year age bands, ``0-4`` … ``80-84``, then ``85+``."""
    return (
        f"CASE WHEN {age} IS NULL THEN NULL WHEN {age} >= 85 THEN '85+' "
        f"ELSE CAST({age} // 5 * 5 AS VARCHAR) || '-' || CAST({age} // 5 * 5 + 4 AS VARCHAR) END"
    )


def person_facts_sql(as_of: dt.date) -> str:
    """``person_facts``: one row per person with what fact conditions may test."""
    return f"""
        CREATE OR REPLACE TABLE person_facts AS
        WITH ethnicity AS (
            SELECT m.person_id, trim(r.ethnicity) AS ethnicity
            FROM person_records_valid r JOIN person_members m USING (record_id)
            WHERE nullif(trim(r.ethnicity), '') IS NOT NULL
            QUALIFY row_number() OVER (
                PARTITION BY m.person_id
                ORDER BY r.priority DESC, r.as_of DESC NULLS LAST, r.record_id
            ) = 1
        ),
        room_people AS (SELECT room_id, count(*) AS people FROM lives_in GROUP BY room_id),
        aged AS (
            SELECT g.person_id, g.sex, g.deceased,
                   date_sub('year', CAST(g.birth_date AS DATE), {_day(as_of)}) AS age
            FROM persons_golden g
        )
        SELECT a.person_id, a.sex, a.deceased, a.age, {age_band_sql("a.age")} AS age_band,
               e.ethnicity, s.residency_status,
               a.person_id IN (SELECT person_id FROM works_at) AS employed,
               coalesce(p.people = 1, false) AS lives_alone,
               o.relation AS household_relation, rm.origin AS room_origin,
               coalesce(s.live_code, s.hukou_code) AS division_code
        FROM aged a
        LEFT JOIN ethnicity e USING (person_id)
        LEFT JOIN residency s USING (person_id)
        LEFT JOIN lives_in l USING (person_id)
        LEFT JOIN room_people p ON p.room_id = l.room_id
        LEFT JOIN rooms rm ON rm.room_id = l.room_id
        LEFT JOIN member_of o USING (person_id)
    """


def person_events_sql() -> str:
    """``person_events``: every event of a person's records, and every tag one gives.

    An event comes from a record's event-type field (a column, or the source's constant
    ``event_type``) or from the columns its source reads under ``events:``
    (``record_events``: the value read is the detail, followed by the record's own); a
    column under ``tags:`` gives a tag directly (``tag``, without an event type). An
    event's date is its own, else the record's ``event_date``, else the delivery's as-of
    date (undated events happened by then at the latest).
    """
    record_date = iso_date_sql("r.event_date")
    return f"""
        CREATE OR REPLACE TABLE person_events AS
        WITH events AS (
            SELECT r.record_id, r.source, trim(r.event_type) AS event_type,
                   CAST(NULL AS VARCHAR) AS tag,
                   nullif(trim(r.event_detail), '') AS event_detail,
                   {record_date} AS event_date, r.as_of
            FROM person_records_valid r WHERE nullif(trim(r.event_type), '') IS NOT NULL
            UNION ALL
            SELECT e.record_id, e.source, e.event_type, e.tag,
                   nullif(concat_ws('；', e.value, nullif(trim(r.event_detail), '')), '')
                       AS event_detail,
                   coalesce(e.event_date, {record_date}) AS event_date, r.as_of
            FROM record_events e JOIN person_records_valid r USING (record_id)
        )
        SELECT m.person_id, e.source, e.record_id, e.event_type, e.event_detail,
               coalesce(e.event_date, CAST(e.as_of AS DATE)) AS event_date, e.tag
        FROM events e JOIN person_members m USING (record_id)
    """


def tag_sql(rule: TagRule, as_of: dt.date) -> str:
    """The rows of ``person_tags`` one rule gives (columns :data:`TAG_COLUMNS`)."""
    tag = _text(rule.id)
    period_from = _day(rule.valid_from) if rule.valid_from else "CAST(NULL AS DATE)"
    period_to = _day(rule.valid_to) if rule.valid_to else "CAST(NULL AS DATE)"
    if rule.fact is not None:
        # A fact tag, or the same tag a record gives directly: one row per person, the
        # facts first.
        return f"""
            SELECT person_id, {tag}, source, record_id, valid_from, valid_to FROM (
                SELECT person_id, 'facts' AS source, CAST(NULL AS VARCHAR) AS record_id,
                       {period_from} AS valid_from, {period_to} AS valid_to
                FROM person_facts WHERE NOT deceased AND coalesce(({rule.fact}), false)
                UNION ALL
                SELECT e.person_id, e.source, e.record_id,
                       {period_from if rule.valid_from else "e.event_date"}, {period_to}
                FROM person_events e JOIN person_facts f USING (person_id)
                WHERE e.tag = {tag} AND NOT f.deceased
            )
            QUALIFY row_number() OVER (
                PARTITION BY person_id ORDER BY record_id NULLS FIRST, valid_from DESC
            ) = 1
        """
    events = ", ".join(_text(e) for e in rule.event or [])
    # The rule's events, narrowed by detail and source; or a record's column that gives
    # the tag directly (its dates count like an event's).
    by_event = [f"e.event_type IN ({events})"]
    if rule.detail_contains:
        by_event.append(f"contains(coalesce(e.event_detail, ''), {_text(rule.detail_contains)})")
    if rule.sources:
        by_event.append(f"e.source IN ({', '.join(_text(s) for s in rule.sources)})")
    where = [f"(({' AND '.join(by_event)}) OR e.tag = {tag})", "NOT f.deceased"]
    if rule.valid_from:
        where.append(f"e.event_date >= {_day(rule.valid_from)}")
    if rule.valid_to:
        where.append(f"e.event_date <= {_day(rule.valid_to)}")
    valid_to = period_to
    if rule.within_days:
        # Still valid on the as-of date: an event without a date cannot be placed in time.
        valid_to = f"e.event_date + {rule.within_days}"
        where.append(f"e.event_date + {rule.within_days} >= {_day(as_of)}")
    valid_from = period_from if rule.valid_from else "e.event_date"
    return f"""
        SELECT e.person_id, {tag}, e.source, e.record_id, {valid_from}, {valid_to}
        FROM person_events e JOIN person_facts f USING (person_id)
        WHERE {" AND ".join(where)}
        QUALIFY row_number() OVER (
            PARTITION BY e.person_id ORDER BY e.event_date DESC NULLS LAST, e.record_id
        ) = 1
    """


def tag_definitions(rules: list[TagRule]) -> pd.DataFrame:
    """The ``tags`` table: each tag's labels and dimension."""
    return pd.DataFrame(
        {
            "tag": [r.id for r in rules],
            "label": [r.label for r in rules],
            "label_en": [r.label_en or r.id for r in rules],
            "dimension": [r.dimension for r in rules],
            "dimension_label": [DIMENSION_LABELS[r.dimension] for r in rules],
            "kind": ["fact" if r.fact is not None else "event" for r in rules],
        }
    )


def _rules_file(ctx: BuildContext) -> Path:
    configured = ctx.project.config.portraits.rules
    return ctx.project.path(configured) if configured else DEFAULT_RULES


def tag_persons(ctx: BuildContext) -> dict[str, Any]:
    """Compute facts and events, then every rule's tags; count persons per tag."""
    db = ctx.db
    file = _rules_file(ctx)
    rules = load_rules(file).tags
    unknown = unknown_tags(ctx.project.config.sources, [r.id for r in rules])
    if unknown:
        raise ConfigError(ctx.project.root / PROJECT_FILE, [text for _, text in unknown])
    as_of = ctx.project.config.project.as_of or dt.date.today()
    db.execute(person_facts_sql(as_of))
    db.execute(person_events_sql())
    db.execute(
        "CREATE OR REPLACE TABLE person_tags (person_id VARCHAR, tag VARCHAR, source VARCHAR, "
        "record_id VARCHAR, valid_from DATE, valid_to DATE)"
    )
    problems = []
    for rule in rules:
        try:
            db.execute(f"INSERT INTO person_tags ({TAG_COLUMNS}) {tag_sql(rule, as_of)}")
        except BackendError as exc:
            reason = str(exc).splitlines()[0]
            problems.append(
                f"tag {rule.id!r}: its fact {rule.fact!r} does not run ({reason}); a fact may "
                f"use {', '.join(FACT_COLUMNS)}"
            )
    if problems:
        raise ConfigError(file, problems)
    db.put("tags", tag_definitions(rules))
    unreadable = unreadable_summary(db)
    record_unreadable(db, "portrait", [{"stage": "portrait", **s} for s in unreadable])
    counts = db.query_df("SELECT tag, count(*) AS n FROM person_tags GROUP BY tag")
    per_tag = dict(zip(counts["tag"], counts["n"].astype(int), strict=True))
    return {
        "tags": len(rules),
        "persons_tagged": {r.id: per_tag.get(r.id, 0) for r in rules},
        # Per source and column under `events:`/`tags:`, the values no entry reads.
        "unreadable": unreadable,
    }
