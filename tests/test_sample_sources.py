"""The sample city's department deliveries: formats, record truth and realistic dirt."""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from typing import TYPE_CHECKING

import openpyxl
import pandas as pd
import pyogrio
import pytest
import shapely
import yaml

from popbase.config import load_project
from popbase.io.tables import read_table
from popbase.population.resident_id import validate_id_numbers

if TYPE_CHECKING:
    from sample_fixtures import SampleCity

pytest_plugins = ["sample_fixtures"]

PERSON_SOURCES = (
    "police_hukou",
    "community_ledger",
    "health",
    "civil_affairs",
    "social_security",
    "hotline",
    "operator_presence",
)
RECORD_SOURCES = (*PERSON_SOURCES, "enterprise_registry", "housing")
ID_COLUMNS = {
    "police_hukou": "公民身份号码",
    "community_ledger": "基本信息/公民身份号码",
    "health": "身份证号",
    "civil_affairs": "身份证号",
    "social_security": "身份证号",
    "operator_presence": "证件号码",
}
# Where people write the address they live at.
RESIDENCE_ADDRESSES = {
    "community_ledger": "居住信息/居住地址",
    "health": "现住址",
    "civil_affairs": "现住址",
    "hotline": "诉求地址",
}
HABITS = {
    "full-width digits": r"[０-９]",
    "Chinese numerals": r"[零一二三四五六七八九十百千]+[弄号室组]",
    "12-301 room form": r"\d+号?-\d+",
    "号楼/幢/栋": r"号楼|幢|栋",
}


def person_ids(city: SampleCity, source: str) -> pd.Series:
    """The true person of each record number of a source."""
    rec = city.records[city.records["source"] == source]
    return rec.drop_duplicates("record_no").set_index("record_no")["person_id"]


# --- the project file -------------------------------------------------------------------


def test_project_file_declares_files_that_exist(sample_city: SampleCity) -> None:
    root = sample_city.root
    data = yaml.safe_load((root / "popbase.yaml").read_text(encoding="utf-8"))
    for name, layer in data["space"].items():
        assert (root / layer["path"]).is_file(), f"space.{name}: {layer['path']}"
    for source in data["sources"]:
        path = root / source["path"]
        if path.is_dir():
            assert sorted(path.glob(source["pattern"])), f"{source['name']}: no files in {path}"
        else:
            assert path.is_file(), f"{source['name']}: {path}"
    project = load_project(root)
    names = {s.name for s in project.config.sources}
    assert names == {*RECORD_SOURCES, "signaling"}
    assert project.config.project.region_code == sample_city.options.district
    assert project.config.project.as_of == sample_city.options.as_of


def test_declared_columns_exist_in_the_delivered_files(sample_city: SampleCity) -> None:
    project = load_project(sample_city.root)
    for source in project.config.sources:
        path = project.path(source.path)
        files = sorted(path.glob(source.pattern)) if path.is_dir() else [path]
        for file in files:
            header = read_table(
                file, skip_rows=source.skip_rows, header_rows=source.header_rows
            ).frame.columns
            missing = set(source.columns.values()) - set(header)
            assert not missing, f"{source.name} {file.name}: {missing} not in {list(header)}"
    space = project.config.space
    layers = [*space.divisions, space.grids, space.buildings, space.roads]
    for layer in layers:
        assert layer is not None
        fields = set(pyogrio.read_info(project.path(layer.path))["fields"])
        assert set(layer.fields.values()) <= fields, layer.path
    assert space.facilities is not None
    facilities = pd.read_csv(project.path(space.facilities.path), nrows=1)
    assert set(space.facilities.fields.values()) <= set(facilities.columns)


# --- formats ----------------------------------------------------------------------------


def test_police_register_is_a_gbk_family_export(sample_city: SampleCity) -> None:
    raw = sample_city.source_path("police_hukou").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    text = raw.decode("gb18030")
    assert next(csv.reader(io.StringIO(text)))[:3] == ["记录号", "公民身份号码", "姓名"]
    assert "上海市" in text


