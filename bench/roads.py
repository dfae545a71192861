"""Benchmark: every road name of the public address corpora links back to its room.

The corpora (NAACL 2019, swei412, CCKS 2021; read at run time, never copied) tag thousands
of real road names of every shape. For each name, :func:`popbase.address.road_check.
check_roads` builds a basemap with that road (a building in a lane and one on the road's own
number, committees named after the roads), writes its rooms in the formal and informal
forms departments use, and matches them by the build's own path. Results — how many names
and how many addresses linked — go to ``bench/roads_results.json``; the names that failed,
with their forms, to ``bench/out/roads_failures.json``. Also: each real Shanghai line of
NAACL and swei412 whose gold tags name a door plate, matched to a basemap of those plates
(``shanghai_lines_to_their_gold_plate``).

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
_DIGIT = re.compile("[0-9]")
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


def shanghai_lines(folder: Path) -> list[tuple[str, str]]:
    """``(text, plate)`` of the corpora's Shanghai lines whose gold tags give a door plate.

    The plate is the gold road with its lane and house (七莘路1885弄12号) or its number
    (张杨路100号). CCKS masks digits, so only NAACL and swei412 lines are used.
    """
    from popbase.address.corpus import read_corpus

    out = []
    for name, kind in FILES:
        path = folder / name
        if kind == "ccks" or not path.exists():
            continue
        for gold in read_corpus(path, kind):  # type: ignore[arg-type]
            road, number, house = (gold.component(t) for t in ("road", "roadno", "houseno"))
            if "上海" not in gold.text[:6] or not road or not number or not _DIGIT.search(number):
                continue
            if number.endswith("弄") and house:
                out.append((gold.text, f"{road}{number}{house}"))
            elif not number.endswith("弄"):
                out.append((gold.text, f"{road}{number}"))
    return out


def shanghai_self_links(lines: list[tuple[str, str]]) -> dict[str, object]:
    """Match each real Shanghai line to a basemap of the plates the gold tags name.

    Real addresses as residents write them (上海上海市, a town before the road, a compound
    after the number, 电联 notes) against a basemap of formal door plates: the share that
    finds the building its own gold names.
    """
    import pandas as pd

    from popbase.address.index import build_index
    from popbase.address.match import locate_all, read_addresses
    from popbase.address.normalize import normalize

    plates = sorted({plate for _, plate in lines})
    ids = {plate: f"B{i}" for i, plate in enumerate(plates)}
    buildings = pd.DataFrame(
        {
            "building_id": [ids[p] for p in plates],
            "address": ["上海市" + normalize(p).norm for p in plates],
            "use": "residential",
            "floors": 40,
            "community_code": "310000000000",
        }
    )
    index = build_index(pd.DataFrame({"code": ["31"], "name": ["上海市"]}), buildings)
    index.region = "31"
    texts = list(dict.fromkeys(t for t, _ in lines))
    located = locate_all(read_addresses(texts, index), index).set_index("text")
    found = located["building_id"].to_dict()
    linked = sum(found.get(text) == ids[plate] for text, plate in lines)
    return {"lines": len(lines), "linked": linked, "linked_share": round(linked / len(lines), 4)}


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
    lines = shanghai_lines(args.corpora)
    result = {
        "date": dt.date.today().isoformat(),
        "road_names": {name: len(roads) for name, roads in by_file.items()},
        "distinct_road_names": check.roads,
        "addresses": check.addresses,
        "addresses_linked": check.addresses - failed,
        "linked_share": round(check.linked_share, 5),
        "roads_with_a_failure": len(check.failures),
        "seconds": round(seconds, 1),
        "shanghai_lines_to_their_gold_plate": shanghai_self_links(lines) if lines else None,
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
    print(f"Shanghai lines to their own gold plate: {result['shanghai_lines_to_their_gold_plate']}")
    print(
        f"{check.roads} road names, {check.addresses} addresses: "
        f"{result['linked_share']:.4f} linked; {len(check.failures)} roads with a failure "
        f"({seconds:.1f} s)"
    )


if __name__ == "__main__":
    main()
