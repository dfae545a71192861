"""Benchmark: every road name of the public address corpora links back to its room.

The corpora (NAACL 2019, swei412, CCKS 2021; read at run time, never copied) tag thousands
of real road names of every shape. For each name, :func:`popbase.address.road_check.
check_roads` builds a basemap with that road (a building in a lane and one on the road's own
number, committees named after the roads), writes its rooms in the formal and informal
forms departments use, and matches them by the build's own path. Results — how many names
and how many addresses linked — go to ``bench/roads_results.json``; the names that failed,
with their forms, to ``bench/out/roads_failures.json``.

    python bench/roads.py                               # ../shared/data/addresses
    python bench/roads.py --corpora /path/to/addresses
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
DEFAULT_CORPORA = HERE.parent.parent / "shared" / "data" / "addresses"
# Corpus files and their formats, under the corpora folder.
FILES = (
    ("naacl2019/train.txt", "naacl"),
    ("naacl2019/dev.txt", "naacl"),
    ("swei412/train.txt", "bmes"),
    ("swei412/dev.txt", "bmes"),
    ("ccks2021/train.json", "ccks"),
)
# A road's name as the corpora tag it: Chinese characters only (CCKS masks digits to 0,
# and a tagged span with a number is a lane or a mistake), two to twelve of them.
_ROAD = re.compile("[一-鿿]{2,12}")
# What the corpora also tag ``road`` and is none: a village's group (三组, 汪庄村民组; the
# NAACL guide tags groups so) and a town (后宅街道).
# A segment or service road (人民路东段, 黄河路辅路) is read as its road, on the road's
# numbering: it is no road of its own to put beside the road in one basemap.
_NOT_ROAD = re.compile("(?:[组队]|街道|段|辅路|辅道)$")


def corpus_road_names(folder: Path) -> dict[str, list[str]]:
    """Road names tagged ``road`` in each corpus file present under ``folder``."""
    from popbase.address.corpus import read_corpus

    found: dict[str, list[str]] = {}
    for name, kind in FILES:
        path = folder / name
        if not path.exists():
            continue
        roads = (g.component("road") for g in read_corpus(path, kind))  # type: ignore[arg-type]
        found[name] = sorted(
            {r for r in roads if r and _ROAD.fullmatch(r) and not _NOT_ROAD.search(r)}
        )
    return found


def main() -> None:
    """Check the corpora's road names and write the results."""
    from popbase.address.road_check import check_roads

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpora", type=Path, default=DEFAULT_CORPORA)
    args = parser.parse_args()
    by_file = corpus_road_names(args.corpora)
    if not by_file:
        print(f"no address corpora under {args.corpora}: nothing to check")
        return
    names = sorted({r for roads in by_file.values() for r in roads})
    start = time.perf_counter()
    check = check_roads(names)
    seconds = time.perf_counter() - start
    failed = sum(len(v) for v in check.failures.values())
    result = {
        "date": dt.date.today().isoformat(),
        "road_names": {name: len(roads) for name, roads in by_file.items()},
        "distinct_road_names": check.roads,
        "addresses": check.addresses,
        "addresses_linked": check.addresses - failed,
        "linked_share": round(check.linked_share, 5),
        "roads_with_a_failure": len(check.failures),
        "seconds": round(seconds, 1),
    }
    (HERE / "roads_results.json").write_text(
        json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    # The names that failed come from the corpora, which are read, never copied: they are
    # written beside the other benches' work files, not with the results.
    OUT.mkdir(exist_ok=True)
    failures = {road: [list(f) for f in fails] for road, fails in check.failures.items()}
    (OUT / "roads_failures.json").write_text(
        json.dumps(failures, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    print(
        f"{check.roads} road names, {check.addresses} addresses: "
        f"{result['linked_share']:.4f} linked; {len(check.failures)} roads with a failure "
        f"({seconds:.1f} s)"
    )


if __name__ == "__main__":
    main()
