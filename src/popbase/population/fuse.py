"""The fuse stage: one golden record per person, each value traceable to its source.

Sex and birth date come from the ID number itself (GB 11643 encodes both), with the
record that gave the ID (``id_source``, ``id_record``) — for a person known by no ID (see
:mod:`popbase.population.unidentified`), from the most trusted record that states them,
else from what its records' mistyped IDs still tell (``id_claimed_sex``, ``id_claimed_birth_date``);
the name from the most trusted,
most recent record that has one (``name_source``, ``name_record``, ``name_as_of``). A
person is deceased when a source says so in its status column (``person_status`` read as
``deceased``: 死亡, 已故, 注销（死亡） …) or records an event only the dead are the
subject of (the vocabulary's ``event_type`` words for ``death``: 殡葬服务, 火化, 死亡登记 …),
in its event-type field or in a column its source reads under ``events:``.
Records that disagree with the ID on sex or birth date are counted as conflicts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from popbase.context import BuildContext


def _texts(words: Sequence[str]) -> str:
    """SQL string literals, comma-separated (``NULL`` for none: ``IN (NULL)`` is never true)."""
    return ", ".join("'" + w.replace("'", "''") + "'" for w in words) or "NULL"


def golden_persons_sql(death_events: Sequence[str]) -> str:
    """Golden person rows with per-attribute provenance.

    ``death_events`` are the event types only the dead are the subject of (民政 funeral and
    death registrations).
    """
    events = _texts(death_events)
    return f"""
        CREATE OR REPLACE TABLE persons_golden AS
        WITH ranked AS (
            SELECT m.person_id, m.rank_in_person, r.*,
                   -- A death a column of the record gives (`events:` of its source).
                   r.record_id IN (
                       SELECT record_id FROM record_events WHERE event_type IN ({events})
                   ) AS death_event
            FROM person_members m JOIN person_records_valid r USING (record_id)
        ),
        named AS (
            SELECT person_id, arg_min(name, rank_in_person) AS name,
                   arg_min(source, rank_in_person) AS name_source,
                   arg_min(record_id, rank_in_person) AS name_record,
                   arg_min(as_of, rank_in_person) AS name_as_of
            FROM ranked WHERE name IS NOT NULL AND trim(name) <> '' GROUP BY person_id
        ),
        base AS (
            SELECT person_id, any_value(id18) AS id18,
                   coalesce(
                       any_value(id_sex),
                       arg_min(sex_norm, rank_in_person) FILTER (WHERE sex_norm IS NOT NULL),
                       arg_min(id_claimed_sex, rank_in_person)
                           FILTER (WHERE id_claimed_sex IS NOT NULL)
                   ) AS sex,
                   coalesce(
                       any_value(id_birth_date),
                       arg_min(CAST(birth_date_norm AS DATE), rank_in_person)
                           FILTER (WHERE birth_date_norm IS NOT NULL),
                       arg_min(id_claimed_birth_date, rank_in_person)
                           FILTER (WHERE id_claimed_birth_date IS NOT NULL)
                   ) AS birth_date,
                   arg_min(source, rank_in_person) FILTER (WHERE id18 IS NOT NULL) AS id_source,
                   arg_min(record_id, rank_in_person) FILTER (WHERE id18 IS NOT NULL)
                       AS id_record,
                   bool_or(
                       coalesce(person_status = 'deceased', false)
                       OR coalesce(trim(event_type), '') IN ({events})
                       OR death_event
                   ) AS deceased,
                   count(*) AS records,
                   count(DISTINCT source) AS sources,
                   count(*) FILTER (WHERE sex_norm <> id_sex) AS sex_conflicts,
                   count(*) FILTER (
                       WHERE CAST(birth_date_norm AS DATE) <> CAST(id_birth_date AS DATE)
                   ) AS birth_conflicts
            FROM ranked GROUP BY person_id
        )
        SELECT b.*, n.name, n.name_source, n.name_record, n.name_as_of
        FROM base b LEFT JOIN named n USING (person_id)
    """


def fuse_persons(ctx: BuildContext) -> dict[str, Any]:
    """Build the golden record of every person."""
    db = ctx.db
    db.execute(golden_persons_sql(ctx.project.vocabulary.words("event_type", "death")))
    row = db.query_df(
        "SELECT count(*) AS persons, sum(deceased::INT) AS deceased, "
        "sum(sex_conflicts) AS sex_conflicts, sum(birth_conflicts) AS birth_conflicts "
        "FROM persons_golden"
    ).iloc[0]
    return {str(k): int(v or 0) for k, v in row.items()}
