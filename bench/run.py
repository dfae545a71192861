"""Benchmarks at 100k and 1M persons: sample, build, evaluation, graph queries, API latency.

Each step runs in its own Python process, which reports its wall time and peak resident
memory (``ru_maxrss``), so steps do not share memory or caches. Results go to
``bench/results.json`` (and are quoted in the README).

    python bench/run.py                      # 100k and 1M persons
    python bench/run.py --sizes 100000       # one size
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
STEPS = ("sample", "build", "eval", "graph", "api")


def _step(name: str, persons: int, folder: Path) -> dict[str, object]:
    """Run one step in this process (called in a child) and measure it."""
    start = time.perf_counter()
    extra: dict[str, object] = {}
    if name == "sample":
        from popbase.sample.city import SampleOptions, generate_sample

        summary = generate_sample(folder, SampleOptions(persons=persons, seed=0))
        extra["source_rows"] = summary["source_rows"]
    elif name == "build":
        from popbase.config import load_project
        from popbase.pipeline import run

        result = run(load_project(folder))
        extra["stage_seconds"] = result.report["timings"]
        extra["unaccounted"] = sum(a["unaccounted"] for a in result.report["accounting"].values())
    elif name == "eval":
        from popbase.config import load_project
        from popbase.ops.evaluate import evaluate_project

        scores = evaluate_project(load_project(folder))
        extra["scores"] = {k: v for k, v in scores.items() if k != "snapshot"}
    elif name == "graph":
        sys.path.insert(0, str(HERE))
        from graph import graph_figures

        extra["graph"] = graph_figures(folder)
    elif name == "api":
        sys.path.insert(0, str(HERE))
        from api import api_figures

        extra["api"] = api_figures(folder)
    seconds = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "step": name,
        "persons": persons,
        "seconds": round(seconds, 2),
        "peak_rss_mb": round(peak_kib / 1024, 1),
        **extra,
    }


def _child(name: str, persons: int, folder: Path) -> dict[str, object]:
    cmd = [
        sys.executable,
        __file__,
        "--child",
        name,
        "--persons",
        str(persons),
        "--folder",
        str(folder),
    ]
    done = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    """Run the benchmarks and write ``bench/results.json``."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--child", choices=[*STEPS])
    parser.add_argument("--persons", type=int)
    parser.add_argument("--folder", type=Path)
    parser.add_argument("--keep", action="store_true", help="keep the generated projects")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_step(args.child, args.persons, args.folder), ensure_ascii=False))
        return
    results = []
    for persons in args.sizes:
        folder = OUT / f"city-{persons}"
        shutil.rmtree(folder, ignore_errors=True)
        for step in STEPS:
            r = _child(step, persons, folder)
            results.append(r)
            print(
                f"{step:>6} {persons:>9,} persons: {r['seconds']:>7.1f} s, "
                f"peak {r['peak_rss_mb']:>7.0f} MB",
                flush=True,
            )
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    machine = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "system": platform.platform(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
    }
    # A run of some sizes keeps the figures of the other sizes from the previous run.
    previous = HERE / "results.json"
    if previous.is_file():
        kept = json.loads(previous.read_text(encoding="utf-8")).get("results", [])
        results = [r for r in kept if r["persons"] not in args.sizes] + results
        results.sort(key=lambda r: (r["persons"], STEPS.index(r["step"])))
    report = {"date": dt.date.today().isoformat(), "machine": machine, "results": results}
    (HERE / "results.json").write_text(
        json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )


if __name__ == "__main__":
    main()
