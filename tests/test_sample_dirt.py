"""``popbase sample --dirt``: each profile's records, the truth under them, and the option."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pytest
from typer.testing import CliRunner

from popbase.cli import app
from popbase.sample.addresses import FORMAL
from popbase.sample.departments import HEALTH_STYLE, HOTLINE_STYLE, LEDGER_STYLE, POLICE_STYLE
from popbase.sample.profiles import PROFILES, dirt_profile
from popbase.sample.writer import CSV_SOURCES

if TYPE_CHECKING:
    from sample_fixtures import SampleCity

pytest_plugins = ["sample_fixtures"]

OPTIONS = dict(persons=1500, seed=11, streets=2, communities_per_street=3)
# Where each person source writes its residence (or, for the register, hukou) address.
ADDRESS_COLUMN = {
    "community_ledger": "居住信息/居住地址",
    "health": "现住址",
    "civil_affairs": "现住址",
    "police_hukou": "户籍地址",
}
# Newborns without an ID yet (health) are not dirt: the ledger alone is measured.
ID_COLUMN = {"community_ledger": "基本信息/公民身份号码"}


@pytest.fixture(scope="module", params=list(PROFILES))
def dirty_city(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> SampleCity:
    from popbase.sample.city import SampleOptions
    from sample_fixtures import make_city

    options = SampleOptions(**OPTIONS, dirt=request.param)  # type: ignore[arg-type]
    return make_city(tmp_path_factory.mktemp(f"dirt_{request.param}"), options)


@pytest.fixture(scope="module")
def cities(tmp_path_factory: pytest.TempPathFactory) -> dict[str, SampleCity]:
    from popbase.sample.city import SampleOptions
    from sample_fixtures import make_city

    return {
        name: make_city(
            tmp_path_factory.mktemp(f"dirt_cmp_{name}"),
            SampleOptions(**OPTIONS, dirt=name),  # type: ignore[arg-type]
        )
        for name in PROFILES
    }


def _with_truth(city: SampleCity, source: str) -> pd.DataFrame:
    """A source's rows beside their truth (person, room, address kind)."""
    rows = city.source(source)
    key = rows[city.source_key(source)].astype(str)
    truth = city.records[city.records["source"] == source].drop_duplicates("record_no")
    return rows.assign(_key=key.to_numpy()).merge(
        truth, left_on="_key", right_on="record_no", how="left", validate="many_to_one"
    )


def test_default_keeps_every_base_rate() -> None:
    default = PROFILES["default"]
    for style in (LEDGER_STYLE, HEALTH_STYLE, HOTLINE_STYLE, POLICE_STYLE, FORMAL):
        assert default.style(style) == style
    for rate in (0.0, 0.001, 0.015, 0.3, 0.8):
        assert default.typo(rate) == default.id(rate) == rate
        assert default.miss(rate) == default.kept(rate) == rate


def test_profiles_are_ordered_light_default_heavy() -> None:
    light, default, heavy = (PROFILES[n] for n in ("light", "default", "heavy"))
    for field in ("typos", "ids", "missing", "stale", "informal"):
        assert getattr(light, field) < getattr(default, field) < getattr(heavy, field), field
    heavier = heavy.style(LEDGER_STYLE)
    for f in dataclasses.fields(LEDGER_STYLE):
        assert getattr(heavier, f.name) >= getattr(LEDGER_STYLE, f.name), f.name
        assert getattr(heavier, f.name) <= max(getattr(LEDGER_STYLE, f.name), 0.9)


