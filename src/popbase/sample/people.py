"""The sample's people: ages, households, origins, identities and life events.

Generated one street at a time so that memory stays bounded for a whole megacity. Ages
follow the district's census bands exactly (cut from a district-wide shuffled draw);
where people's hukou is follows the census shares of people–household separation; the
life-cycle attributes that the "1+9+X" tags need (marriage, births, disability, chronic
disease, pregnancy, living alone, low income, party membership, veterans, volunteers,
employment) are drawn at plausible rates.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from popbase.sample.frame import AGE_BANDS, Census
from popbase.sample.households import form_households
from popbase.sample.names import ETHNIC_MINORITIES, person_names

ORIGINS = ("local", "same_district", "same_city", "other_province")
# Prior shares of origins by household kind, before calibration to the census.
ORIGIN_PRIOR = {
    "elderly_couple": (0.62, 0.12, 0.14, 0.12),
    "elderly_alone": (0.62, 0.12, 0.14, 0.12),
    "family": (0.36, 0.09, 0.12, 0.43),
    "couple": (0.30, 0.08, 0.11, 0.51),
    "single": (0.12, 0.05, 0.08, 0.75),
    "shared": (0.03, 0.02, 0.05, 0.90),
}
# Where migrants' hukou is: provinces with the largest flows into Shanghai.
MIGRANT_PROVINCES = {
    "34": 0.26,
    "32": 0.16,
    "41": 0.12,
    "51": 0.07,
    "36": 0.07,
    "42": 0.06,
    "33": 0.06,
    "37": 0.05,
    "43": 0.04,
    "35": 0.03,
    "45": 0.03,
    "50": 0.05,
}
FIRST_ID_YEAR = 1984
EDUCATION = ("小学", "初中", "高中", "大专", "本科", "研究生")


@dataclass(frozen=True)
class StreetPlan:
    """What one street must hold: its committees and their resident counts."""

    code: str
    name: str
    communities: tuple[str, ...]
    residents: tuple[int, ...]


def district_ages(census: Census, n: int, rng: np.random.Generator) -> np.ndarray:
    """Ages of ``n`` residents whose band shares equal the census (largest remainder)."""
    quota = census.age_band_shares * n
    counts = np.floor(quota).astype(int)
    counts[np.argsort(counts - quota)[: n - counts.sum()]] += 1
    lo = np.repeat([b[1] for b in AGE_BANDS], counts)
    hi = np.repeat([b[2] for b in AGE_BANDS], counts)
    # Within the open 85+ band ages thin out quickly.
    age = np.where(
        hi == 99, lo + np.minimum(rng.exponential(4.0, n), 14).astype(int), rng.integers(lo, hi + 1)
    )
    return rng.permutation(age)


def calibrated_origin_probs(
    kinds: np.ndarray, sizes: np.ndarray, census: Census
) -> dict[str, np.ndarray]:
    """Origin probabilities per household kind whose person-weighted shares hit the census."""
    target = np.array(
        [
            1 - sum(census.origin_shares.values()),
            census.origin_shares["same_district"],
            census.origin_shares["same_city"],
            census.origin_shares["other_province"],
        ]
    )
    prior = {k: np.array(v) for k, v in ORIGIN_PRIOR.items()}
    weight = {k: float(sizes[kinds == k].sum()) for k in prior}
    total = sum(weight.values()) or 1.0
    for _ in range(30):
        got = sum(prior[k] * weight[k] for k in prior) / total
        for k in prior:
            p = prior[k] * target / np.maximum(got, 1e-9)
            prior[k] = p / p.sum()
    return prior


def _dates(as_of: dt.date, years: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Birth dates of people whose age on ``as_of`` is ``years``."""
    days = (years * 365.25 + rng.uniform(0, 365, len(years))).astype(int)
    return np.datetime64(as_of) - days.astype("timedelta64[D]")


