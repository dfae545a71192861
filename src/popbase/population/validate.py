"""The validate stage: values read into one form, identifiers checked, bad rows quarantined.

Dates, numbers and words of every record are first read into canonical form (ISO dates,
canonical codes; see :mod:`popbase.values.records`), what cannot be read counted.

Person records need a valid resident ID number (GB 11643) to be resolved in this build:
a row whose ID is missing, mistyped or impossible is quarantined with the validator's
reason code (records without a reliable ID wait for probabilistic resolution). 15-digit
legacy IDs are upgraded; IDs issued under abolished area codes are valid and flagged.
A mistyped ID (its check character does not match) still tells the row's area code,
birth date and sex where they are plausible (see :mod:`popbase.population.mistyped_id`):
they are kept in ``claimed_id_parts`` as evidence for resolution, never as an identity.
Enterprise records need a valid unified social credit code (GB 32100); signaling rows a
known grid and an hour 0-23.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from popbase.context import quarantine_rows
from popbase.io.tables import ARROW_TEXT
from popbase.population.credit_code import validate_credit_codes
from popbase.population.mistyped_id import CHECKSUM_REASON, claimed_parts_of
from popbase.population.person_name import NAME_FIXES, is_valid_name, normalize_names
from popbase.population.resident_id import validate_id_numbers
from popbase.values.dates import iso_date_sql
from popbase.values.records import read_record_values

if TYPE_CHECKING:
    from popbase.context import BuildContext

ID_DETAIL = {
    "id_missing": "no resident ID number; such records need probabilistic resolution",
    "id_bad_length": "the ID number has neither 18 nor 15 characters",
    "id_bad_chars": "the ID number has characters other than digits and a final X",
    "id_bad_checksum": "the check digit does not match (a mistyped digit); the area code, "
    "birth date and sex it still gives are kept as evidence, not as an identity",
    "id_bad_birth_date": "the birth date inside the ID number is not a real date",
    "id_future_birth_date": "the birth date inside the ID number lies in the future",
    "id_unknown_area": "the ID's first two digits are no province's code",
}


def quarantine_invalid_ids_sql() -> str:
    """Quarantine entries for person rows whose ID number failed validation.

    ``person_id_checks`` holds one verdict per row of ``person_records``, keyed by its
    ``rowid`` (an integer join is far cheaper than one on record ids).
    """
    return """
        INSERT INTO quarantine
        SELECT r.source, r.record_id, r.file, r.row_number, 'validate', c.reason, c.detail
        FROM person_records r JOIN person_id_checks c ON r.rowid = c.row_key
        WHERE NOT c.valid
    """


def valid_persons_sql() -> str:
    """Valid person rows with the ID's facts, and their sex and birth date as read."""
    return f"""
        CREATE OR REPLACE TABLE person_records_valid AS
        SELECT r.*, c.id18, c.id_sex, c.id_birth_date, c.id_historical_area, c.id_upgraded,
               c.id_unrecognised_area, r.sex AS sex_norm,
               {iso_date_sql("r.birth_date")} AS birth_date_norm,
               -- None on valid rows: the columns of rows admitted later (mistyped IDs).
               c.id_claimed_sex, c.id_claimed_birth_date, c.id_claimed_area_code
        FROM person_records r JOIN person_id_checks c ON r.rowid = c.row_key
        WHERE c.valid
    """


def claimed_parts_sql() -> str:
    """What each row with a mistyped ID still tells, by record id (few rows: kept apart)."""
    return f"""
        CREATE OR REPLACE TABLE claimed_id_parts AS
        SELECT r.record_id, c.id_claimed_sex, c.id_claimed_birth_date, c.id_claimed_area_code
        FROM person_records r JOIN person_id_checks c ON r.rowid = c.row_key
        WHERE c.reason = '{CHECKSUM_REASON}'
    """


def _text(values: pd.Series) -> pa.Array:
    """A text column (None or NaN where missing) as an Arrow string array."""
    return pa.array(values.to_numpy(dtype=object), pa.string(), from_pandas=True)


def _date(values: pd.Series) -> pa.Array:
    """``YYYY-MM-DD`` texts (None where missing) as an Arrow date array."""
    return pc.cast(pc.strptime(_text(values), format="%Y-%m-%d", unit="s"), pa.date32())


def id_checks_table(
    row_keys: pa.Array | pa.ChunkedArray, check: pd.DataFrame, claimed: pd.DataFrame
) -> pa.Table:
    """The verdicts of `validate_id_numbers` as an Arrow table keyed by ``row_key``.

    With them, what the mistyped numbers still tell (`claimed_parts_of`).
    """
    valid = check["valid"].to_numpy(dtype=bool)
    reason = check["reason"].where(valid, check["reason"].fillna("id_missing"))
    return pa.table(
        {
            "row_key": row_keys,
            "valid": pa.array(valid),
            "reason": _text(reason),
            "detail": _text(reason.map(ID_DETAIL)),
            "id18": _text(check["normalized"]),
            "id_sex": _text(check["sex"]),
            "id_birth_date": _date(check["birth_date"]),
            "id_historical_area": pa.array(check["historical_area"].to_numpy(dtype=bool)),
            "id_unrecognised_area": pa.array(check["unrecognised_area"].to_numpy(dtype=bool)),
            "id_upgraded": pa.array(check["upgraded_from_15"].to_numpy(dtype=bool)),
            "id_claimed_sex": _text(claimed["claimed_sex"]),
            "id_claimed_birth_date": _date(claimed["claimed_birth_date"]),
            "id_claimed_area_code": _text(claimed["claimed_area_code"]),
        }
    )