def test_truth_stays_exact_under_each_profile(dirty_city: SampleCity) -> None:
    persons = set(dirty_city.persons["person_id"])
    rooms = set(dirty_city.rooms["room_id"])
    records = dirty_city.records
    assert set(records.loc[records["person_id"] != "", "person_id"]) <= persons
    assert set(records.loc[records["room_id"] != "", "room_id"]) <= rooms
    for source, column in ADDRESS_COLUMN.items():
        rows = _with_truth(dirty_city, source)
        assert rows["record_no"].notna().all(), f"{source}: rows without truth"
        written = rows[column].fillna("").astype(str).str.strip() != ""
        linked = rows["room_id"] != ""
        # A row that names a room writes an address; a row without an address names none.
        assert not (linked & ~written).any(), rows.loc[linked & ~written, column].head()
        assert (rows.loc[~written, "address_kind"] == "").all(), source
    n = {s: len(dirty_city.source(s)) for s in ("police_hukou", "health", "hotline")}
    for source, count in n.items():
        assert count == (records["source"] == source).sum(), source


def _rates(city: SampleCity) -> dict[str, float]:
    """Shares of dirty values in a city's ledgers and health records."""
    truth = city.persons.set_index("person_id")
    out: dict[str, float] = {}
    for source, column in ID_COLUMN.items():
        rows = _with_truth(city, source)
        ids = rows[column].fillna("").astype(str)
        true_id = truth["id_number"].reindex(rows["person_id"]).fillna("").to_numpy()
        out[f"{source} wrong or missing id"] = float((ids.str.upper() != true_id).mean())
    ledger = _with_truth(city, "community_ledger")
    true_name = truth["name"].reindex(ledger["person_id"]).to_numpy()
    out["ledger name differs"] = float((ledger["基本信息/姓名"] != true_name).mean())
    out["ledger no phone"] = float(ledger["基本信息/联系电话"].fillna("").eq("").mean())
    presence = truth["presence"].reindex(ledger["person_id"])
    out["ledger departed listed"] = float(presence.isin(["deceased", "moved_out"]).mean())
    addresses = pd.concat(
        [city.source(s)[c].dropna().astype(str) for s, c in ADDRESS_COLUMN.items()]
    )
    out["address without 上海市"] = float((~addresses.str.contains("上海")).mean())
    return out


def test_heavy_is_clearly_dirtier_and_light_cleaner(cities: dict[str, SampleCity]) -> None:
    rates = {name: _rates(city) for name, city in cities.items()}
    for measure in rates["default"]:
        light, default, heavy = (rates[n][measure] for n in ("light", "default", "heavy"))
        assert light < default < heavy, (measure, light, default, heavy)
        assert heavy > 1.4 * default, (measure, default, heavy)


def test_heavy_adds_the_habits_default_lacks(cities: dict[str, SampleCity]) -> None:
    def shares(city: SampleCity) -> dict[str, float]:
        ledger = city.source("community_ledger")
        health = city.source("health")
        written = pd.concat([ledger["居住信息/居住地址"], health["现住址"]]).dropna().astype(str)
        return {
            "no birth date": float(ledger["基本信息/出生日期"].fillna("").eq("").mean()),
            "no address": float(ledger["居住信息/居住地址"].fillna("").eq("").mean()),
            "unit or floor": float(
                written.str.contains(r"单元|[0-9一二三四五六七八九十]楼\d").mean()
            ),
            "lane without 弄": float(written.str.contains(r"路\d+(?:号|-)\d+号").mean()),
        }

    default, heavy = shares(cities["default"]), shares(cities["heavy"])
    for habit in default:
        assert default[habit] == 0.0, (habit, default[habit])
        assert 0.002 < heavy[habit] < 0.1, (habit, heavy[habit])


def test_unknown_dirt_profile_is_refused_with_the_choices(tmp_path: Path) -> None:
    out = tmp_path / "city"
    result = CliRunner().invoke(app, ["sample", str(out), "--persons", "100", "--dirt", "filthy"])
    assert result.exit_code != 0
    assert "'filthy'" in result.output
    assert "light, default, heavy" in result.output
    assert not out.exists()
    with pytest.raises(ValueError, match="light, default, heavy"):
        dirt_profile("Heavy")


def test_the_dirt_profile_is_recorded_in_the_summary(dirty_city: SampleCity) -> None:
    options = dirty_city.summary["options"]
    assert isinstance(options, dict)
    assert options["dirt"] == dirty_city.options.dirt
    assert set(CSV_SOURCES) >= {"health", "hotline"}