def street_people(
    plan: StreetPlan,
    ages: np.ndarray,
    census: Census,
    as_of: dt.date,
    rng: np.random.Generator,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Residents of one street with their households.

    Parameters
    ----------
    plan
        The street's committees and resident counts (summing to ``len(ages)``).
    ages
        Ages of the street's residents.
    census
        The district's census figures.
    as_of
        Reference date.
    rng
        Random generator.

    Returns
    -------
    tuple of pandas.DataFrame
        Persons (``hh``-indexed, with community) and households
        (``household, kind, community_code, size, origin``).
    """
    n = len(ages)
    ratio = census.males_per_100_females
    p_male = np.where(ages >= 80, 0.42, np.where(ages >= 65, 0.47, ratio / (100 + ratio)))
    male = rng.random(n) < p_male
    h = form_households(ages, male, rng)
    n_hh = len(h.kind)
    sizes = np.bincount(h.household, minlength=n_hh)
    # Households fill committees in turn until each holds about its planned residents.
    order = rng.permutation(n_hh)
    cum = np.cumsum(sizes[order])
    bounds = np.cumsum(plan.residents)
    slot = np.minimum(np.searchsorted(bounds, cum - sizes[order] / 2), len(bounds) - 1)
    hh_comm = np.empty(n_hh, dtype=object)
    hh_comm[order] = np.array(plan.communities, dtype=object)[slot]
    probs = calibrated_origin_probs(h.kind, sizes, census)
    origin = np.empty(n_hh, dtype=object)
    for kind, p in probs.items():
        sel = np.flatnonzero(h.kind == kind)
        origin[sel] = np.array(ORIGINS, dtype=object)[rng.choice(4, len(sel), p=p)]
    households = pd.DataFrame(
        {
            "household": np.arange(n_hh),
            "kind": h.kind,
            "community_code": hh_comm,
            "size": sizes,
            "origin": origin,
        }
    )
    persons = pd.DataFrame(
        {
            "household": h.household,
            "relation": h.relation,
            "age": ages,
            "sex": np.where(male, "M", "F"),
            "married": h.married,
            "community_code": hh_comm[h.household],
            "origin": origin[h.household],
            "presence": "resident",
        }
    )
    return persons, households


def _extra_people(
    base: pd.DataFrame, n: int, presence: str, ages: np.ndarray, rng: np.random.Generator
) -> pd.DataFrame:
    """People tied to existing households but not living there (absent, dead, moved)."""
    if n == 0 or base.empty:
        return base.iloc[0:0]
    rows = base.iloc[rng.integers(0, len(base), n)].copy()
    rows["age"] = ages
    rows["sex"] = np.where(rng.random(n) < 0.5, "M", "F")
    rows["relation"] = np.where(presence == "absent", "子女", "其他")
    rows["married"] = False
    rows["presence"] = presence
    return rows


def add_non_residents(persons: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Add people registered here but living elsewhere, and stale ones (died, moved out).

    Registered-but-absent people (人不在户在: students, workers elsewhere) belong to local
    households' hukou; the recently deceased and those who moved out of the district still
    linger in some departments' records.
    """
    local = persons[persons["origin"] == "local"]
    k_absent = round(len(local) * 0.15)
    absent_age = np.where(
        rng.random(k_absent) < 0.8, rng.integers(18, 45, k_absent), rng.integers(45, 90, k_absent)
    )
    elderly = persons[persons["age"] >= 65]
    k_dead = round(len(elderly) * 0.012)
    k_moved = round(len(persons) * 0.01)
    extra = [
        _extra_people(local, k_absent, "absent", absent_age, rng),
        _extra_people(elderly, k_dead, "deceased", rng.integers(70, 100, k_dead), rng),
        _extra_people(persons, k_moved, "moved_out", rng.integers(20, 60, k_moved), rng),
    ]
    return pd.concat([persons, *extra], ignore_index=True)


class IssuedNumbers:
    """Numbers already given out in this city (ID numbers, phones), to keep them unique.

    Generators keep numbers unique within one street; this keeps them unique across
    streets and districts. Numbers are kept as integers (ID numbers without the check
    character), so the whole of Shanghai fits in memory.
    """

    def __init__(self) -> None:
        self.issued: dict[str, set[int]] = {"id": set(), "phone": set()}

    def unique(
        self, kind: str, values: np.ndarray, redraw: Callable[[np.ndarray], np.ndarray]
    ) -> np.ndarray:
        """Redraw values already issued (or repeated here) until all are new; record them."""
        out = np.asarray(values, dtype=object).copy()
        seen = self.issued[kind]
        while True:
            keys = [int(v[:17]) for v in out]
            clash = [i for i, k in enumerate(keys) if k in seen]
            # Repeats inside this batch count as clashes too (keep the first).
            first: dict[int, int] = {}
            clash += [i for i, k in enumerate(keys) if first.setdefault(k, i) != i]
            if not clash:
                seen.update(keys)
                return out
            at = np.unique(np.array(clash))
            out[at] = redraw(at)


def identities(
    persons: pd.DataFrame,
    district_code: str,
    as_of: dt.date,
    areas: pd.DataFrame,
    abolished: dict[str, tuple[str, int, int]],
    taken: IssuedNumbers,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Birth dates, ID numbers, names, ethnicity, phones and hukou provinces.

    Parameters
    ----------
    persons
        People with ``age, sex, origin``.
    district_code
        This district.
    as_of
        Reference date.
    areas
        China's counties (``code, name, provinceCode``) for migrants' hukou.
    abolished
        Abolished Shanghai area codes: code -> (name, start year, end year).
    taken
        Numbers issued so far in the city.
    rng
        Random generator.

    Returns
    -------
    pandas.DataFrame
        ``persons`` with ``birth_date, id_area_code, id_number, name, ethnicity, phone,
        hukou_area_code``.
    """
    from popbase.population.phone import generate_phones
    from popbase.population.resident_id import generate_id_numbers

    n = len(persons)
    birth = _dates(as_of, persons["age"].to_numpy(), rng)
    year = birth.astype("datetime64[Y]").astype(int) + 1970
    origin = persons["origin"].to_numpy()
    provinces = np.array(list(MIGRANT_PROVINCES))
    p = np.array(list(MIGRANT_PROVINCES.values()))
    prov = provinces[rng.choice(len(provinces), n, p=p / p.sum())]
    from popbase.population.area_codes import area_timeline

    # Statistical-only codes (development zones such as 340176: NBS numbers them 71-99
    # within their city) never appear in IDs; the counties created since the timeline was
    # made (520581 黔西市, 2021) do.
    zone = areas["code"].str[4:].astype(int) >= 70
    issued = areas[areas["code"].isin(list(area_timeline())) | ~zone]
    county = issued.groupby("provinceCode")["code"].apply(np.array).to_dict()
    hukou_area = np.full(n, district_code, dtype=object)
    migrants = np.flatnonzero(origin == "other_province")
    for pc in np.unique(prov[migrants]):
        sel = migrants[prov[migrants] == pc]
        hukou_area[sel] = rng.choice(county[pc], len(sel))
    city = np.flatnonzero(origin == "same_city")
    others = np.array(
        [c for c in areas.loc[areas["cityCode"] == "3101", "code"] if c != district_code]
    )
    hukou_area[city] = rng.choice(others, len(city))
    id_area = hukou_area.copy()
    # Older Shanghai-born people carry the code of the district that issued their ID,
    # which may since have been abolished (卢湾区 310103, 闸北区 310108 …).
    shanghai = np.flatnonzero((origin != "other_province") & (rng.random(n) < 0.3))
    if abolished and len(shanghai):
        codes = np.array(list(abolished))
        spans = np.array([(s, e) for _, s, e in abolished.values()])
        pick = rng.integers(0, len(codes), len(shanghai))
        # An ID keeps the code of the county that issued it: at birth, or in 1984 when the
        # first numbers were given to people already born.
        issued = np.maximum(year[shanghai], FIRST_ID_YEAR)
        fits = (issued >= spans[pick, 0]) & (issued <= spans[pick, 1])
        id_area[shanghai[fits]] = codes[pick[fits]]
    ethnicity = np.where(rng.random(n) < 0.985, "汉族", "")
    minority = ethnicity == ""
    ethnicity[minority] = np.array(ETHNIC_MINORITIES)[
        rng.integers(0, len(ETHNIC_MINORITIES), minority.sum())
    ]
    sex = persons["sex"].to_numpy()
    has_phone = (persons["age"].to_numpy() >= 14) & (rng.random(n) < 0.97)
    area = id_area.astype(str)
    ids = taken.unique(
        "id",
        generate_id_numbers(area, birth, sex, rng),
        lambda k: generate_id_numbers(area[k], birth[k], sex[k], rng),
    )
    phones = taken.unique("phone", generate_phones(n, rng), lambda k: generate_phones(len(k), rng))
    return persons.assign(
        birth_date=birth.astype(str),
        id_area_code=id_area,
        id_number=ids,
        name=person_names(sex, ethnicity, rng),
        ethnicity=ethnicity,
        phone=np.where(has_phone, phones, ""),
        hukou_area_code=hukou_area,
    )


def life_events(persons: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Education, marriage, health, disability, assistance and social identity.

    Rates are plausible magnitudes for a Chinese megacity district, not census figures.
    """
    n = len(persons)
    age = persons["age"].to_numpy()
    male = persons["sex"].to_numpy() == "M"
    married = persons["married"].to_numpy()

    def r() -> np.ndarray:
        """One uniform draw per person."""
        return np.asarray(rng.random(n))

    # Younger cohorts are better educated.
    level = np.clip(
        np.round(rng.normal(np.where(age < 45, 3.6, np.where(age < 65, 2.3, 1.5)), 1.1)), 0, 5
    )
    education = np.where(age >= 22, np.array(EDUCATION)[level.astype(int)], "")
    single_status = np.where(age >= 70, "丧偶", np.where(age >= 35, "离婚", "未婚"))
    marital = np.where(
        married, "已婚", np.where(age >= 20, np.where(r() < 0.6, "未婚", single_status), "")
    )
    working_age = (age >= 18) & np.where(male, age < 60, age < 55)
    employed = working_age & (r() < np.where(age < 23, 0.3, 0.82))
    disabled = r() < np.where(age < 18, 0.006, np.where(age < 60, 0.02, 0.08))
    hypertension = r() < np.where(age < 35, 0.0, np.where(age < 60, 0.15, 0.45))
    diabetes = r() < np.where(age < 35, 0.0, np.where(age < 60, 0.05, 0.18))
    chronic = np.where(
        hypertension & diabetes,
        "高血压;糖尿病",
        np.where(hypertension, "高血压", np.where(diabetes, "糖尿病", "")),
    )
    pregnant = ~male & married & (age >= 22) & (age <= 40) & (r() < 0.04)
    family_doctor = r() < np.where(age >= 65, 0.75, np.where(chronic != "", 0.6, 0.15))
    household = persons["household"].to_numpy()
    household_low_income = (rng.random(int(household.max()) + 1) < 0.012)[household]
    return persons.assign(
        education=education,
        marital_status=marital,
        employed=employed,
        disabled=disabled,
        disability_grade=np.where(disabled, rng.integers(1, 5, n), 0),
        disability_type=np.where(
            disabled,
            np.array(["肢体", "视力", "听力", "言语", "智力", "精神"])[rng.integers(0, 6, n)],
            "",
        ),
        chronic_disease=chronic,
        pregnant=pregnant,
        family_doctor=family_doctor,
        low_income=household_low_income,
        party_member=(age >= 18) & (r() < np.where(age >= 60, 0.15, 0.08)),
        veteran=male & (age >= 40) & (r() < 0.03),
        volunteer=(age >= 16) & (r() < np.where(age >= 60, 0.10, 0.06)),
        elderly_care=(age >= 80) & (r() < 0.2),
    )
