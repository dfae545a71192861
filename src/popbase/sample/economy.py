"""Facilities with capacities and enterprises with employers' credit codes.

Facility counts follow common planning norms per resident population (a kindergarten per
~2,500 residents, a primary school per ~5,000, a middle school per ~8,000, an elderly-care
centre per ~4,000, a community health centre per street); capacities are set near the
demand of their catchment, some short and some spare. Enterprises sit in office, mixed and
commercial buildings; their sizes are log-normal (many small firms, a few large ones).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from popbase.sample.names import enterprise_names, person_names

# facility type: (building use, residents per facility, minimum per street, demand share
# of the catchment's population it serves)
FACILITY_NORMS: dict[str, tuple[str, int, int, float]] = {
    "kindergarten": ("kindergarten", 2500, 1, 0.030),  # ages 3-5
    "primary_school": ("school", 5000, 1, 0.055),  # ages 6-11
    "middle_school": ("school", 8000, 1, 0.045),  # ages 12-17
    "health_centre": ("health", 10**9, 1, 1.0),  # one per street, serves everyone
    "elderly_care": ("elderly_care", 4000, 1, 0.020),  # care beds for the oldest
}
FACILITY_LABEL = {
    "kindergarten": "幼儿园",
    "primary_school": "小学",
    "middle_school": "中学",
    "health_centre": "社区卫生服务中心",
    "elderly_care": "养老院",
}
INDUSTRIES = (
    "制造业",
    "批发和零售业",
    "信息技术服务业",
    "租赁和商务服务业",
    "住宿和餐饮业",
    "科学研究和技术服务业",
    "建筑业",
    "交通运输业",
    "教育",
    "卫生和社会工作",
)


def facility_plan(
    street_population: dict[str, int], street_names: dict[str, str], rng: np.random.Generator
) -> pd.DataFrame:
    """How many facilities of each type each street gets, and their capacities.

    Parameters
    ----------
    street_population
        Residents per street code.
    street_names
        Name per street code.
    rng
        Random generator.

    Returns
    -------
    pandas.DataFrame
        ``street_code, type, use, name, capacity``; one row per facility.
    """
    rows: list[dict[str, object]] = []
    for street, pop in street_population.items():
        for ftype, (use, per, minimum, share) in FACILITY_NORMS.items():
            count = max(minimum, round(pop / per))
            demand = pop * share / count
            for i in range(count):
                capacity = demand * rng.uniform(0.7, 1.3) if ftype != "health_centre" else pop * 0.3
                suffix = "" if count == 1 else f"第{i + 1}"
                rows.append(
                    {
                        "street_code": street,
                        "type": ftype,
                        "use": use,
                        "name": f"{street_names[street][:-2]}{suffix}{FACILITY_LABEL[ftype]}",
                        "capacity": max(10, round(capacity)),
                    }
                )
    return pd.DataFrame(rows)


def enterprise_table(
    n: int,
    buildings: pd.DataFrame,
    district_code: str,
    district_name: str,
    as_of: dt.date,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Enterprises located in office, mixed and commercial buildings.

    Parameters
    ----------
    n
        Number of enterprises.
    buildings
        Buildings with ``building_id, use, address, community_code``.
    district_code, district_name
        Where they are registered.
    as_of
        The sample's reference date (founding dates lie before it).
    rng
        Random generator.

    Returns
    -------
    pandas.DataFrame
        ``enterprise_id, credit_code, name, building_id, address, community_code, size,
        industry, founded, legal_person``.
    """
    from popbase.population.credit_code import generate_credit_codes

    hosts = buildings[buildings["use"].isin(["office", "mixed", "commercial"])]
    weight = hosts["use"].map({"office": 8.0, "mixed": 1.0, "commercial": 2.0}).to_numpy()
    at = rng.choice(len(hosts), n, p=weight / weight.sum())
    size = np.maximum(1, np.round(rng.lognormal(1.8, 1.2, n))).astype(int)
    founded = np.datetime64(as_of) - rng.integers(60, 365 * 30, n).astype("timedelta64[D]")
    sexes = np.where(rng.random(n) < 0.7, "M", "F")
    return pd.DataFrame(
        {
            "enterprise_id": [f"E{district_code}{i:06d}" for i in range(n)],
            "credit_code": generate_credit_codes(np.full(n, district_code), rng),
            "name": enterprise_names(n, district_name, rng),
            "building_id": hosts["building_id"].to_numpy()[at],
            "address": hosts["address"].to_numpy()[at],
            "community_code": hosts["community_code"].to_numpy()[at],
            "size": size,
            "industry": np.array(INDUSTRIES, dtype=object)[rng.integers(0, len(INDUSTRIES), n)],
            "founded": founded.astype(str),
            "legal_person": person_names(sexes, np.full(n, "汉族"), rng),
        }
    )


def outside_employers(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """Employers registered in other districts (not in this district's registry)."""
    from popbase.population.credit_code import generate_credit_codes

    areas = np.array(["310101", "310104", "310105", "310106", "310115", "310110"])
    codes = generate_credit_codes(areas[rng.integers(0, len(areas), n)], rng)
    return pd.DataFrame({"credit_code": codes, "name": enterprise_names(n, "外区", rng)})
