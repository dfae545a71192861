"""The sample city's real population: census totals, identities, homes, hukou, status."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pytest

from popbase.population.area_codes import area_timeline
from popbase.population.credit_code import validate_credit_codes
from popbase.population.resident_id import validate_id_numbers
from popbase.sample.frame import AGE_BANDS, load_district
from popbase.sample.people import IssuedNumbers

if TYPE_CHECKING:
    from sample_fixtures import SampleCity

pytest_plugins = ["sample_fixtures"]

# The first resident ID cards (15-digit numbers) were issued from 1984.
FIRST_ID_CARDS = 1984


def test_resident_total_equals_persons(any_city: SampleCity) -> None:
    n = any_city.options.persons
    assert len(any_city.residents) == n
    households = any_city.truth("households")
    assert households["size"].sum() == n
    summary = json.loads((any_city.root / "truth" / "summary.json").read_text("utf-8"))
    assert summary == any_city.summary
    assert summary["districts"][any_city.options.district]["residents"] == n
    # Non-residents (registered here but away, deceased, moved out) come on top.
    assert len(any_city.persons) > n
    assert any_city.persons["person_id"].is_unique


def test_age_bands_follow_the_census(any_city: SampleCity) -> None:
    census = load_district(any_city.options.district).census
    age = any_city.residents["age"].to_numpy()
    n = len(age)
    assert age.min() >= 0
    counts = np.array([((age >= lo) & (age <= hi)).sum() for _, lo, hi in AGE_BANDS])
    assert counts.sum() == n, "an age falls outside every census band"
    quota = census.age_band_shares * n
    # Largest remainder: every band is its quota rounded down or up.
    assert (np.abs(counts - quota) < 1).all(), pd.DataFrame({"count": counts, "quota": quota})


def test_id_numbers_are_valid_unique_and_encode_birth_and_sex(any_city: SampleCity) -> None:
    p = any_city.persons
    checked = validate_id_numbers(p["id_number"], as_of=any_city.options.as_of)
    assert checked["valid"].all(), checked.loc[~checked["valid"], "reason"].value_counts()
    assert (checked["normalized"] == p["id_number"]).all(), "IDs are not in canonical form"
    assert p["id_number"].is_unique
    assert (checked["birth_date"] == p["birth_date"]).all()
    assert (checked["sex"] == p["sex"]).all()
    assert (p["id_number"].str[:6] == p["id_area_code"]).all()


def _historical(sample_city: SampleCity) -> pd.DataFrame:
    p = sample_city.persons
    checked = validate_id_numbers(p["id_number"], as_of=sample_city.options.as_of)
    return p[checked["historical_area"].to_numpy()]


def test_abolished_area_codes_are_carried_by_people_born_before_abolition(
    sample_city: SampleCity,
) -> None:
    holders = _historical(sample_city)
    assert len(holders) > 0, "nobody carries an abolished area code"
    assert len(holders) < 0.2 * len(sample_city.persons)
    assert holders["id_area_code"].str.startswith("31").all()
    assert holders["origin"].ne("other_province").all()
    timeline = area_timeline()
    ended = holders["id_area_code"].map(lambda c: timeline[c][-1].end_year)
    born = holders["birth_date"].str[:4].astype(int)
    assert (born <= ended).all(), holders.loc[born > ended, ["id_area_code", "birth_date"]]


def test_abolished_area_codes_were_in_use_when_id_numbers_existed(
    sample_city: SampleCity,
) -> None:
    timeline = area_timeline()
    ended = _historical(sample_city)["id_area_code"].map(lambda c: timeline[c][-1].end_year)
    assert (ended >= FIRST_ID_CARDS).all(), ended[ended < FIRST_ID_CARDS].value_counts()


def test_origins_of_residents_follow_census_separation(sample_city: SampleCity) -> None:
    census = load_district(sample_city.options.district).census
    expected = dict(census.origin_shares)
    expected["local"] = 1 - sum(census.origin_shares.values())
    got = sample_city.residents["origin"].value_counts(normalize=True)
    assert set(got.index) == set(expected)
    for origin, share in expected.items():
        assert got[origin] == pytest.approx(share, abs=0.03), origin


def test_residency_status_follows_presence_origin_and_months(any_city: SampleCity) -> None:
    p = any_city.persons
    resident = p["presence"] == "resident"
    local = p["origin"] == "local"
    short = p["months_here"] < 6
    status = p["residency_status"]
    assert set(p["presence"]) == {"resident", "absent", "deceased", "moved_out"}
    assert ((status == "present_registered") == (resident & local)).all()
    assert ((status == "present_resident") == (resident & ~local & ~short)).all()
    assert ((status == "present_floating") == (resident & ~local & short)).all()
    assert ((status == "absent_registered") == (p["presence"] == "absent")).all()
    assert ((status == "none") == p["presence"].isin(["deceased", "moved_out"])).all()
    # Registered here but living elsewhere: only people whose hukou is here.
    assert (p.loc[p["presence"] == "absent", "origin"] == "local").all()
    assert (p["months_here"] >= 0).all()
    assert (p["months_here"] < (p["age"] + 1) * 12).all(), "lived here longer than alive"
    for kind in ("present_registered", "present_resident", "present_floating"):
        assert (status == kind).sum() > 0, kind


def test_people_not_living_here_have_no_residence(any_city: SampleCity) -> None:
    away = any_city.persons[any_city.persons["presence"] != "resident"]
    assert len(away) > 0
    assert (away["residence_room_id"] == "").all()
    assert (away["community_code"] == "").all()
    assert (any_city.persons.loc[lambda p: p["presence"] == "absent", "home_room_id"] == "").all()


def test_residents_live_in_rooms_of_their_committee(any_city: SampleCity) -> None:
    res = any_city.residents
    rooms = any_city.rooms.set_index("room_id")
    assert (res["residence_room_id"] == res["home_room_id"]).all()
    assert res["residence_room_id"].isin(rooms.index).all()
    room_community = rooms["community_code"].reindex(res["residence_room_id"]).to_numpy()
    assert (room_community == res["community_code"].to_numpy()).all()
    assert (res["street_code"] == res["community_code"].str[:9]).all()


def test_household_members_share_a_room(any_city: SampleCity) -> None:
    res = any_city.residents
    assert res.groupby("household_key")["residence_room_id"].nunique().eq(1).all()
    households = any_city.truth("households").set_index("household_key")
    assert households.index.is_unique
    assert set(households.index) == set(res["household_key"])
    first = res.groupby("household_key")["residence_room_id"].first()
    assert (households["room_id"].reindex(first.index) == first).all()
    sizes = res.groupby("household_key").size()
    assert (households["size"].reindex(sizes.index) == sizes).all()


def test_every_household_has_one_adult_head(any_city: SampleCity) -> None:
    res = any_city.residents
    heads = res[res["relation"] == "户主"]
    assert heads["household_key"].is_unique
    assert set(heads["household_key"]) == set(res["household_key"])
    assert (heads["age"] >= 18).all(), heads.loc[heads["age"] < 18, ["person_id", "age"]]


def test_hukou_follows_origin(sample_city: SampleCity) -> None:
    p = sample_city.persons
    rooms = sample_city.rooms.set_index("room_id")
    res = sample_city.residents
    local = res[res["origin"] == "local"]
    assert (local["hukou_room_id"] == local["residence_room_id"]).all()
    # Registered in another street of this district.
    same = res[res["origin"] == "same_district"]
    assert len(same) > 0
    assert same["hukou_room_id"].isin(rooms.index).all()
    hukou_street = rooms["street_code"].reindex(same["hukou_room_id"]).to_numpy()
    assert (hukou_street != same["street_code"].to_numpy()).all()
    # Registered outside this district: an address, no room here.
    outside = p[p["origin"].isin(["same_city", "other_province"])]
    assert (outside["hukou_room_id"] == "").all()
    assert (outside["hukou_text"] != "").all()
    district = load_district(sample_city.options.district).name
    city_text = outside.loc[outside["origin"] == "same_city", "hukou_text"]
    assert city_text.str.startswith("上海市").all()
    assert not city_text.str.contains(district).any()
    assert (
        not outside.loc[outside["origin"] == "other_province", "hukou_text"]
        .str.startswith("上海")
        .any()
    )
    assert (p.loc[p["presence"] == "absent", "hukou_room_id"] != "").all()


def test_employed_people_have_valid_employers(any_city: SampleCity) -> None:
    p = any_city.persons
    employed = p[p["employed"]]
    assert 0 < len(employed) < len(p)
    assert ((p["employer_credit_code"] != "") == p["employed"]).all()
    assert validate_credit_codes(employed["employer_credit_code"])["valid"].all()
    assert (employed["age"] >= 16).all()
    # Employers in the district are enterprises of the registry with the same code.
    ent = any_city.truth("enterprises").set_index("enterprise_id")["credit_code"]
    inside = employed[employed["enterprise_id"] != ""]
    assert 0 < len(inside) < len(employed)
    assert (ent.reindex(inside["enterprise_id"]).to_numpy() == inside["employer_credit_code"]).all()


def test_phone_numbers_are_unique_across_the_city(any_city: SampleCity) -> None:
    phones = any_city.persons["phone"]
    assert phones[phones != ""].is_unique


def test_issued_numbers_redraw_clashes_across_streets_and_within_a_batch() -> None:
    issued = IssuedNumbers()
    first = issued.unique("phone", np.array(["13800000001", "13800000002"]), lambda k: k)
    assert list(first) == ["13800000001", "13800000002"]
    draws = iter(["13900000009", "13900000010"])

    def redraw(at: np.ndarray) -> np.ndarray:
        return np.array([next(draws) for _ in at], dtype=object)

    # One number clashes with an earlier street, one repeats inside the batch.
    second = issued.unique("phone", np.array(["13800000002", "13700000003", "13700000003"]), redraw)
    assert list(second) == ["13900000009", "13700000003", "13900000010"]
    assert len(issued.issued["phone"]) == 5
