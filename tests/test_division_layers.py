"""Divisions in several layers: codes completed, parents found, every feature counted.

The build test splits the tiny sample city's divisions as two departments deliver them:
the planning bureau's streets as a Shapefile in EPSG:4549 (GBK field names 街道代码,
街道名称), the civil-affairs bureau's committees as GeoJSON in GCJ-02 (居委代码 as full
codes, as last parts, and as last parts a spreadsheet stripped of their zeros; 所属街道 as
a name), without the district. The build must give the canonical build's divisions and
scores.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from popbase.config import load_project
from popbase.ops.evaluate import evaluate_project
from popbase.ops.snapshot import current_snapshot
from popbase.pipeline import run
from popbase.space.check import check_space
from popbase.space.division_layers import resolve_codes
from popbase.space.layers import LOADED_REASONS
from popbase.space.offsets import wgs84_to_gcj02

STREETS = [("310112001", "江川路街道"), ("310112006", "古美街道")]


def features(*rows: tuple[Any, ...]) -> pd.DataFrame:
    """Division features: code, name, level, parent (None where not given)."""
    return pd.DataFrame(rows, columns=["code", "name", "level", "parent"], dtype=object)


def streets_and(*committees: tuple[Any, ...]) -> pd.DataFrame:
    return features(*[(c, n, "街镇", None) for c, n in STREETS], *committees)


def resolved(frame: pd.DataFrame, region: str = "310112") -> dict[str, tuple[str, str]]:
    """name → (code, parent_code) of the loaded features."""
    tree, _, _ = resolve_codes(frame, region)
    rows = zip(tree["code"], tree["name"], tree["parent_code"], strict=True)
    return {n: (c, p) for c, n, p in rows}


def set_aside(frame: pd.DataFrame, region: str = "310112") -> dict[str, tuple[str, str]]:
    """name → (reason, detail) of the features set aside, or loaded with a note."""
    _, aside, _ = resolve_codes(frame, region)
    names = frame["name"].to_numpy()[aside["position"].to_numpy(dtype=int)]
    return dict(zip(names, zip(aside["reason"], aside["detail"], strict=True), strict=True))


def test_codes_padded_to_twelve_digits_are_read_at_their_level() -> None:
    frame = features(
        ("310112000000", "闵行区", None, None),
        ("310112001000", "江川路街道", None, "310112000000"),
        ("310112001001", "北街居委会", None, None),
        ("310112006000", "古美街道", "街道", None),  # a level given, the zeros dropped
    )
    tree, aside, _ = resolve_codes(frame, "310112")
    assert tree["code"].tolist() == ["310112", "310112001", "310112001001", "310112006"]
    assert tree["level"].tolist() == ["district", "street", "community", "street"]
    assert tree["parent_code"].tolist() == ["3101", "310112", "310112001", "310112"]
    assert aside.empty


def test_short_codes_are_completed_with_their_parents_code() -> None:
    got = resolved(
        streets_and(
            ("001", "北街居委会", "居委", "江川路街道"),  # the streets layer's name
            ("2", "河东居委会", "居委", "江川路"),  # zeros a spreadsheet dropped; a short name
            ("003", "古美四村居委会", "community", "310112006"),  # the parent's code
            ("310112006002", "古美三村居委会", "居委", "古美街道"),  # full, and it agrees
        )
    )
    assert got["北街居委会"] == ("310112001001", "310112001")
    assert got["河东居委会"] == ("310112001002", "310112001")
    assert got["古美四村居委会"] == ("310112006003", "310112006")
    assert got["古美三村居委会"] == ("310112006002", "310112006")


def test_streets_numbered_within_the_area_and_parents_the_layers_lack() -> None:
    # Street numbers in a district's project; committees whose streets no layer gives,
    # found by name in the bundled NBS table of Shanghai's streets.
    got = resolved(
        features(
            ("001", "江川路街道", "street", None),
            ("001", "古美一村居委会", "居委", "古美街道"),
        )
    )
    assert got == {
        "江川路街道": ("310112001", "310112"),
        "古美一村居委会": ("310112006001", "310112006"),
    }


def test_what_cannot_be_resolved_is_set_aside_with_the_reason() -> None:
    frame = streets_and(
        ("", "无码居委会", "居委", "江川路街道"),
        ("004", "无主居委会", "居委", None),
        ("005", "火星居委会", "居委", "火星街道"),
        ("310112001006", "错挂居委会", "居委", "古美街道"),
        ("310112001007", "错码居委会", "居委", "310112006"),
        ("0081", "长码居委会", "居委", "江川路街道"),
        ("310112001009", "错级街道", "街镇", None),
        ("310112006001", "古美一村居委会", None, None),
        ("001", "重复居委会", "居委", "古美街道"),
    )
    aside = set_aside(frame)
    assert {name: reason for name, (reason, _) in aside.items()} == {
        "无码居委会": "key_missing",
        "无主居委会": "division_parent_unknown",
        "火星居委会": "division_parent_unknown",
        "错挂居委会": "division_parent_conflict",
        "错码居委会": "division_parent_conflict",
        "长码居委会": "division_code_invalid",
        "错级街道": "division_code_invalid",
        "重复居委会": "duplicate_key",
    }
    # Each detail says what was seen and what to do.
    assert "map `parent`" in aside["无主居委会"][1]
    assert "'火星街道' names no division one level up within 310112" in aside["火星居委会"][1]
    assert "lies in 310112001, but its parent '古美街道' is 310112006" in aside["错挂居委会"][1]
    assert "a street's has 9" in aside["错级街道"][1]
    assert "310112006001" in aside["重复居委会"][1]
    tree, _, _ = resolve_codes(frame, "310112")
    noted = {n for n, (r, _) in aside.items() if r in LOADED_REASONS}
    assert noted == {"错挂居委会", "错码居委会"}
    # Every feature loaded or set aside; one whose parent field disagrees with its code
    # is loaded under its code's parent (a stale 所属街道 must not lose its buildings).
    assert len(tree) + len(aside) - len(noted) == len(frame)
    loaded = resolved(frame)
    assert loaded["错挂居委会"] == ("310112001006", "310112001")
    assert loaded["错码居委会"] == ("310112001007", "310112001")


def test_the_names_children_give_their_parents_are_kept() -> None:
    frame = features(
        ("310112001001", "北街居委会", None, "江川路街道"),
        ("310112001002", "河东居委会", None, "江川路街道"),
        ("440305001001", "某居委会", None, "某某街道"),  # outside the area: not looked up
    )
    tree, aside, parents = resolve_codes(frame, "310112")
    assert parents == {"310112001": "江川路街道", "440305001": "某某街道"}
    assert len(tree) == 3 and aside.empty


# ---------------------------------------------------------------------------------------
# A city's divisions as two departments deliver them
# ---------------------------------------------------------------------------------------

DIVISIONS_YAML = """\
  divisions:
    - path: basemap/规划局/街镇.shp
      crs: EPSG:4549
      level: 街镇
      fields: {code: 街道代码, name: 街道名称}
    - path: basemap/民政局居委.geojson
      crs: GCJ-02
      level: 居委
      fields: {code: 居委代码, name: 居委名称, parent: 所属街道}
