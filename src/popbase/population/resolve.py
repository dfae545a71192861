"""The resolve stage: records into persons, on valid ID numbers, then probabilistically.

Every record with a valid resident ID belongs to the person with that ID; the person's id
is a keyed pseudonym of the ID number (see :mod:`popbase.security.pseudonym`), so it is
the same in every build. Records without a reliable ID then join the person they most
probably belong to (see :mod:`popbase.population.probabilistic`), taking that person's
id, so ids stay stable as deliveries come and go; a listed resident whom none matches
founds a person of its own (see :mod:`popbase.population.unidentified`). Within a
person, records are ranked by source trust priority, then recency: the first is
*accepted* (it founds the person), the rest are *merged*.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from popbase.population.probabilistic import link_unknown_records
from popbase.population.unidentified import found_unidentified
from popbase.security.pseudonym import keyed_ids, pseudonym_key

if TYPE_CHECKING:
    from popbase.context import BuildContext


def person_ids(id_numbers: Sequence[str], key: str) -> list[str]:
    """Keyed pseudonyms ``P`` + 16 hex digits of distinct ID numbers, in their order.

    Examples
    --------
    >>> a, b = person_ids(["310112199001011234", "310112199001015678"], "k")
    >>> a != b and a.startswith("P") and len(a) == 17
    True
    >>> person_ids(["310112199001011234"], "k") == [a]
    True
    """
    return keyed_ids("P", id_numbers, key)


def person_keys_sql() -> str:
    """Each valid record's person id, by the pseudonyms of distinct IDs (``id_pseudonyms``)."""
    return """
        CREATE OR REPLACE TABLE person_keys AS
        SELECT r.record_id, r.id18, p.person_id
        FROM person_records_valid r JOIN id_pseudonyms p USING (id18)
    """


def members_sql() -> str:
    """Rank each person's records: trust priority, then as-of date, then record id."""
    return """
        CREATE OR REPLACE TABLE person_members AS
        SELECT r.record_id, r.source, k.person_id, r.priority, r.as_of,
               row_number() OVER (
                   PARTITION BY k.person_id
                   ORDER BY r.priority DESC, r.as_of DESC NULLS LAST, r.record_id
               ) AS rank_in_person
        FROM person_records_valid r JOIN person_keys k USING (record_id)
    """


def resolve_persons(ctx: BuildContext) -> dict[str, Any]:
    """Give every valid person record its person id."""
    db = ctx.db
    ids = db.query_arrow("SELECT DISTINCT id18 FROM person_records_valid").column("id18")
    key = pseudonym_key(ctx.project.output_dir)
    pseudonyms = pa.table(
        {"id18": ids, "person_id": pa.array(person_ids(ids.to_pylist(), key), pa.string())}
    )
    with db.registered("id_pseudonyms", pseudonyms):
        db.execute(person_keys_sql())
    probable = link_unknown_records(ctx)
    unidentified = found_unidentified(ctx)
    db.execute(members_sql())
    persons = int(db.scalar("SELECT count(DISTINCT person_id) FROM person_members") or 0)
    merged = int(db.scalar("SELECT count(*) FROM person_members WHERE rank_in_person > 1") or 0)
    return {
        "persons": persons,
        "records_merged": merged,
        **probable,
        "records_of_unidentified_residents": unidentified,
    }
