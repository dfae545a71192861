"""Benchmark: reading department dates and words at a million rows.

Three measures, each the best of ``--runs``:

``read_dates_distinct``
    :func:`popbase.values.dates.read_dates` on a million *distinct* date texts (every
    form, with times, Chinese numerals, serials and 5 % garbage): the worst case, where
    no value repeats.
``read_dates_column``
    The same reader on a column of a million birth dates of people born 1930-2025 in
    five forms (about 35,000 days × forms distinct), read as the build reads a field:
    each distinct value once, the result joined back by index.
``validate_step``
    :func:`popbase.values.records.read_table_values` on a DuckDB ``person_records`` table
    of a million rows with birth date, residence start (half of them month-only, 2026年9
    月), months of residence, sex, household status and person status: distinct values
    read, unreadable ones counted, the table rewritten in place.

Results go to ``bench/values_results.json``.

    python bench/values.py                 # 1,000,000 rows, best of 3
    python bench/values.py --rows 200000 --runs 1
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

HERE = Path(__file__).resolve().parent
CHINESE = "〇一二三四五六七八九"
HOUSEHOLD_STATUSES = ["人在户在", "人在户不在（常住）", "人在户不在（流动）", "人不在户在"]


def _written(days: np.ndarray, rng: np.random.Generator) -> list[str]:
    """Dates in a mix of department forms."""
    out = []
    for d in days.astype("datetime64[D]").astype(object):
        form = rng.integers(0, 10)
        if form == 0:
            out.append(d.isoformat())
        elif form == 1:
            out.append(f"{d.year}/{d.month}/{d.day}")
        elif form == 2:
            out.append(f"{d.year}年{d.month}月{d.day}日")
        elif form == 3:
            out.append(d.strftime("%Y%m%d"))
        elif form == 4:
            out.append(f"{d.year}.{d.month}.{d.day}")
        elif form == 5:
            out.append(f"{d.isoformat()} {rng.integers(0, 24):02d}:{rng.integers(0, 60):02d}")
        elif form == 6:
            out.append(f"{d.year}年{d.month}月")
        elif form == 7:
            out.append("".join(CHINESE[int(c)] for c in str(d.year)) + f"年{d.month}月")
        elif form == 8:
            out.append(str((d - dt.date(1899, 12, 30)).days))
        else:
            out.append(f"{d.isoformat()}T{rng.integers(0, 24):02d}:00:00")
    return out


def distinct_dates(rows: int, rng: np.random.Generator) -> pa.Array:
    # 1909-10-26 .. 2079-07-06: every form, Excel serials included, can write these days.
    days = rng.integers(-22000, 40000, rows).astype("datetime64[D]")
    texts = _written(days, rng)
    garbage = rng.random(rows) < 0.05
    for i in np.flatnonzero(garbage):
        texts[i] = f"不详{i}"
    # Every text distinct: a repeated one becomes its date with a time of day.
    seen: set[str] = set()
    for i, (t, d) in enumerate(zip(texts, days.astype(object), strict=True)):
        while t in seen:
            h, m, sec = rng.integers(0, 24), rng.integers(0, 60), rng.integers(0, 60)
            t = f"{d.isoformat()} {h:02d}:{m:02d}:{sec:02d}"
        seen.add(t)
        texts[i] = t
    return pa.array(texts)


def birth_column(rows: int, rng: np.random.Generator) -> pa.Array:
    born = np.datetime64("1930-01-01") + rng.integers(0, 35000, rows).astype("timedelta64[D]")
    forms = rng.integers(0, 5, rows)
    iso = born.astype(str).astype(object)
    compact = np.char.replace(born.astype(str), "-", "")
    d = born.astype(object)
    out = np.where(forms == 0, iso, np.where(forms == 1, compact, iso))
    slash = np.array([f"{x.year}/{x.month}/{x.day}" for x in d[forms == 2]], dtype=object)
    chinese = np.array([f"{x.year}年{x.month}月{x.day}日" for x in d[forms == 3]], dtype=object)
    out = out.astype(object)
    out[forms == 2] = slash
    out[forms == 3] = chinese
    return pa.array(out.tolist())


def read_column(values: pa.Array) -> pa.Array:
    """As the build reads a field: each distinct value once, joined back by index."""
    from popbase.values.dates import read_dates

    unique = pc.unique(values)
    read = read_dates(unique)
    return pc.take(read.values, pc.index_in(values, value_set=unique))


def person_records(rows: int, rng: np.random.Generator) -> pa.Table:
    since = np.datetime64("2000-01-01") + rng.integers(0, 9700, rows).astype("timedelta64[D]")
    since_text = np.where(
        rng.random(rows) < 0.5,
        np.array([f"{x.year}年{x.month}月" for x in since.astype(object)], dtype=object),
        since.astype(str).astype(object),
    )
    return pa.table(
        {
            "source": pa.array(rng.choice(["police", "ledger", "health"], rows)),
            "record_id": pa.array([f"r{i}" for i in range(rows)]),
            "birth_date": birth_column(rows, rng),
            "residence_since": pa.array(since_text.tolist()),
            "residence_months": pa.array(rng.integers(0, 400, rows).astype(str).tolist()),
            "sex": pa.array(rng.choice(["男", "女", "1", "2", "男性", "女性", "未知"], rows)),
            "household_status": pa.array(rng.choice(HOUSEHOLD_STATUSES, rows)),
            "person_status": pa.array(rng.choice(["正常", "正常缴费", "暂停缴费", "死亡"], rows)),
        }
    )


def best(runs: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    from popbase.backends import DuckDBBackend
    from popbase.values.dates import read_dates
    from popbase.values.records import FIELD_READERS, read_table_values
    from popbase.values.vocabulary import load_vocabulary

    rng = np.random.default_rng(0)
    rows = args.rows
    results: dict[str, object] = {
        "rows": rows,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "date": dt.date.today().isoformat(),
    }
    distinct = distinct_dates(rows, rng)
    seconds = best(args.runs, lambda: read_dates(distinct))
    read = read_dates(distinct)
    results["read_dates_distinct"] = {
        "seconds": round(seconds, 3),
        "values_per_second": round(rows / seconds),
        "unreadable": int(pc.sum(read.unreadable).as_py()),
    }
    column = birth_column(rows, rng)
    seconds = best(args.runs, lambda: read_column(column))
    results["read_dates_column"] = {
        "seconds": round(seconds, 3),
        "rows_per_second": round(rows / seconds),
        "distinct": len(pc.unique(column)),
    }
    table = person_records(rows, rng)
    words = load_vocabulary()
    fields = {f: r for f, r in FIELD_READERS["person"].items() if f in table.column_names}
    times = []
    for _ in range(args.runs):
        db = DuckDBBackend()
        db.put("person_records", table)
        start = time.perf_counter()
        read_table_values(db, "person_records", fields, words)
        times.append(time.perf_counter() - start)
        db.close()
    seconds = min(times)
    results["validate_step"] = {
        "fields": sorted(fields),
        "seconds": round(seconds, 3),
        "rows_per_second": round(rows / seconds),
    }
    text = json.dumps(results, ensure_ascii=False, indent=2)
    (HERE / "values_results.json").write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