def test_health_file_starts_with_a_utf8_bom(sample_city: SampleCity) -> None:
    raw = sample_city.source_path("health").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert next(csv.reader(io.StringIO(raw[3:].decode("utf-8"))))[0] == "记录编号"


def test_ledgers_are_workbooks_with_a_title_and_a_two_row_header(sample_city: SampleCity) -> None:
    files = sample_city.ledger_files
    streets = sample_city.divisions.query("level == 'street'")
    assert [f.name for f in files] == [
        f"{code}_{name}.xlsx" for code, name in zip(streets["code"], streets["name"], strict=True)
    ]
    for file in files:
        book = openpyxl.load_workbook(file, read_only=True)
        top = list(book.worksheets[0].iter_rows(min_row=1, max_row=4, values_only=True))
        book.close()
        title, groups, names, first = top
        assert isinstance(title[0], str) and "台账" in title[0]
        assert file.stem.split("_")[1] in title[0]
        assert all(v is None for v in title[1:])
        assert {"基本信息", "居住信息", "户籍信息"} <= set(groups)
        assert "姓名" in names and "公民身份号码" in names
        # ID numbers are text cells: as numbers, Excel would round them to 15 digits.
        assert isinstance(first[names.index("公民身份号码")], str)
        frame = read_table(file, skip_rows=1, header_rows=2).frame
        for column in ("编号", "基本信息/姓名", "基本信息/公民身份号码", "居住信息/居住地址"):
            assert column in frame.columns
        assert frame["编号"].notna().all()


# --- truth of records -------------------------------------------------------------------


@pytest.mark.parametrize("source", RECORD_SOURCES)
def test_records_truth_has_one_row_per_source_row(sample_city: SampleCity, source: str) -> None:
    rows = sample_city.source(source)[sample_city.source_key(source)]
    truth = sample_city.records.loc[sample_city.records["source"] == source, "record_no"]
    assert len(rows) > 0
    assert Counter(rows) == Counter(truth)
    assert sample_city.summary["source_rows"][source] == len(rows)


@pytest.mark.parametrize("source", ["police_hukou", "community_ledger"])
def test_duplicate_rows_are_exact_copies(sample_city: SampleCity, source: str) -> None:
    frame = sample_city.source(source)
    key = sample_city.source_key(source)
    repeated = frame[frame[key].duplicated(keep=False)]
    assert len(repeated) > 0, "no duplicated rows"
    assert repeated[key].duplicated().sum() < 0.02 * len(frame)
    distinct = repeated.fillna("").drop_duplicates()
    assert distinct[key].is_unique, "rows sharing a record number differ"


def test_records_point_at_true_persons_rooms_and_firms(sample_city: SampleCity) -> None:
    rec = sample_city.records
    persons = sample_city.persons.set_index("person_id")
    rooms = set(sample_city.rooms["room_id"])
    about_people = rec[rec["source"].isin(PERSON_SOURCES)]
    assert (about_people["person_id"] != "").all()
    assert rec.loc[rec["person_id"] != "", "person_id"].isin(persons.index).all()
    assert rec.loc[rec["room_id"] != "", "room_id"].isin(rooms).all()
    # A record's room is the person's hukou room or home, as its address says; ledgers list
    # people registered here who live elsewhere (人不在户在) at their registered home.
    absent = persons["presence"] == "absent"
    listed_home = persons["home_room_id"].where(~absent, persons["hukou_room_id"])
    for kind, where in (("hukou", persons["hukou_room_id"]), ("residence", listed_home)):
        r = rec[(rec["address_kind"] == kind) & (rec["room_id"] != "")]
        assert len(r) > 0, kind
        assert (where.reindex(r["person_id"]).to_numpy() == r["room_id"]).all(), kind
    ent = sample_city.truth("enterprises").set_index("enterprise_id")["building_id"]
    firms = rec[rec["source"] == "enterprise_registry"]
    assert (ent.reindex(firms["enterprise_id"]).to_numpy() == firms["building_id"]).all()
    assert (rec.loc[rec["source"] == "housing", "room_id"] != "").all()


