"""Where the sample's people live, where their hukou is, and where they work.

Households move into free rooms of their committee (two households share a room when a
committee is full, as in group rentals). Hukou follows the household's origin: the same
room for people registered where they live; another room of the district for people
registered in another street; a textual address elsewhere for the rest. Residency status
follows the statistical definitions: 人在户在; 人在户不在, split at six months of residence
into resident (常住) and floating (流动); 人不在户在 for people registered here who live
elsewhere.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from popbase.sample.names import ROAD_FIRST, VILLAGE_SYLLABLES

RESIDENCY_LABELS = {
    "present_registered": "人在户在",
    "present_resident": "人在户不在（常住）",
    "present_floating": "人在户不在（流动）",
    "absent_registered": "人不在户在",
    "none": "",
}


def assign_rooms(
    households: pd.DataFrame, rooms: pd.DataFrame, rng: np.random.Generator
) -> np.ndarray:
    """A room for each household, distinct within its committee while rooms last.

    Parameters
    ----------
    households
        ``household, community_code``.
    rooms
        ``room_id, community_code`` of the committees concerned.
    rng
        Random generator.

    Returns
    -------
    numpy.ndarray
        Room id per household (aligned with ``households``).
    """
    out = np.empty(len(households), dtype=object)
    by_comm = rooms.groupby("community_code")["room_id"].apply(np.array).to_dict()
    for comm, idx in households.groupby("community_code").indices.items():
        free = rng.permutation(by_comm[comm])
        taken = free[: len(idx)]
        if len(idx) > len(free):
            taken = np.concatenate([taken, rng.choice(free, len(idx) - len(free))])
        out[idx] = taken
    return out


def _province_address(
    codes: np.ndarray,
    areas: pd.DataFrame,
    cities: pd.DataFrame,
    provinces: pd.DataFrame,
    rng: np.random.Generator,
) -> np.ndarray:
    """A plausible hukou address in the county of each code (village forms mostly)."""
    county = areas.set_index("code")["name"]
    city = cities.set_index("code")["name"]
    prov = provinces.set_index("code")["name"]
    n = len(codes)
    cc = pd.Series(codes)
    head = (
        cc.str[:2].map(prov).fillna("")
        + cc.str[:4].map(city).fillna("")
        + cc.map(county).fillna("")
    )
    # Municipalities repeat their name as city (北京市市辖区): drop that level.
    head = head.str.replace("市辖区", "", regex=False)
    syl = np.array(list(VILLAGE_SYLLABLES))
    town = (
        pd.Series(syl[rng.integers(0, len(syl), n)])
        + pd.Series(syl[rng.integers(0, len(syl), n)])
        + "镇"
    )
    village = (
        pd.Series(syl[rng.integers(0, len(syl), n)])
        + pd.Series(syl[rng.integers(0, len(syl), n)])
        + "村"
    )
    rest = (
        town
        + village
        + pd.Series(rng.integers(1, 12, n).astype(str))
        + "组"
        + pd.Series(rng.integers(1, 90, n).astype(str))
        + "号"
    )
    return (head + rest).to_numpy()


def _shanghai_address(
    codes: np.ndarray, areas: pd.DataFrame, rng: np.random.Generator
) -> np.ndarray:
    """A plausible hukou address in another Shanghai district (outside this basemap)."""
    county = areas.set_index("code")["name"]
    n = len(codes)
    chars = np.array(list(ROAD_FIRST))
    road = (
        pd.Series(chars[rng.integers(0, len(chars), n)])
        + pd.Series(chars[rng.integers(0, len(chars), n)])
        + "路"
    )
    return (
        "上海市"
        + pd.Series(codes).map(county).fillna("")
        + road
        + pd.Series(rng.integers(1, 2000, n).astype(str))
        + "弄"
        + pd.Series(rng.integers(1, 40, n).astype(str))
        + "号"
        + pd.Series((rng.integers(1, 7, n) * 100 + rng.integers(1, 5, n)).astype(str))
        + "室"
    ).to_numpy()


def assign_hukou(
    persons: pd.DataFrame,
    district_rooms: pd.DataFrame,
    street_code: str,
    frames: dict[str, pd.DataFrame],
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Hukou room (in the district) or hukou address (elsewhere) for each person.

    Parameters
    ----------
    persons
        With ``origin, home_room_id, hukou_area_code``.
    district_rooms
        ``room_id, street_code`` of the whole district.
    street_code
        The street being generated.
    frames
        ``areas``, ``cities`` and ``provinces`` tables of China's divisions.
    rng
        Random generator.

    Returns
    -------
    pandas.DataFrame
        ``persons`` with ``hukou_room_id`` (empty when outside) and ``hukou_text``.
    """
    n = len(persons)
    origin = persons["origin"].to_numpy()
    hukou_room = np.where(origin == "local", persons["home_room_id"].to_numpy(), "")
    same = np.flatnonzero(origin == "same_district")
    elsewhere = district_rooms.loc[
        district_rooms["street_code"] != street_code, "room_id"
    ].to_numpy()
    if len(elsewhere) == 0:  # a one-street sample: another building of the same street
        elsewhere = district_rooms["room_id"].to_numpy()
    # A household registered in another street shares one hukou room.
    hh_room = (
        dict(
            zip(
                np.unique(persons["household_key"].to_numpy()[same]).tolist(),
                rng.choice(
                    elsewhere, len(np.unique(persons["household_key"].to_numpy()[same]))
                ).tolist(),
                strict=True,
            )
        )
        if len(same)
        else {}
    )
    hukou_room[same] = [hh_room[k] for k in persons["household_key"].to_numpy()[same]]
    text = np.full(n, "", dtype=object)
    city = origin == "same_city"
    text[city] = _shanghai_address(
        persons["hukou_area_code"].to_numpy()[city], frames["areas"], rng
    )
    prov = origin == "other_province"
    text[prov] = _province_address(
        persons["hukou_area_code"].to_numpy()[prov],
        frames["areas"],
        frames["cities"],
        frames["provinces"],
        rng,
    )
    return persons.assign(hukou_room_id=hukou_room, hukou_text=text)


