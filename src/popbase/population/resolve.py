"""The resolve stage: records into persons, on valid ID numbers, then probabilistically.

Every record with a valid resident ID belongs to the person with that ID; the person's id
is a keyed pseudonym of the ID number (see :mod:`popbase.security.pseudonym`), so it is
the same in every build. Records without a reliable ID then join the person they most
probably belong to (see :mod:`popbase.population.probabilistic`), taking that person's
id, so ids stay stable as deliveries come and go. Within a person, records are ranked by
source trust priority, then recency: the first is *accepted* (it founds the person), the
rest are *merged*.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import TYPE_CHECKING, Any

import pandas as pd

from popbase.population.probabilistic import link_unknown_records
from popbase.security.pseudonym import pseudonym_key

if TYPE_CHECKING:
    from popbase.pipeline import BuildContext


def person_ids(id_numbers: pd.Series, key: str) -> pd.Series:
    """Keyed pseudonyms ``P`` + 16 hex digits, computed once per distinct ID number.

    Examples
    --------
    >>> person_ids(pd.Series(["310112199001011234", "310112199001011234"]), "k").nunique()
    1
    """
    codes, uniques = pd.factorize(id_numbers)
    secret = key.encode()
    ids = [
        "P" + hmac.new(secret, str(u).encode(), hashlib.sha256).hexdigest()[:16] for u in uniques
    ]
    return pd.Series(pd.Index(ids, dtype=object)[codes], index=id_numbers.index, dtype=object)


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
    records = db.query_df("SELECT record_id, id18 FROM person_records_valid")
    key = pseudonym_key(ctx.project.output_dir)
    keys = pd.DataFrame(
        {
            "record_id": records["record_id"],
            "id18": records["id18"],
            "person_id": person_ids(records["id18"], key),
        }
    )
    db.put("person_keys", keys)
    probable = link_unknown_records(ctx)
    db.execute(members_sql())
    persons = int(db.scalar("SELECT count(DISTINCT person_id) FROM person_members") or 0)
    merged = int(db.scalar("SELECT count(*) FROM person_members WHERE rank_in_person > 1") or 0)
    return {"persons": persons, "records_merged": merged, **probable}