@pytest.mark.parametrize("source", list(ID_COLUMNS))
def test_valid_ids_in_sources_are_the_persons_true_ids(
    sample_city: SampleCity, source: str
) -> None:
    frame = sample_city.source(source)
    key = sample_city.source_key(source)
    checked = validate_id_numbers(frame[ID_COLUMNS[source]], as_of=sample_city.options.as_of)
    true_id = (
        frame[key]
        .map(person_ids(sample_city, source))
        .map(sample_city.persons.set_index("person_id")["id_number"])
    )
    valid = checked["valid"].to_numpy()
    assert valid.mean() > 0.9
    assert (checked.loc[valid, "normalized"].to_numpy() == true_id[valid].to_numpy()).all()


def test_operator_points_lie_near_the_home_of_residents_and_far_for_the_rest(
    sample_city: SampleCity,
) -> None:
    frame = sample_city.source("operator_presence")
    persons = sample_city.persons.set_index("person_id")
    who = persons.reindex(frame["序号"].map(person_ids(sample_city, "operator_presence")))
    assert set(who["presence"]) <= {"resident", "absent", "moved_out"}
    assert (who["age"] >= 12).all()
    lon = frame["夜间常驻经度"].astype(float).to_numpy()
    lat = frame["夜间常驻纬度"].astype(float).to_numpy()
    grids = sample_city.grids.to_crs("EPSG:4326")
    inside = shapely.contains_xy(shapely.union_all(grids.geometry.values), lon, lat)
    here = (who["presence"] == "resident").to_numpy()
    assert not inside[~here].any()  # those living elsewhere are far away
    # Residents lie within the area but for a few at its edge, most in their own grid.
    assert inside[here].mean() > 0.99
    tree = shapely.STRtree(grids.geometry.values)
    at, grid = tree.query(shapely.points(lon[here], lat[here]), predicate="within")
    found = pd.Series(grids["grid_code"].to_numpy()[grid], index=at)
    home = who["home_room_id"].to_numpy()[here]
    building = pd.Series(home).str.rsplit("-", n=1).str[0]
    truth = building.map(sample_city.buildings.set_index("building_id")["grid_code"])
    assert (found.groupby(level=0).first() == truth.reindex(found.index.unique())).mean() > 0.8
    assert frame.loc[~here, "本地驻留月数"].fillna("").eq("").all()


# --- dirt -------------------------------------------------------------------------------


def test_some_ledger_ids_have_bad_checksums(sample_city: SampleCity) -> None:
    ids = sample_city.source("community_ledger")["基本信息/公民身份号码"]
    reason = validate_id_numbers(ids, as_of=sample_city.options.as_of)["reason"]
    rate = (reason == "id_bad_checksum").mean()
    assert 0.002 < rate < 0.05, rate


def test_some_police_ids_are_legacy_15_digit_numbers(sample_city: SampleCity) -> None:
    frame = sample_city.source("police_hukou")
    ids = frame["公民身份号码"].fillna("")
    legacy = ids.str.fullmatch(r"\d{15}")
    assert 0 < legacy.mean() < 0.05, legacy.mean()
    checked = validate_id_numbers(ids[legacy], as_of=sample_city.options.as_of)
    assert checked["upgraded_from_15"].all()
    persons = sample_city.persons.set_index("person_id")
    who = frame.loc[legacy, "记录号"].map(person_ids(sample_city, "police_hukou"))
    assert (checked["normalized"].to_numpy() == persons["id_number"].reindex(who).to_numpy()).all()
    # Only people born in the 1900s ever held a 15-digit number.
    assert (persons["birth_date"].reindex(who) < "2000").all()


