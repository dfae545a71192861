"""Benchmark: a build whose sources carry over-long values, beside the clean build.

A sample city (3,000 persons by default) is built as generated, then again after one row
of the health source gets a 1 MB value in its ID column and ten rows of other sources
10 KB values in their name, address, phone and text columns — what a broken export or a pasted
document delivers. Those rows are quarantined at ingest (``value_too_long``), so the
second build should take about as long as the first. Results go to
``bench/long_values_results.json``.

    python bench/long_values.py                 # 3,000 persons
    python bench/long_values.py --persons 5000
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import shutil
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"


def _spoil(path: Path, rows: list[int], columns: dict[str, str], encoding: str) -> int:
    """Put the given values into ``columns`` of data rows ``rows`` of a CSV file."""
    with path.open(encoding=encoding, newline="") as f:
        table = list(csv.reader(f))
    header = table[0]
    for row in rows:
        for column, value in columns.items():
            table[row][header.index(column)] = value
    with path.open("w", encoding=encoding, newline="") as f:
        csv.writer(f).writerows(table)
    return len(rows)


def spoil_city(root: Path) -> dict[str, int]:
    """Over-long values in the health, civil-affairs and hotline sources of a sample city."""
    sources = root / "sources"
    return {
        "health_1mb_id": _spoil(
            sources / "health_records.csv", [2], {"身份证号": "3" * 1_000_000}, "utf-8-sig"
        ),
        "civil_affairs_10kb": _spoil(
            sources / "civil_affairs.csv",
            list(range(3, 8)),
            {"姓名": "王" * 10_000, "现住址": "上海市" * 3_400},
            "utf-8",
        ),
        "hotline_10kb": _spoil(
            sources / "hotline_tickets.csv",
            list(range(3, 8)),
            {"联系电话": "1" * 10_000, "诉求内容": "垃圾" * 5_000},
            "utf-8",
        ),
    }


def timed_build(root: Path) -> tuple[float, dict[str, object]]:
    from popbase.config import load_project
    from popbase.pipeline import run

    start = time.perf_counter()
    result = run(load_project(root))
    return time.perf_counter() - start, result.report


def main() -> None:
    from popbase.sample.city import SampleOptions, generate_sample

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--persons", type=int, default=3000)
    args = parser.parse_args()
    clean = OUT / f"long-values-clean-{args.persons}"
    spoiled = OUT / f"long-values-spoiled-{args.persons}"
    for folder in (clean, spoiled):
        shutil.rmtree(folder, ignore_errors=True)
    generate_sample(clean, SampleOptions(persons=args.persons, seed=1))
    shutil.copytree(clean, spoiled)
    spoilt = spoil_city(spoiled)
    clean_s, _ = timed_build(clean)
    spoiled_s, report = timed_build(spoiled)
    accounting: dict[str, dict[str, object]] = report["accounting"]  # type: ignore[assignment]
    too_long = {
        s: a["quarantined_by_reason"].get("value_too_long", 0)  # type: ignore[attr-defined]
        for s, a in accounting.items()
    }
    results = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "persons": args.persons,
        "rows_spoiled": spoilt,
        "clean_build_s": round(clean_s, 2),
        "spoiled_build_s": round(spoiled_s, 2),
        "ratio": round(spoiled_s / clean_s, 2),
        "value_too_long": {s: n for s, n in too_long.items() if n},
        "unaccounted": sum(int(a["unaccounted"]) for a in accounting.values()),  # type: ignore[call-overload]
    }
    (HERE / "long_values_results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
