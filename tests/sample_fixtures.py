"""Sample cities shared by the ``test_sample_*`` modules, generated once per session.

Load with ``pytest_plugins = ["sample_fixtures"]``. One small city of the real district
闵行区 (3 streets × 4 committees, 3,000 residents) carries most tests; a second run with the
same seed and a run with another seed serve the determinism tests.
"""

from __future__ import annotations

import dataclasses
from functools import cached_property
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest

from popbase.io.tables import read_table
from popbase.sample.city import SampleOptions, generate_sample
from popbase.sample.writer import CSV_SOURCES, LEDGER_DIR
from popbase.space.crs import SHANGHAI_PROJECTED

OPTIONS = SampleOptions(persons=3000, seed=7, streets=3, communities_per_street=4)
OTHER_SEED = 8
# One street of 嘉定区 whose last committee is a village (村委会): rural addresses.
VILLAGE_OPTIONS = SampleOptions(
    persons=600, seed=7, district="310114", streets=1, communities_per_street=12
)


class SampleCity:
    """A generated sample project and lazy, cached readers of its files."""

    def __init__(self, root: Path, options: SampleOptions, summary: dict[str, object]) -> None:
        self.root = root
        self.options = options
        self.summary = summary

    def truth(self, table: str) -> pd.DataFrame:
        return pd.read_parquet(self.root / "truth" / f"{table}.parquet")

    @cached_property
    def persons(self) -> pd.DataFrame:
        return self.truth("persons")

    @cached_property
    def residents(self) -> pd.DataFrame:
        return self.persons[self.persons["presence"] == "resident"]

    @cached_property
    def rooms(self) -> pd.DataFrame:
        return self.truth("rooms")

    @cached_property
    def buildings(self) -> pd.DataFrame:
        return self.truth("buildings")

    @cached_property
    def records(self) -> pd.DataFrame:
        return self.truth("records")

    @cached_property
    def divisions(self) -> gpd.GeoDataFrame:
        """Divisions in the projected CRS (metres)."""
        return gpd.read_file(self.root / "basemap" / "divisions.geojson").to_crs(SHANGHAI_PROJECTED)

    @cached_property
    def grids(self) -> gpd.GeoDataFrame:
        """Micro-grids in the projected CRS (metres)."""
        return gpd.read_file(self.root / "basemap" / "grids.geojson").to_crs(SHANGHAI_PROJECTED)

    @cached_property
    def footprints(self) -> gpd.GeoDataFrame:
        """Building footprints as delivered (EPSG:4549)."""
        return gpd.read_file(self.root / "basemap" / "buildings.gpkg")

    @cached_property
    def roads(self) -> list[str]:
        return sorted(set(gpd.read_file(self.root / "basemap" / "roads.geojson")["name"]))

    @cached_property
    def ledger_files(self) -> list[Path]:
        return sorted((self.root / LEDGER_DIR).glob("*.xlsx"))

    def source_path(self, source: str) -> Path:
        return self.root / CSV_SOURCES[source][0]

    def source_key(self, source: str) -> str:
        """The column holding the record number of a source."""
        return "编号" if source == "community_ledger" else CSV_SOURCES[source][2]

    def source(self, source: str) -> pd.DataFrame:
        """A source's data rows as ``read_table`` reads them (ledgers concatenated)."""
        cache: dict[str, pd.DataFrame] = self.__dict__.setdefault("_sources", {})
        if source not in cache:
            if source == "community_ledger":
                frames = [
                    read_table(f, skip_rows=1, header_rows=2).frame for f in self.ledger_files
                ]
                cache[source] = pd.concat(frames, ignore_index=True)
            else:
                cache[source] = read_table(self.source_path(source)).frame
        return cache[source]


def make_city(root: Path, options: SampleOptions) -> SampleCity:
    return SampleCity(root, options, generate_sample(root, options))


@pytest.fixture(scope="session")
def sample_city(tmp_path_factory: pytest.TempPathFactory) -> SampleCity:
    """The small sample city (written into an existing, empty folder)."""
    return make_city(tmp_path_factory.mktemp("sample_city"), OPTIONS)


@pytest.fixture(scope="session")
def sample_city_again(tmp_path_factory: pytest.TempPathFactory) -> SampleCity:
    """The same city generated a second time, into a folder that does not exist yet."""
    return make_city(tmp_path_factory.mktemp("sample_again") / "city", OPTIONS)


@pytest.fixture(scope="session")
def sample_city_other_seed(tmp_path_factory: pytest.TempPathFactory) -> SampleCity:
    """The same options with another seed."""
    options = dataclasses.replace(OPTIONS, seed=OTHER_SEED)
    return make_city(tmp_path_factory.mktemp("sample_other_seed"), options)


@pytest.fixture(scope="session")
def village_city(tmp_path_factory: pytest.TempPathFactory) -> SampleCity:
    """A one-street city with a village committee."""
    return make_city(tmp_path_factory.mktemp("village_city"), VILLAGE_OPTIONS)


@pytest.fixture(params=["sample_city", "village_city"])
def any_city(request: pytest.FixtureRequest) -> SampleCity:
    """Each of the urban and the village sample cities in turn."""
    city: SampleCity = request.getfixturevalue(request.param)
    return city
