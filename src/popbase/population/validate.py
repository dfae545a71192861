"""The validate stage: identifiers, sexes and dates of every record, checked and normalised.

Person records need a valid resident ID number (GB 11643) to be resolved in this build:
a row whose ID is missing, mistyped or impossible is quarantined with the validator's
reason code (records without a reliable ID wait for probabilistic resolution). 15-digit
legacy IDs are upgraded; IDs issued under abolished area codes are valid and flagged.
Enterprise records need a valid unified social credit code (GB 32100); signaling rows a
known grid and an hour 0-23.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from popbase.ops.ingest import quarantine_rows
from popbase.population.credit_code import validate_credit_codes
from popbase.population.resident_id import validate_id_numbers

if TYPE_CHECKING:
    from popbase.pipeline import BuildContext

SEX_WORDS = {"男": "M", "男性": "M", "M": "M", "m": "M", "1": "M", "女": "F", "女性": "F", "F": "F",
             "f": "F", "2": "F"}
ID_DETAIL = {
    "id_missing": "no resident ID number; such records need probabilistic resolution",
    "id_bad_length": "the ID number has neither 18 nor 15 characters",
    "id_bad_chars": "the ID number has characters other than digits and a final X",
    "id_bad_checksum": "the check digit does not match (a mistyped digit)",
    "id_bad_birth_date": "the birth date inside the ID number is not a real date",
    "id_future_birth_date": "the birth date inside the ID number lies in the future",
    "id_unknown_area": "the ID's area code is not a known (or historical) county code",
}


def parse_dates(values: pd.Series) -> pd.Series:
    """Parse dates written as 1990-01-05, 1990/1/5, 19900105 or 1990年1月5日.

    Returns
    -------
    pandas.Series
        ``datetime64`` with NaT where the text is not a date.

    Examples
    --------
    >>> parse_dates(pd.Series(["1990年1月5日", "19900105", "1990/1/5", "bad"])).dt.strftime("%Y-%m-%d").tolist()
    ['1990-01-05', '1990-01-05', '1990-01-05', nan]
    """
    text = values.astype(object).where(values.notna(), "").astype(str).str.strip()
    text = text.str.replace("年", "-", regex=False).str.replace("月", "-", regex=False)
    text = text.str.replace("日", "", regex=False).str.replace("/", "-", regex=False).str.replace(".", "-", regex=False)
    text = text.str.slice(0, 10)
    compact = text.str.fullmatch(r"\d{8}")
    text = text.where(~compact, text.str[:4] + "-" + text.str[4:6] + "-" + text.str[6:8])
    return pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")


def normalise_sex(values: pd.Series) -> pd.Series:
    """Map 男/女, M/F and 1/2 to ``M``/``F`` (None otherwise)."""
    text = values.astype(object).where(values.notna(), "").astype(str).str.strip()
    return text.map(SEX_WORDS).astype(object)


def _validate_persons(ctx: BuildContext) -> dict[str, int]:
    db = ctx.db
    records = db.query_df("SELECT * FROM person_records")
    as_of = ctx.project.config.project.as_of
    check = validate_id_numbers(records["id_number"], as_of=as_of)
    ok = check["valid"].to_numpy(dtype=bool)
    bad = records[~ok]
    reasons = check.loc[~ok, "reason"].fillna("id_missing")
    db.append("quarantine", quarantine_rows(bad, "validate", reasons, reasons.map(ID_DETAIL).fillna("")))
    good = records[ok].copy()
    c = check[ok]
    good["id18"] = c["normalized"].to_numpy(dtype=object)
    good["id_sex"] = c["sex"].to_numpy(dtype=object)
    good["id_birth_date"] = pd.to_datetime(c["birth_date"], format="%Y-%m-%d").to_numpy()
    good["id_historical_area"] = c["historical_area"].to_numpy(dtype=bool)
    good["id_upgraded"] = c["upgraded_from_15"].to_numpy(dtype=bool)
    good["sex_norm"] = normalise_sex(good["sex"]).to_numpy(dtype=object)
    good["birth_date_norm"] = parse_dates(good["birth_date"]).to_numpy()
    db.put("person_records_valid", good)
    return {"person_rows_valid": int(ok.sum()), "person_rows_quarantined": int((~ok).sum()),
            "ids_upgraded_from_15": int(c["upgraded_from_15"].sum()),
            "ids_historical_area": int(c["historical_area"].sum())}


def _validate_enterprises(ctx: BuildContext) -> dict[str, int]:
    db = ctx.db
    records = db.query_df("SELECT * FROM enterprise_records")
    check = validate_credit_codes(records["credit_code"])
    ok = check["valid"].to_numpy(dtype=bool)
    bad = records[~ok]
    reasons = check.loc[~ok, "reason"].fillna("code_missing")
    db.append("quarantine", quarantine_rows(
        bad, "validate", reasons, "the unified social credit code fails GB 32100 (length, characters or check)"))
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
    detail = np.where(~known, "the grid code is not in the grids layer", "the hour is not a whole number 0-23")
    db.append("quarantine", quarantine_rows(records[bad], "validate", pd.Series(reason[bad]),
                                            pd.Series(detail[bad])))
    good = records[~bad].copy()
    good["hour"] = hour[~bad].astype(int).to_numpy()
    for col in ("residents", "workers", "visitors"):
        good[col] = pd.to_numeric(good[col], errors="coerce")
    db.put("signaling_valid", good)
    return {"signaling_rows_valid": int((~bad).sum()), "signaling_rows_quarantined": int(bad.sum())}


def validate_records(ctx: BuildContext) -> dict[str, Any]:
    """Validate every kind of record; quarantine what fails."""
    out: dict[str, Any] = {}
    out.update(_validate_persons(ctx))
    out.update(_validate_enterprises(ctx))
    out.update(_validate_signaling(ctx))
    return out