def residency(persons: pd.DataFrame, as_of: dt.date, rng: np.random.Generator) -> pd.DataFrame:
    """Months of residence, residence start, and residency status per person."""
    n = len(persons)
    age = persons["age"].to_numpy()
    local = persons["origin"].to_numpy() == "local"
    presence = persons["presence"].to_numpy()
    months = np.where(
        local,
        np.minimum(age * 12 + 6, rng.integers(12, 480, n)),
        np.where(
            rng.random(n) < 0.1, rng.integers(0, 6, n), 6 + rng.exponential(48, n).astype(int)
        ),
    )
    months = np.minimum(months, age * 12 + rng.integers(0, 12, n))
    since = np.datetime64(as_of) - (months * 30.4).astype(int).astype("timedelta64[D]")
    status = np.where(
        presence == "absent",
        "absent_registered",
        np.where(
            presence != "resident",
            "none",
            np.where(
                local,
                "present_registered",
                np.where(months >= 6, "present_resident", "present_floating"),
            ),
        ),
    )
    return persons.assign(
        months_here=months, residence_since=since.astype(str), residency_status=status
    )


def employment(
    persons: pd.DataFrame,
    enterprises: pd.DataFrame,
    outside: pd.DataFrame,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Employer of each employed person: in the district (by firm size) or outside."""
    n = len(persons)
    employed = persons["employed"].to_numpy()
    inside = employed & (rng.random(n) < 0.65)
    out = employed & ~inside
    size = enterprises["size"].to_numpy().astype(float)
    pick = rng.choice(len(enterprises), n, p=size / size.sum())
    opick = rng.integers(0, len(outside), n)
    code = np.where(
        inside,
        enterprises["credit_code"].to_numpy()[pick],
        np.where(out, outside["credit_code"].to_numpy()[opick], ""),
    )
    name = np.where(
        inside,
        enterprises["name"].to_numpy()[pick],
        np.where(out, outside["name"].to_numpy()[opick], ""),
    )
    eid = np.where(inside, enterprises["enterprise_id"].to_numpy()[pick], "")
    return persons.assign(employer_credit_code=code, employer_name=name, enterprise_id=eid)
