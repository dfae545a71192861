"""Residents listed without a usable ID number whom no known person matches (身份待核实).

A ledger row with a missing or mistyped ID number that probabilistic resolution links to
no known person, and that no reviewer is asked about, is still someone listed as living
in a room. When the row gives a full name, a birth date and a residence address linked
to a room, it founds a person of its own — one per name, birth date and room, so the
repeated rows of one person stay one person. The birth date is the row's own or, in a
ledger without one, the one its mistyped ID still tells (``claimed_id_parts``, see
:mod:`popbase.population.mistyped_id`), which also gives the person's sex. Its id is
``U`` + a keyed pseudonym of those three, stable from build to build while they are.
Such persons count where they live, and the quality report and review lists show them as
identities to verify; rows short of any of the three stay in quarantine with their ID
reason.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyarrow as pa

from popbase.population.probabilistic import UNKNOWN_IDS, admit_records_sql
from popbase.security.pseudonym import keyed_ids, pseudonym_key
from popbase.values.dates import iso_date_sql

if TYPE_CHECKING:
    from popbase.context import BuildContext


def unidentified_rows_sql() -> str:
    """Rows still set aside for their ID, unclaimed, with a name, birth date and room.

    The birth date is the row's own, else the one its mistyped ID tells.
    """
    birth = f"coalesce({iso_date_sql('r.birth_date')}, c.id_claimed_birth_date)"
    return f"""
        SELECT DISTINCT ON (r.record_id) r.record_id,
               f.name || '|' || strftime({birth}, '%Y-%m-%d') || '|' || l.room_id AS identity
        FROM person_records r
        JOIN name_forms f ON f.raw = r.name
        JOIN record_links l ON l.record_id = r.record_id AND l.address_kind = 'residence'
        LEFT JOIN claimed_id_parts c ON c.record_id = r.record_id
        WHERE r.record_id IN ({UNKNOWN_IDS})
          AND r.record_id NOT IN (SELECT record_id FROM probable_links)
          AND f.name IS NOT NULL AND length(f.name) >= 2
          AND {birth} IS NOT NULL AND l.room_id IS NOT NULL
        ORDER BY r.record_id
    """


def unidentified_ids(identities: list[str], key: str) -> list[str]:
    """``U`` + 16 hex digits: a keyed pseudonym of each name|birth date|room.

    Examples
    --------
    >>> a, b = unidentified_ids(["张三|1990-01-01|r1", "张三|1990-01-01|r2"], "k")
    >>> a != b and a.startswith("U") and len(a) == 17
    True
    """
    return keyed_ids("U", identities, key)


def found_unidentified(ctx: BuildContext) -> int:
    """Make each unclaimed, listed row a record of its own person; return the rows."""
    db = ctx.db
    if not ctx.project.config.resolution.unidentified_residents:
        return 0
    rows = db.query_arrow(unidentified_rows_sql())
    if rows.num_rows == 0:
        return 0
    key = pseudonym_key(ctx.project.output_dir)
    ids = unidentified_ids(rows.column("identity").to_pylist(), key)
    keys = pa.table({"record_id": rows.column("record_id"), "person_id": pa.array(ids)})
    with db.registered("unidentified_keys", keys):
        for sql in admit_records_sql("SELECT record_id, person_id FROM unidentified_keys"):
            db.execute(sql)
    return int(rows.num_rows)
