"""The account stage: where every input row ended.

Each row of each source ends in exactly one of: *accepted* (it founded a person, an
enterprise, a room, or is a signaling count), *merged* (into a person, enterprise or room
that another row founded), or *quarantined* (with the reason of the first stage that set
it aside). Per source, ``rows_in = accepted + merged + quarantined`` and ``unaccounted``
(which must be 0) is the difference, computed independently from the ingest counts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from popbase.context import INGEST_REASONS

if TYPE_CHECKING:
    from popbase.context import BuildContext

STAGE_ORDER = ("ingest", "validate", "match", "resolve", "link")


def outcomes_sql() -> str:
    """One outcome row per input row (quarantine wins; the earliest stage's reason)."""
    order = " ".join(f"WHEN '{s}' THEN {i}" for i, s in enumerate(STAGE_ORDER))
    # Rows set aside at ingest are in no records table: their kind says why.
    kinds = " ".join(f"WHEN '{r}' THEN '{k}'" for r, k in INGEST_REASONS.items())
    reasons = ", ".join(f"'{r}'" for r in INGEST_REASONS)
    return f"""
        CREATE OR REPLACE TABLE record_outcomes AS
        WITH q AS (
            SELECT record_id, arg_min(reason, CASE stage {order} ELSE 99 END) AS reason,
                   arg_min(stage, CASE stage {order} ELSE 99 END) AS stage
            FROM quarantine GROUP BY record_id
        ),
        everything AS (
            SELECT source, record_id, file, row_number, 'person' AS kind FROM person_records
            UNION ALL
            SELECT source, record_id, file, row_number, 'enterprise' FROM enterprise_records
            UNION ALL
            SELECT source, record_id, file, row_number, 'room' FROM room_records
            UNION ALL
            SELECT source, record_id, file, row_number, 'signaling' FROM signaling_records
            UNION ALL
            SELECT source, record_id, file, row_number, CASE reason {kinds} END FROM quarantine
            WHERE stage = 'ingest' AND reason IN ({reasons})
        ),
        enterprise_rank AS (
            SELECT record_id, row_number() OVER (
                PARTITION BY credit_code_norm
                ORDER BY priority DESC, as_of DESC NULLS LAST, record_id
            ) AS r
            FROM enterprise_records_valid
        ),
        room_rank AS (
            SELECT record_id, row_number() OVER (PARTITION BY room_id ORDER BY record_id) AS r
            FROM room_record_links WHERE room_id IS NOT NULL
        )
        SELECT e.source, e.record_id, e.file, e.row_number, e.kind,
               CASE
                   WHEN q.record_id IS NOT NULL THEN 'quarantined'
                   WHEN e.kind = 'person' AND m.rank_in_person = 1 THEN 'accepted'
                   WHEN e.kind = 'person' AND m.rank_in_person > 1 THEN 'merged'
                   WHEN e.kind = 'enterprise' AND er.r = 1 THEN 'accepted'
                   WHEN e.kind = 'enterprise' AND er.r > 1 THEN 'merged'
                   WHEN e.kind = 'room' AND rr.r = 1 THEN 'accepted'
                   WHEN e.kind = 'room' AND rr.r > 1 THEN 'merged'
                   WHEN e.kind = 'signaling' THEN 'accepted'
                   ELSE NULL
               END AS outcome,
               q.stage AS quarantine_stage, q.reason, m.person_id
        FROM everything e
        LEFT JOIN q USING (record_id)
        LEFT JOIN person_members m USING (record_id)
        LEFT JOIN enterprise_rank er USING (record_id)
        LEFT JOIN room_rank rr USING (record_id)
    """


def accounting_sql() -> str:
    """Per source: rows in (from ingest), accepted, merged, quarantined, unaccounted."""
    return """
        SELECT i.source, i.rows_in,
               count(*) FILTER (WHERE o.outcome = 'accepted') AS accepted,
               count(*) FILTER (WHERE o.outcome = 'merged') AS merged,
               count(*) FILTER (WHERE o.outcome = 'quarantined') AS quarantined,
               count(*) FILTER (WHERE o.outcome IS NULL AND o.record_id IS NOT NULL) AS unresolved
        FROM rows_in i LEFT JOIN record_outcomes o USING (source)
        GROUP BY i.source, i.rows_in ORDER BY i.source
    """


def account_records(ctx: BuildContext) -> dict[str, Any]:
    """Work out every row's outcome and the per-source accounting."""
    db = ctx.db
    db.execute(outcomes_sql())
    table = db.query_df(accounting_sql())
    reasons = db.query_df(
        "SELECT source, reason, count(*) AS n FROM record_outcomes WHERE outcome = 'quarantined' "
        "GROUP BY source, reason ORDER BY source, n DESC"
    )
    files = db.query_df(
        "SELECT source, file, reason, message FROM source_files WHERE status = 'quarantined'"
    )
    accounting: dict[str, dict[str, Any]] = {}
    for row in table.to_dict("records"):
        n = {k: int(row[k]) for k in ("rows_in", "accepted", "merged", "quarantined", "unresolved")}
        settled = n["accepted"] + n["merged"] + n["quarantined"]
        # Rows counted at ingest but missing or doubled here, or left without an outcome.
        unaccounted = abs(n["rows_in"] - settled) + n["unresolved"]
        mine = reasons[reasons["source"] == row["source"]]
        accounting[str(row["source"])] = {
            "rows_in": n["rows_in"],
            "accepted": n["accepted"],
            "merged": n["merged"],
            "quarantined": n["quarantined"],
            "unaccounted": unaccounted,
            "quarantined_by_reason": dict(
                zip(mine["reason"].astype(str), mine["n"].astype(int), strict=True)
            ),
            "files_quarantined": files[files["source"] == row["source"]]
            .drop(columns="source")
            .to_dict("records"),
        }
    ctx.report["accounting"] = accounting
    return {"unaccounted": sum(a["unaccounted"] for a in accounting.values())}
