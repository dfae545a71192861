"""Months of residence (居住时长): how long a person has lived here, from every record that says.

常住 and 流动 differ by six months of residence (:data:`USUAL_RESIDENCE_MONTHS`). The
months come, in this order (the months rules of
:mod:`popbase.population.residency_rules`):

``months_given``, ``months_since``
    The most trusted, most recent record that gives the months (``residence_months``: a
    ledger's 居住时长, an operator's 本地驻留月数) or the date residence began
    (``residence_since``, in any date form the validate stage reads), counted to the
    project's as-of date.
``months_from_dated_record``
    The earliest dated record (``event_date``: a family-doctor signing, a civil-affairs
    case, a hotline ticket) whose residence address links to the very room the person
    lives in: the person has lived there at least since. A lower bound; it decides 常住
    at six months or more.
``stated``
    A record's 人户状态 that says 人在户不在（流动） or （常住）.
``months_unknown``
    None of these: counted 常住 and flagged.
"""

from __future__ import annotations

import datetime as dt

from popbase.values.dates import iso_date_sql

# Months of residence from which a person registered elsewhere counts as 常住.
USUAL_RESIDENCE_MONTHS = 6
# Statuses a record may state that tell 常住 from 流动.
STATED_LENGTHS = ("present_resident", "present_floating")


def _until(as_of: dt.date | None, fallback: str) -> str:
    return f"DATE '{as_of.isoformat()}'" if as_of else f"CAST({fallback} AS DATE)"


def months_given_sql(as_of: dt.date | None) -> str:
    """Per person: months from the best record giving months or a start date, and which.

    >>> "months_given" in months_given_sql(dt.date(2026, 10, 31))
    True
    """
    until = _until(as_of, "as_of")
    return f"""
        SELECT person_id, coalesce(given, date_diff('month', since, {until})) AS months,
               CASE WHEN given IS NOT NULL THEN 'months_given' ELSE 'months_since' END
                   AS months_rule
        FROM (
            SELECT m.person_id, r.priority, r.as_of, r.record_id,
                   TRY_CAST(r.residence_months AS INTEGER) AS given,
                   {iso_date_sql("r.residence_since")} AS since
            FROM person_records_valid r JOIN person_members m USING (record_id)
        )
        WHERE given IS NOT NULL OR since IS NOT NULL
        QUALIFY row_number() OVER (
            PARTITION BY person_id ORDER BY priority DESC, as_of DESC NULLS LAST, record_id
        ) = 1
    """


def months_from_dated_records_sql(as_of: dt.date | None) -> str:
    """Per person: months since the earliest dated record that gives their present room.

    Any source counts whose row links a residence address to the room the person lives
    in (``lives_in``) and carries a date (``event_date``) no earlier than the person's
    birth.
    """
    until = _until(as_of, "min(r.as_of)")
    born = "CAST(g.birth_date AS DATE)"
    return f"""
        SELECT l.person_id,
               date_diff('month', min({iso_date_sql("r.event_date")}), {until}) AS months
        FROM lives_in l
        JOIN person_members m USING (person_id)
        JOIN record_links k ON k.record_id = m.record_id
             AND k.address_kind = 'residence' AND k.room_id = l.room_id
        JOIN person_records_valid r ON r.record_id = m.record_id
        JOIN persons_golden g ON g.person_id = l.person_id
        WHERE {iso_date_sql("r.event_date")} IS NOT NULL
          -- A date before the person was born is a slip of the record, not a stay.
          AND {iso_date_sql("r.event_date")} >= coalesce({born}, DATE '0001-01-01')
        GROUP BY l.person_id
    """


def stated_length_sql() -> str:
    """Per person: 常住 or 流动 as the most trusted, most recent record states it."""
    stated = ", ".join(f"'{s}'" for s in STATED_LENGTHS)
    return f"""
        SELECT m.person_id, r.household_status AS stated
        FROM person_records_valid r JOIN person_members m USING (record_id)
        WHERE r.household_status IN ({stated})
        QUALIFY row_number() OVER (
            PARTITION BY m.person_id ORDER BY r.priority DESC, r.as_of DESC NULLS LAST, r.record_id
        ) = 1
    """


def months_here_sql(as_of: dt.date | None) -> str:
    """Per person with any evidence: ``months``, the 常住/流动 ``length`` and the rule.

    ``length`` is ``present_resident`` or ``present_floating``; a person without any
    evidence is not in the result (the residency stage flags them ``months_unknown``).
    """
    usual = USUAL_RESIDENCE_MONTHS
    return f"""
        WITH given AS ({months_given_sql(as_of)}),
        dated AS ({months_from_dated_records_sql(as_of)}),
        stated AS ({stated_length_sql()}),
        persons AS (
            SELECT person_id FROM given UNION SELECT person_id FROM dated
            UNION SELECT person_id FROM stated
        )
        SELECT p.person_id,
               coalesce(g.months, d.months) AS months,
               CASE
                   WHEN g.months IS NOT NULL THEN g.months_rule
                   WHEN d.months >= {usual} THEN 'months_from_dated_record'
                   WHEN s.stated IS NOT NULL THEN 'stated'
               END AS months_rule,
               CASE
                   WHEN g.months IS NOT NULL
                       THEN CASE WHEN g.months >= {usual}
                                 THEN 'present_resident' ELSE 'present_floating' END
                   WHEN d.months >= {usual} THEN 'present_resident'
                   ELSE s.stated
               END AS length
        FROM persons p
        LEFT JOIN given g USING (person_id)
        LEFT JOIN dated d USING (person_id)
        LEFT JOIN stated s USING (person_id)
    """
