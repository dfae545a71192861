"""The real frame a sample city is generated in.

A district's real boundary, its real streets/towns and residential/village committees with
their 12-digit statistical codes, and its 2020 census rows (total, age structure,
household figures, origin of residents). All of it ships inside the package (see
``popbase/data/ATTRIBUTION.md``).
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from popbase.errors import PopbaseError

# 5-year census bands: (column, lowest age, highest age).
AGE_BANDS: tuple[tuple[str, int, int], ...] = (
    ("AGES_0", 0, 0),
    ("AGES_1-4", 1, 4),
    ("AGES_5-9", 5, 9),
    ("AGES_10-14", 10, 14),
    ("AGES_15-19", 15, 19),
    ("AGES_20-24", 20, 24),
    ("AGES_25-29", 25, 29),
    ("AGES_30-34", 30, 34),
    ("AGES_35-39", 35, 39),
    ("AGES_40-44", 40, 44),
    ("AGES_45-49", 45, 49),
    ("AGES_50-54", 50, 54),
    ("AGES_55-59", 55, 59),
    ("AGES_60-64", 60, 64),
    ("AGES_65-69", 65, 69),
    ("AGES_70-74", 70, 74),
    ("AGES_75-79", 75, 79),
    ("AGES_80-84", 80, 84),
    ("AGES_85P", 85, 99),
)


class UnknownDistrictError(PopbaseError, ValueError):
    """The district code is not one of Shanghai's 16 districts."""


@dataclass(frozen=True)
class Census:
    """The 2020 census figures of one district.

    Attributes
    ----------
    population
        Resident population (常住人口).
    males_per_100_females
        Sex ratio.
    ethnic_minority_share
        Share of residents of an ethnic minority.
    origin_shares
        Shares of residents by where their hukou is: ``same_district`` (another street of
        this district), ``same_city`` (another district of the city) and ``other_province``.
        The rest live where their hukou is.
    age_band_shares
        Share of each band of :data:`AGE_BANDS`, normalised to sum to 1.
    household_size
        Mean size of family households.
    one_person_share
        Share of one-person households.
    """

    population: int
    males_per_100_females: float
    ethnic_minority_share: float
    origin_shares: dict[str, float]
    age_band_shares: np.ndarray
    household_size: float
    one_person_share: float


@dataclass(frozen=True)
class Street:
    """A real street (街道) or town (镇) and its committees."""

    code: str
    name: str
    communities: tuple[tuple[str, str], ...]  # (12-digit code, name)

    @property
    def is_town(self) -> bool:
        """Towns (镇) hold villages and use rural address forms."""
        return self.name.endswith("镇")


@dataclass(frozen=True)
class DistrictFrame:
    """Everything real about one district that a sample is generated in."""

    code: str
    name: str
    boundary: BaseGeometry  # EPSG:4490
    streets: tuple[Street, ...]
    census: Census


def _data_text(name: str) -> str:
    return resources.files("popbase.data").joinpath(name).read_text(encoding="utf-8-sig")


def _csv_rows(name: str) -> list[dict[str, str]]:
    return list(csv.DictReader(_data_text(name).splitlines()))


@cache
def district_names() -> dict[str, str]:
    """Codes and names of Shanghai's 16 districts, in code order."""
    return {r["code"]: r["name"] for r in _csv_rows("areas.csv") if r["cityCode"] == "3101"}


@cache
def _boundaries() -> dict[str, Any]:
    data = json.loads(_data_text("shanghai_districts.geojson"))
    return {f["properties"]["gb"][3:]: f["geometry"] for f in data["features"]}


def _census(code: str) -> Census:
    def row(name: str) -> dict[str, str]:
        for r in _csv_rows(f"census_{name}_shanghai.csv"):
            if r["CODE"] == code:
                return r
        raise UnknownDistrictError(f"district {code!r} has no census row in {name}")

    pop, ages, hh = row("population"), row("ages"), row("households")
    shares = np.array([float(ages[c]) for c, _, _ in AGE_BANDS])
    return Census(
        population=int(pop["POPU"]),
        males_per_100_females=float(pop["POPU_WM"]),
        ethnic_minority_share=float(pop["POPU_ETHNIC"]),
        origin_shares={
            "same_district": float(pop["POPU_REG_C"]),
            "same_city": float(pop["POPU_REG_P"]),
            "other_province": float(pop["POPU_REG_O"]),
        },
        age_band_shares=shares / shares.sum(),
        household_size=float(hh["HHLD_S"]),
        one_person_share=float(hh["HHLD_1P"]),
    )


def load_district(code: str) -> DistrictFrame:
    """Load the real frame of a Shanghai district.

    Parameters
    ----------
    code
        Six-digit district code, e.g. ``"310112"`` (闵行区).

    Returns
    -------
    DistrictFrame
        Boundary (EPSG:4490), streets with their committees, and census figures.

    Raises
    ------
    UnknownDistrictError
        If ``code`` is not a Shanghai district.

    Examples
    --------
    >>> frame = load_district("310112")
    >>> frame.name, len(frame.streets)
    ('闵行区', 14)
    """
    names = district_names()
    if code not in names:
        known = ", ".join(f"{c} {n}" for c, n in names.items())
        raise UnknownDistrictError(
            f"district code was {code!r}, expected one of Shanghai's districts: {known}"
        )
    committees: dict[str, list[tuple[str, str]]] = {}
    for r in _csv_rows("villages_shanghai.csv"):
        if r["areaCode"] == code:
            committees.setdefault(r["streetCode"], []).append((r["code"], r["name"]))
    streets = tuple(
        Street(r["code"], r["name"], tuple(sorted(committees.get(r["code"], []))))
        for r in _csv_rows("streets_shanghai.csv")
        if r["areaCode"] == code and committees.get(r["code"])
    )
    boundary = shapely.make_valid(shapely.geometry.shape(_boundaries()[code]))
    return DistrictFrame(code, names[code], boundary, streets, _census(code))