"""


def to_gcj02(geometry: np.ndarray) -> np.ndarray:
    return np.asarray(
        shapely.transform(geometry, lambda xy: np.column_stack(wgs84_to_gcj02(*xy.T))),
        dtype=object,
    )


def split_divisions(folder: Path) -> None:
    """Rewrite the one divisions layer as a streets Shapefile and a committees GeoJSON."""
    whole = gpd.read_file(folder / "basemap" / "divisions.geojson")
    names = dict(zip(whole["code"], whole["name"], strict=True))
    streets = whole[whole["level"] == "street"]
    (folder / "basemap" / "规划局").mkdir()
    streets.rename(columns={"code": "街道代码", "name": "街道名称"})[
        ["街道代码", "街道名称", "geometry"]
    ].to_crs("EPSG:4549").to_file(folder / "basemap" / "规划局" / "街镇.shp", encoding="GBK")
    committees = whole[whole["level"] == "community"].reset_index(drop=True)
    code = committees["code"].copy()
    code[1::3] = code[1::3].str[9:]  # the last part only
    code[2::3] = code[2::3].str[9:].str.lstrip("0")  # ... as a spreadsheet shows it
    stray = committees.iloc[[0]].assign(code="009", parent_code="310112999")  # no such street
    committees = pd.concat([committees.assign(code=code), stray], ignore_index=True)
    out = gpd.GeoDataFrame(
        {
            "居委代码": committees["code"],
            "居委名称": committees["name"],
            "所属街道": committees["parent_code"].map(names).fillna("虚构街道"),
        },
        geometry=to_gcj02(committees.geometry.values),
        crs="EPSG:4326",  # what a GeoJSON says, whatever its coordinates are
    )
    out.to_file(folder / "basemap" / "民政局居委.geojson", driver="GeoJSON")
    (folder / "basemap" / "divisions.geojson").unlink()
    project = folder / "popbase.yaml"
    text = project.read_text(encoding="utf-8")
    start = text.index("  divisions:")
    end = text.index("  grids:")
    project.write_text(text[:start] + DIVISIONS_YAML + text[end:], encoding="utf-8")


@pytest.fixture(scope="module")
def split_city(copy_city: Callable[..., Path]) -> Path:
    folder = copy_city(snapshots=False)
    split_divisions(folder)
    run(load_project(folder))
    return folder


def served(folder: Path, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(current_snapshot(folder).base_db), read_only=True) as con:
        return con.execute(sql).df()


UNITS = "SELECT code, name, level, parent_code, area_km2, resident FROM units ORDER BY code"


def test_two_layers_build_the_divisions_of_one(built_city: Path, split_city: Path) -> None:
    one, two = served(built_city, UNITS), served(split_city, UNITS)
    assert two["code"].tolist() == one["code"].tolist()
    for column in ("name", "level", "parent_code", "resident"):
        assert two[column].tolist() == one[column].tolist(), column
    # The district is dissolved from the streets, which tile it (to 1e-4 km², the rounding).
    assert np.abs(two["area_km2"] - one["area_km2"]).max() <= 2e-4


def test_each_layer_file_is_accounted_for(split_city: Path) -> None:
    report = json.loads((current_snapshot(split_city).path / "report.json").read_text())
    layers = report["space"]["layers"]
    assert layers["divisions.0"] == {"read": 2, "loaded": 2, "set_aside": 0, "repaired": 0}
    assert layers["divisions.1"] == {"read": 7, "loaded": 6, "set_aside": 1, "repaired": 0}
    [made] = report["space"]["divisions_dissolved"]
    assert made == {
        "code": "310112",
        "name": "闵行区",
        "level": "district",
        "children": 2,
        "name_from": "bundled",
    }
    check = check_space(load_project(split_city))
    assert check.layers["divisions.0"] == layers["divisions.0"]
    assert check.layers["divisions.1"] == layers["divisions.1"]
    assert check.dissolved["code"].tolist() == ["310112"]
    [stray] = [f for f in check.report.findings if f.kind == "feature_set_aside"]
    assert (stray.code, stray.other) == ("009 北街居委会", "divisions.1")
    assert stray.detail.startswith("division_parent_unknown: its parent '虚构街道'")


def test_the_scores_stay_those_of_the_canonical_build(built_city: Path, split_city: Path) -> None:
    canonical = evaluate_project(load_project(built_city))
    split = evaluate_project(load_project(split_city))
    for part, metric in [
        ("link", "precision"),
        ("link", "recall"),
        ("person", "precision"),
        ("person", "recall"),
        ("residency", "accuracy"),
        ("community_residents", "mean_abs_pct_error"),
    ]:
        assert split[part][metric] == pytest.approx(canonical[part][metric], abs=1e-3), metric
    assert (
        split["community_residents"]["resident_total"]
        == (canonical["community_residents"]["resident_total"])
    )
