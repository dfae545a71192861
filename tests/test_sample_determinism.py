"""The same seed gives the same city, to the byte; another seed gives another city."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from sample_fixtures import SampleCity

pytest_plugins = ["sample_fixtures"]

DELIVERED = ("popbase.yaml", "sources", "basemap")


def delivered_files(root: Path) -> list[str]:
    files = [root / "popbase.yaml"]
    for folder in DELIVERED[1:]:
        files += (root / folder).rglob("*")
    return sorted(str(f.relative_to(root)) for f in files if f.is_file())


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def workbook_parts(path: Path) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(path) as z:
        return [(info.filename, z.read(info)) for info in z.infolist()]


def geopackage_rows(path: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every table's rows, without the write time GDAL records in ``gpkg_contents``."""
    with sqlite3.connect(path) as con:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        rows = {t: con.execute(f'SELECT * FROM "{t}" ORDER BY rowid').fetchall() for t in tables}
        columns = [r[1] for r in con.execute("PRAGMA table_info(gpkg_contents)")]
    at = columns.index("last_change")
    rows["gpkg_contents"] = [r[:at] + r[at + 1 :] for r in rows["gpkg_contents"]]
    return rows


def is_write_time(stamp: dt.datetime, now: dt.datetime) -> bool:
    return abs(stamp - now) < dt.timedelta(hours=1)


def test_same_seed_gives_the_same_delivered_files(
    sample_city: SampleCity, sample_city_again: SampleCity
) -> None:
    a, b = sample_city.root, sample_city_again.root
    files = delivered_files(a)
    assert files == delivered_files(b)
    assert len(files) > 10
    for name in files:
        if name.endswith(".xlsx"):
            # Same parts, same bytes (the zip entries' dates are checked below).
            assert workbook_parts(a / name) == workbook_parts(b / name), name
        elif name.endswith(".gpkg"):
            assert geopackage_rows(a / name) == geopackage_rows(b / name), name
        else:
            assert digest(a / name) == digest(b / name), name


def test_same_seed_gives_the_same_truth(
    sample_city: SampleCity, sample_city_again: SampleCity
) -> None:
    a, b = sample_city.root / "truth", sample_city_again.root / "truth"
    tables = sorted(p.name for p in a.glob("*.parquet"))
    assert tables == sorted(p.name for p in b.glob("*.parquet"))
    assert {"persons.parquet", "records.parquet", "rooms.parquet"} <= set(tables)
    for name in tables:
        left, right = pd.read_parquet(a / name), pd.read_parquet(b / name)
        assert left.equals(right), name
    summary = [json.loads((t / "summary.json").read_text("utf-8")) for t in (a, b)]
    assert summary[0] == summary[1]


def test_ledger_workbooks_carry_no_write_time(sample_city: SampleCity) -> None:
    now = dt.datetime.now()
    for path in sample_city.ledger_files:
        with zipfile.ZipFile(path) as z:
            stamped = [
                i.filename for i in z.infolist() if is_write_time(dt.datetime(*i.date_time), now)
            ]
        assert not stamped, f"{path.name}: {stamped} carry the time of writing"


def test_building_layer_carries_no_write_time(sample_city: SampleCity) -> None:
    path = sample_city.root / "basemap" / "buildings.gpkg"
    with sqlite3.connect(path) as con:
        stamps = [r[0] for r in con.execute("SELECT last_change FROM gpkg_contents")]
    now = dt.datetime.now(dt.UTC)
    for stamp in stamps:
        assert not is_write_time(dt.datetime.fromisoformat(stamp), now), stamp


def test_another_seed_gives_another_city(
    sample_city: SampleCity, sample_city_other_seed: SampleCity
) -> None:
    a, b = sample_city, sample_city_other_seed
    # The same frame and totals …
    assert list(a.divisions["code"]) == list(b.divisions["code"])
    assert len(a.residents) == len(b.residents) == a.options.persons
    # … but other shapes, buildings and people.
    streets = [c.divisions.query("level == 'street'").geometry.to_numpy() for c in (a, b)]
    assert not all(x.equals(y) for x, y in zip(*streets, strict=True))
    assert not a.buildings["address"].equals(b.buildings["address"])
    shared = set(a.persons["id_number"]) & set(b.persons["id_number"])
    assert len(shared) < 0.01 * len(a.persons)
    assert set(a.persons["name"]) != set(b.persons["name"])
    differing = [
        name
        for name in delivered_files(a.root)
        if name.startswith("sources/")
        and (b.root / name).is_file()
        and not name.endswith(".xlsx")
        and digest(a.root / name) != digest(b.root / name)
    ]
    assert len(differing) >= 8, differing