def _validate_persons(ctx: BuildContext) -> dict[str, int]:
    db = ctx.db
    ids = db.query_arrow("SELECT rowid AS row_key, id_number FROM person_records")
    as_of = ctx.project.config.project.as_of
    check = validate_id_numbers(
        ids.column("id_number").to_pandas(types_mapper={pa.string(): ARROW_TEXT}.get),
        as_of=as_of,
    )
    claimed = claimed_parts_of(check, as_of)
    checks = id_checks_table(ids.column("row_key"), check, claimed)
    # Read three times, then dropped: scanned where it lies rather than stored.
    with db.registered("person_id_checks", checks):
        db.execute(quarantine_invalid_ids_sql())
        db.execute(valid_persons_sql())
        db.execute(claimed_parts_sql())
    ok = check["valid"].to_numpy(dtype=bool)
    return {
        "person_rows_valid": int(ok.sum()),
        "person_rows_quarantined": int((~ok).sum()),
        "ids_upgraded_from_15": int(check["upgraded_from_15"].sum()),
        "ids_historical_area": int(check["historical_area"].sum()),
        "ids_unrecognised_area": int(check["unrecognised_area"].sum()),
        # Mistyped IDs whose birth date is still plausible: evidence for resolution.
        "ids_mistyped_with_birth_date": int(claimed["claimed_birth_date"].notna().sum()),
        **_fix_names(ctx),
    }


def _fix_names(ctx: BuildContext) -> dict[str, int]:
    """Normalise the names of valid person rows; record each fix in ``name_fixes``.

    A name that is still unusual (digits, punctuation) is kept and counted: the ID
    number, not the name, decides whether a record is usable.
    """
    db = ctx.db
    # A name of basic Han characters only is its own normal form: only the rest are read.
    names = db.query_df(
        "SELECT record_id, name FROM person_records_valid "
        "WHERE regexp_matches(name, '[^\u4e00-\u9fff]')"
    )
    fixed = normalize_names(names["name"])
    changed = (fixed["name_norm"] != names["name"]).to_numpy()
    fixes = pd.DataFrame(
        {
            "record_id": names.loc[changed, "record_id"].to_numpy(dtype=object),
            "original": names.loc[changed, "name"].to_numpy(dtype=object),
            "name": fixed.loc[changed, "name_norm"].to_numpy(dtype=object),
            "fixes": fixed.loc[changed, "name_fixes"].to_numpy(dtype=object),
        }
    )
    db.put("name_fixes", fixes)
    db.execute(
        "UPDATE person_records_valid SET name = f.name FROM name_fixes f "
        "WHERE person_records_valid.record_id = f.record_id"
    )
    counts = {
        f"names_fixed_{fix}": int(fixes["fixes"].str.contains(fix, regex=False).sum())
        for fix in NAME_FIXES
    }
    unusual = ~fixed["name_norm"].map(lambda n: isinstance(n, str) and is_valid_name(n))
    return {**counts, "names_unusual": int(unusual.sum())}


def _validate_enterprises(ctx: BuildContext) -> dict[str, int]:
    db = ctx.db
    records = db.query_df("SELECT * FROM enterprise_records")
    check = validate_credit_codes(records["credit_code"])
    ok = check["valid"].to_numpy(dtype=bool)
    bad = records[~ok]
    reasons = check.loc[~ok, "reason"].fillna("code_missing")
    db.append(
        "quarantine",
        quarantine_rows(
            bad,
            "validate",
            reasons,
            "the unified social credit code fails GB 32100 (length, characters or check)",
        ),
    )
    good = records[ok].copy()
    good["credit_code_norm"] = check.loc[ok, "normalized"].to_numpy(dtype=object)
    db.put("enterprise_records_valid", good)
    return {"enterprise_rows_valid": int(ok.sum()), "enterprise_rows_quarantined": int((~ok).sum())}


def _validate_signaling(ctx: BuildContext) -> dict[str, int]:
    db = ctx.db
    records = db.query_df("SELECT * FROM signaling_records")
    grids = set(db.query_df("SELECT grid_code FROM grids")["grid_code"])
    hour = pd.to_numeric(records["hour"], errors="coerce")
    known = records["grid_code"].isin(grids).to_numpy()
    hour_ok = hour.between(0, 23).to_numpy() & (hour.fillna(-1) % 1 == 0).to_numpy()
    reason = np.where(~known, "unknown_grid", np.where(~hour_ok, "bad_hour", ""))
    bad = reason != ""
    detail = np.where(
        ~known, "the grid code is not in the grids layer", "the hour is not a whole number 0-23"
    )
    db.append(
        "quarantine",
        quarantine_rows(records[bad], "validate", pd.Series(reason[bad]), pd.Series(detail[bad])),
    )
    good = records[~bad].copy()
    good["hour"] = hour[~bad].astype(int).to_numpy()
    for col in ("residents", "workers", "visitors"):
        good[col] = pd.to_numeric(good[col], errors="coerce")
    db.put("signaling_valid", good)
    return {"signaling_rows_valid": int((~bad).sum()), "signaling_rows_quarantined": int(bad.sum())}


def validate_records(ctx: BuildContext) -> dict[str, Any]:
    """Read every value into one form, validate every kind of record; quarantine what fails."""
    out: dict[str, Any] = read_record_values(ctx)
    out.update(_validate_persons(ctx))
    out.update(_validate_enterprises(ctx))
    out.update(_validate_signaling(ctx))
    return out