@pytest.mark.parametrize("habit", list(HABITS))
def test_addresses_are_written_with_real_habits(sample_city: SampleCity, habit: str) -> None:
    written = pd.concat(
        [sample_city.source(s)[c].dropna() for s, c in RESIDENCE_ADDRESSES.items()],
        ignore_index=True,
    )
    rate = written.str.contains(HABITS[habit]).mean()
    assert 0.005 < rate < 0.15, f"{habit}: {rate:.3%}"


def test_some_road_names_have_homophone_typos(sample_city: SampleCity) -> None:
    roads = sample_city.roads
    # One character replaced (the road's kind 路/大道/公路 kept).
    near = [
        re.compile(re.escape(r[:k]) + f"[^{re.escape(r[k])}]" + re.escape(r[k + 1 :]))
        for r in roads
        for k in range(len(r) - 1)
    ]
    homes = sample_city.source("community_ledger")["居住信息/居住地址"].dropna()
    exact = homes.map(lambda a: any(r in a for r in roads))
    typo = homes[~exact].map(lambda a: any(p.search(a) for p in near))
    assert typo.all(), homes[~exact][~typo].head()
    rate = typo.sum() / len(homes)
    assert 0.001 < rate < 0.05, rate


def test_hotline_tickets_have_no_id_column(sample_city: SampleCity) -> None:
    columns = list(sample_city.source("hotline").columns)
    assert not [c for c in columns if "身份" in c or "证号" in c], columns
    assert {"来电人", "联系电话", "诉求地址"} <= set(columns)


def test_housing_table_covers_some_streets_completely(sample_city: SampleCity) -> None:
    rooms = sample_city.rooms.set_index("room_id")
    rec = sample_city.records
    listed = rec.loc[rec["source"] == "housing", ["record_no", "room_id"]]
    assert listed["room_id"].is_unique
    covered = set(rooms["street_code"].reindex(listed["room_id"]))
    streets = set(sample_city.divisions.query("level == 'street'")["code"])
    assert 0 < len(covered) < len(streets)
    assert set(listed["room_id"]) == set(rooms.index[rooms["street_code"].isin(covered)])
    # Floor and room number as the housing department lists them.
    table = sample_city.source("housing").set_index("房屋编号")
    at = rooms.reindex(listed["room_id"])
    assert (
        table["所在层"].reindex(listed["record_no"]).to_numpy() == at["floor"].astype(str)
    ).all()
    assert (table["室号"].reindex(listed["record_no"]).to_numpy() == at["room_no"]).all()


def test_signaling_has_24_hours_per_known_grid(sample_city: SampleCity) -> None:
    frame = sample_city.source("signaling")
    assert len(frame) > 0
    assert set(frame["网格编码"]) <= set(sample_city.grids["grid_code"])
    hours = frame.groupby("网格编码")["小时"].apply(lambda h: sorted(h.astype(int)))
    assert all(h == list(range(24)) for h in hours)
    day = sample_city.options.as_of - pd.Timedelta(days=1)
    assert (frame["日期"] == day.isoformat()).all()
    # Grids where residents live are all counted.
    homes = sample_city.residents["residence_room_id"].str.rsplit("-", n=1).str[0]
    grid_of = sample_city.buildings.set_index("building_id")["grid_code"]
    assert set(homes.map(grid_of)) <= set(frame["网格编码"])
    # Cells under 5 are withheld for privacy.
    for column in ("居住人口", "工作人口", "访客人口"):
        shown = frame[column].dropna().astype(int)
        assert (shown >= 5).all(), column
    assert frame["居住人口"].notna().any()


def test_housing_table_of_a_one_street_city_covers_the_street(village_city: SampleCity) -> None:
    rec = village_city.records
    listed = rec.loc[rec["source"] == "housing", "room_id"]
    assert sorted(listed) == sorted(village_city.rooms["room_id"])
