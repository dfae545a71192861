"""Generate a whole sample city: ``popbase sample OUT --persons N --seed S``.

One district at a time (or all 16), one street at a time inside a district, so that the
whole of Shanghai at census scale fits in memory. Deterministic for a seed: every
district and street draws from its own generator seeded by (seed, district, street).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from popbase.sample import departments as dept
from popbase.sample import registers
from popbase.sample.addresses import AddressBook, AddressStyle, address_parts
from popbase.sample.buildings import address_buildings, community_buildings, footprints, rooms_of
from popbase.sample.economy import enterprise_table, facility_plan, outside_employers
from popbase.sample.frame import DistrictFrame, district_names, load_district
from popbase.sample.geography import (
    blocks_between,
    divisions_from_frame,
    grids_from_communities,
    roads_in,
)
from popbase.sample.people import (
    IssuedNumbers,
    StreetPlan,
    add_non_residents,
    district_ages,
    identities,
    life_events,
    street_people,
)
from popbase.sample.profiles import dirt_profile
from popbase.sample.project_file import write_project_file
from popbase.sample.residence import assign_hukou, assign_rooms, employment, residency
from popbase.sample.roads import committee_roads
from popbase.sample.writer import SampleWriter, as_geoframe
from popbase.space.crs import GEOGRAPHIC, SHANGHAI_PROJECTED, transform_geometries

Progress = Callable[[str, int, int], None]
DEFAULT_AS_OF = dt.date(2026, 10, 31)


@dataclass(frozen=True)
class SampleOptions:
    """What to generate.

    Attributes
    ----------
    persons
        Residents in all (split between districts by census population with ``"all"``).
    seed
        Random seed; the same seed gives the same city.
    district
        A Shanghai district code, or ``"all"`` for the 16 districts.
    streets
        Keep only the first streets of each district (small test cities).
    communities_per_street
        Keep only the first committees of each street.
    as_of
        The date the deliveries describe.
    housing_share
        Share of streets whose housing table is delivered.
    dirt
        How dirty the department records are: ``light``, ``default`` or ``heavy``
        (:mod:`popbase.sample.profiles`).
    """

    persons: int = 50_000
    seed: int = 0
    district: str = "310112"
    streets: int | None = None
    communities_per_street: int | None = None
    as_of: dt.date = DEFAULT_AS_OF
    housing_share: float = 0.4
    dirt: str = "default"


def _allocate(total: int, weights: np.ndarray) -> np.ndarray:
    """Split ``total`` into integers proportional to ``weights`` (largest remainder)."""
    quota = weights / weights.sum() * total
    out = np.floor(quota).astype(int)
    out[np.argsort(out - quota)[: total - out.sum()]] += 1
    return np.asarray(out)


def _china_frames() -> dict[str, pd.DataFrame]:
    from importlib import resources

    def read(name: str) -> pd.DataFrame:
        with resources.files("popbase.data").joinpath(name).open("rb") as fh:
            return pd.read_csv(fh, dtype=str)

    return {
        "areas": read("areas.csv"),
        "cities": read("cities.csv"),
        "provinces": read("provinces.csv"),
    }


def _abolished_shanghai() -> dict[str, tuple[str, int, int]]:
    from popbase.population.area_codes import area_timeline

    out: dict[str, tuple[str, int, int]] = {}
    for code, spans in area_timeline().items():
        if code.startswith("31") and len(code) == 6 and code[4:] != "00":
            last = spans[-1]
            if last.end_year is not None:
                out[code] = (last.name, last.start_year or 1900, last.end_year)
    return out


@dataclass(frozen=True)
class _Reference:
    """What every district draws on: China's divisions, abolished codes, issued numbers.

    ``roads`` collects the road names the districts generated so far use: a city names
    each road once.
    """

    frames: dict[str, pd.DataFrame]
    abolished: dict[str, tuple[str, int, int]]
    issued: IssuedNumbers
    roads: set[str] = field(default_factory=set)


class _District:
    """The built environment of one district, and writers of its addresses."""

    def __init__(
        self,
        frame: DistrictFrame,
        opts: SampleOptions,
        n: int,
        rng: np.random.Generator,
        roads_taken: set[str] | None = None,
    ) -> None:
        self.frame, self.n, self.rng = frame, n, rng
        boundary = transform_geometries(frame.boundary, GEOGRAPHIC, SHANGHAI_PROJECTED)
        self.divisions = divisions_from_frame(
            frame, boundary, rng, opts.streets, opts.communities_per_street
        )
        comm = self.divisions[self.divisions["level"] == "community"].reset_index(drop=True)
        self.communities = comm
        self.grids = grids_from_communities(comm, rng)
        self.roads = roads_in(boundary, rng, communities=comm, taken=roads_taken)
        self.blocks = blocks_between(self.roads, boundary)
        village = comm["name"].str.endswith("村委会").to_numpy()
        weights = rng.lognormal(0, 0.45, len(comm)) * np.where(village, 0.55, 1.0)
        self.residents = dict(zip(comm["code"], _allocate(n, weights).tolist(), strict=True))
        street_pop: dict[str, int] = {}
        for code, residents in self.residents.items():
            street_pop[code[:9]] = street_pop.get(code[:9], 0) + residents
        streets = self.divisions[self.divisions["level"] == "street"]
        names = dict(zip(streets["code"], streets["name"], strict=True))
        self.town_of = names
        self.facility_plan = facility_plan(street_pop, names, rng)
        uses = self._other_uses(comm, village)
        hh_size = frame.census.household_size
        parts = [
            community_buildings(
                code, geom, int(np.ceil(self.residents[code] / hh_size)), bool(v), uses[code], rng
            )
            for code, geom, v in zip(comm["code"], comm["geometry"], village, strict=True)
        ]
        b = pd.concat(parts, ignore_index=True)
        b.insert(0, "building_id", [f"{frame.code}{i:07d}" for i in range(1, len(b) + 1)])
        villages = {
            c: n.removesuffix("村委会")
            for c, n in zip(comm["code"], comm["name"], strict=True)
            if n.endswith("村委会")
        }
        named_after = committee_roads(comm["name"])
        roads_of = {
            c: named_after[n]
            for c, n in zip(comm["code"], comm["name"], strict=True)
            if n in named_after
        }
        b = address_buildings(b, self.roads, villages, rng, roads_of)
        b["geometry"] = footprints(b)
        b["grid_code"] = self._grid_of(b)
        self.buildings = b
        self.rooms = rooms_of(b).assign(street_code=lambda r: r["community_code"].str[:9])
        self.facilities = self._place_facilities(b)
        self.enterprises = enterprise_table(
            max(5, round(n * 0.02)), b, frame.code, frame.name, opts.as_of, rng
        )
        self.outside = outside_employers(max(20, n // 200), rng)
        rooms_at = address_parts(
            self.rooms["building_id"].to_numpy(),
            self.rooms["room_no"].to_numpy(),
            b,
            frame.name,
            names,
        )
        self.room_book = AddressBook(self.rooms["room_id"].to_numpy(), rooms_at)
        plates = address_parts(
            b["building_id"].to_numpy(), np.full(len(b), "", dtype=object), b, frame.name, names
        )
        self.building_book = AddressBook(b["building_id"].to_numpy(), plates)

    def _other_uses(self, comm: pd.DataFrame, village: np.ndarray) -> dict[str, list[str]]:
        rng = self.rng
        uses: dict[str, list[str]] = {c: [] for c in comm["code"]}
        urban = comm.loc[~village, "code"].to_numpy()
        if len(urban) == 0:
            urban = comm["code"].to_numpy()
        for street, ftype in self.facility_plan[["street_code", "use"]].itertuples(index=False):
            cands = [c for c in urban if c.startswith(street)] or [
                c for c in comm["code"] if c.startswith(street)
            ]
            uses[cands[int(rng.integers(0, len(cands)))]].append(ftype)
        n_ent = max(5, round(self.n * 0.02))
        pop = np.array([self.residents[c] for c in urban], dtype=float)
        offices = _allocate(max(1, n_ent // 25), pop + 1)
        for c, k in zip(urban, offices, strict=True):
            uses[c] += ["office"] * int(k)
            uses[c] += ["mixed"] * int(rng.binomial(2, 0.3)) + ["commercial"] * int(
                rng.random() < 0.5
            )
        return uses

    def _grid_of(self, b: pd.DataFrame) -> np.ndarray:
        out = np.empty(len(b), dtype=object)
        for comm, idx in b.groupby("community_code").indices.items():
            g = self.grids[self.grids["community_code"] == comm]
            x, y = b["x"].to_numpy()[idx], b["y"].to_numpy()[idx]
            out[idx] = g["grid_code"].iloc[0]
            for code, geom in zip(g["grid_code"], g["geometry"], strict=True):
                out[idx[shapely.contains_xy(geom, x, y)]] = code
        return out

    def _place_facilities(self, b: pd.DataFrame) -> pd.DataFrame:
        plan = self.facility_plan.copy()
        # Each facility takes the next free building of its use in its street.
        street = b["community_code"].str[:9].to_numpy(dtype=object)
        free: dict[tuple[str, str], list[str]] = {}
        for key, bid in zip(zip(street, b["use"], strict=True), b["building_id"], strict=True):
            free.setdefault(key, []).append(bid)
        for lst in free.values():
            lst.reverse()
        plan["building_id"] = [
            free[(s, u)].pop() for s, u in zip(plan["street_code"], plan["use"], strict=True)
        ]
        plan.insert(
            0, "facility_id", [f"F{self.frame.code}{i:05d}" for i in range(1, len(plan) + 1)]
        )
        pts = transform_geometries(shapely.points(b["x"], b["y"]), SHANGHAI_PROJECTED, GEOGRAPHIC)
        where = pd.Series(pts, index=b["building_id"])
        geo = where.reindex(plan["building_id"]).to_numpy()
        return plan.assign(lon=shapely.get_x(geo), lat=shapely.get_y(geo))

    def write_rooms(self, room_ids: np.ndarray, style: AddressStyle) -> np.ndarray:
        """Render addresses of rooms (``""`` for no room)."""
        return self.room_book.render(room_ids, style, self.rng)

    def write_buildings(self, building_ids: np.ndarray, style: AddressStyle) -> np.ndarray:
        """Render door-plate addresses of buildings."""
        return self.building_book.render(building_ids, style, self.rng)


def _street_plans(d: _District) -> list[StreetPlan]:
    plans = []
    for street in d.divisions.loc[d.divisions["level"] == "street"].itertuples():
        comms = [c for c in d.communities["code"] if c.startswith(street.code)]
        plans.append(
            StreetPlan(
                str(street.code),
                str(street.name),
                tuple(comms),
                tuple(d.residents[c] for c in comms),
            )
        )
    return plans


def _people_of_street(
    d: _District,
    plan: StreetPlan,
    ages: np.ndarray,
    opts: SampleOptions,
    first_id: int,
    ref: _Reference,
    rng: np.random.Generator,
) -> pd.DataFrame:
    frames = ref.frames
    census = d.frame.census
    persons, households = street_people(plan, ages, census, opts.as_of, rng)
    households["room_id"] = assign_rooms(
        households, d.rooms[d.rooms["street_code"] == plan.code], rng
    )
    persons["home_room_id"] = households["room_id"].to_numpy()[persons["household"].to_numpy()]
    persons["household_key"] = [f"H{plan.code}{h:06d}" for h in persons["household"]]
    persons = add_non_residents(persons, rng)
    persons.insert(
        0,
        "person_id",
        [f"P{d.frame.code}{i:08d}" for i in range(first_id, first_id + len(persons))],
    )
    persons = identities(
        persons, d.frame.code, opts.as_of, frames["areas"], ref.abolished, ref.issued, rng
    )
    persons = life_events(persons, rng)
    persons = assign_hukou(persons, d.rooms, plan.code, frames, rng)
    # People registered here but living elsewhere have no room here.
    persons.loc[persons["presence"] == "absent", "home_room_id"] = ""
    persons = residency(persons, opts.as_of, rng)
    persons = employment(persons, d.enterprises, d.outside, rng)
    persons["residence_room_id"] = np.where(
        persons["presence"] == "resident", persons["home_room_id"], ""
    )
    persons["street_code"] = plan.code
    return persons


def _truth_persons(p: pd.DataFrame) -> pd.DataFrame:
    cols = [
        "person_id",
        "household_key",
        "relation",
        "name",
        "sex",
        "birth_date",
        "age",
        "id_number",
        "id_area_code",
        "ethnicity",
        "phone",
        "presence",
        "origin",
        "residency_status",
        "months_here",
        "residence_since",
        "residence_room_id",
        "home_room_id",
        "hukou_room_id",
        "hukou_text",
        "community_code",
        "street_code",
        "married",
        "marital_status",
        "education",
        "employed",
        "employer_credit_code",
        "enterprise_id",
        "disabled",
        "disability_grade",
        "disability_type",
        "chronic_disease",
        "pregnant",
        "family_doctor",
        "low_income",
        "party_member",
        "veteran",
        "volunteer",
        "elderly_care",
    ]
    out = p[cols].copy()
    out["community_code"] = np.where(out["presence"] == "resident", out["community_code"], "")
    # Moving out of the district takes the hukou along; only stale rows keep the old one.
    out["hukou_room_id"] = np.where(out["presence"] == "moved_out", "", out["hukou_room_id"])
    return out


def _generate_district(
    code: str,
    n: int,
    opts: SampleOptions,
    w: SampleWriter,
    ref: _Reference,
    progress: Progress | None,
) -> dict[str, int]:
    frame = load_district(code)
    rng = np.random.default_rng([opts.seed, int(code)])
    d = _District(frame, opts, n, rng, ref.roads)
    dirt = dirt_profile(opts.dirt)
    plans = _street_plans(d)
    ages = district_ages(frame.census, n, rng)
    hukou_no = dict(
        zip(d.rooms["room_id"], [f"{code}{i:07d}" for i in range(1, len(d.rooms) + 1)], strict=True)
    )
    comm_names = dict(zip(d.communities["code"], d.communities["name"], strict=True))
    grid_of_building = d.buildings.set_index("building_id")["grid_code"]
    building_xy = d.buildings.set_index("building_id")[["x", "y"]]
    grid_res: list[pd.Series] = []
    grid_work: list[pd.Series] = []
    start, next_id = 0, 1
    counts = {"residents": 0, "persons": 0, "households": 0}
    for k, plan in enumerate(plans):
        srng = np.random.default_rng([opts.seed, int(code), k + 1])
        m = sum(plan.residents)
        p = _people_of_street(d, plan, ages[start : start + m], opts, next_id, ref, srng)
        start += m
        next_id += len(p)
        w.truth("persons", _truth_persons(p))
        hh = (
            p[p["presence"] == "resident"]
            .groupby("household_key")
            .agg(
                room_id=("home_room_id", "first"),
                community_code=("community_code", "first"),
                size=("person_id", "size"),
                origin=("origin", "first"),
            )
        )
        w.truth("households", hh.reset_index())
        w.source(
            "police_hukou",
            dept.police_register(p, plan.code, hukou_no, d.write_rooms, srng, dirt),
        )
        w.ledger(
            plan.code,
            plan.name,
            opts.as_of.strftime("%Y年%m月"),
            dept.community_ledger(p, plan.code, comm_names, d.write_rooms, opts.as_of, srng, dirt),
        )
        w.source("health", dept.health_records(p, plan.code, d.write_rooms, opts.as_of, srng, dirt))
        w.source(
            "civil_affairs",
            dept.civil_affairs(p, plan.code, d.write_rooms, opts.as_of, srng, dirt),
        )
        w.source("social_security", dept.social_security(p, plan.code, opts.as_of, srng, dirt))
        w.source(
            "hotline",
            dept.hotline_tickets(
                p, plan.code, d.buildings, d.rooms, d.write_rooms, opts.as_of, srng, dirt
            ),
        )
        w.source(
            "operator_presence",
            dept.operator_presence(
                p, plan.code, building_xy, SHANGHAI_PROJECTED, opts.as_of, srng, dirt
            ),
        )
        res = p[p["presence"] == "resident"]
        grid_res.append(
            res["home_room_id"].str.rsplit("-", n=1).str[0].map(grid_of_building).value_counts()
        )
        ent = p.loc[p["enterprise_id"] != "", "enterprise_id"]
        ent_grid = d.enterprises.set_index("enterprise_id")["building_id"].map(grid_of_building)
        grid_work.append(ent.map(ent_grid).value_counts())
        counts["residents"] += len(res)
        counts["persons"] += len(p)
        counts["households"] += len(hh)
        if progress:
            progress(f"{frame.name} {plan.name}", k + 1, len(plans))
    w.source(
        "enterprise_registry",
        registers.enterprise_registry(d.enterprises, frame.name, d.write_buildings, rng),
    )
    streets = [p.code for p in plans]
    # The housing survey has reached its share of the streets: at least one, and (with
    # several) not all, so that projects meet both covered and uncovered streets.
    k = min(max(1, round(opts.housing_share * len(streets))), max(1, len(streets) - 1))
    surveyed = sorted(rng.choice(streets, k, replace=False).tolist())
    w.source(
        "housing", registers.housing_table(d.rooms, surveyed, d.write_rooms, d.write_buildings, rng)
    )
    visitors = d.buildings[d.buildings["use"].isin(["commercial", "mixed"])].groupby(
        "grid_code"
    ).size() * max(1.0, n / 2000)
    w.source(
        "signaling",
        registers.signaling(
            pd.Index(d.grids["grid_code"]),
            pd.concat(grid_res).groupby(level=0).sum(),
            pd.concat(grid_work).groupby(level=0).sum(),
            visitors,
            opts.as_of - dt.timedelta(days=1),
            rng,
        ),
    )
    _write_space(d, w)
    counts.update(
        buildings=len(d.buildings),
        rooms=len(d.rooms),
        communities=len(d.communities),
        enterprises=len(d.enterprises),
    )
    return counts


def _write_space(d: _District, w: SampleWriter) -> None:
    crs = SHANGHAI_PROJECTED
    w.layer("divisions", as_geoframe(d.divisions, crs))
    w.layer("grids", as_geoframe(d.grids, crs))
    w.layer("roads", as_geoframe(d.roads[["road_id", "name", "kind", "geometry"]], crs))
    w.layer("blocks", as_geoframe(d.blocks, crs))
    cols = [
        "building_id",
        "address",
        "use",
        "floors",
        "road",
        "lane_no",
        "house_no",
        "village",
        "group_no",
        "compound",
        "geometry",
    ]
    w.layer("buildings", as_geoframe(d.buildings[cols], crs))
    w.truth("buildings", d.buildings.drop(columns=["geometry"]))
    w.truth("rooms", d.rooms)
    w.truth("enterprises", d.enterprises)
    w.truth("facilities", d.facilities)
    w.truth("grids_of_buildings", d.buildings[["building_id", "grid_code", "community_code"]])
    path = w.root / "basemap" / "facilities.csv"
    cols_f = ["facility_id", "name", "type", "capacity", "building_id", "lon", "lat"]
    header = not path.exists()
    d.facilities[cols_f].to_csv(
        path, mode="w" if header else "a", header=header, index=False, float_format="%.6f"
    )


def generate_sample(
    out: Path | str, opts: SampleOptions, progress: Progress | None = None
) -> dict[str, object]:
    """Write a complete sample project with its ground truth.

    Parameters
    ----------
    out
        Folder to create (must be empty or absent).
    opts
        What to generate.
    progress
        Called with (what, done, total) after each street.

    Returns
    -------
    dict
        Summary counts, also written to ``truth/summary.json``.
    """
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} is not empty; choose a new folder for the sample")
    dirt_profile(opts.dirt)  # validates the name before anything is written
    names = district_names()
    if opts.district == "all":
        codes = list(names)
        pops = np.array([load_district(c).census.population for c in codes], dtype=float)
        split = _allocate(opts.persons, pops)
    else:
        load_district(opts.district)  # validates the code with a helpful message
        codes, split = [opts.district], np.array([opts.persons])
    ref = _Reference(_china_frames(), _abolished_shanghai(), IssuedNumbers())
    districts: dict[str, dict[str, int]] = {}
    with SampleWriter(out, stamp=f"{opts.as_of.isoformat()}T00:00:00.000Z") as w:
        for code, n in zip(codes, split.tolist(), strict=True):
            districts[code] = _generate_district(code, n, opts, w, ref, progress)
        rows = dict(w.rows)
    summary: dict[str, object] = {
        "options": {k: str(v) for k, v in asdict(opts).items()},
        "districts": districts,
        "source_rows": rows,
    }
    region = "3101" if opts.district == "all" else opts.district
    write_project_file(out, region, names.get(region, "上海市"), opts.as_of)
    (out / "truth" / "summary.json").write_text(
        json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    return summary
