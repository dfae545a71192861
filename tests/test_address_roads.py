"""Real road names link back to their rooms, whatever their shape; the basemap's roads win."""

from __future__ import annotations

import pandas as pd
import pytest

from popbase.address.gazetteer import Gazetteer, admin_places
from popbase.address.index import BuildingIndex, build_index, plate_street
from popbase.address.match import locate_all, read_addresses
from popbase.address.normalize import normalize
from popbase.address.parse import AddressParser
from popbase.address.region import RegionGate
from popbase.address.road_check import (
    LANE_FORMS,
    PLATE_FORMS,
    bundled_road_names,
    check_divisions,
    check_roads,
    road_stem,
)

DIVISIONS = [
    ("310104", "徐汇区"),
    ("310104003", "漕河泾街道"),
    ("310104003001", "冠生园居委会"),
    ("310104003002", "肇嘉浜路居委会"),
    ("310104003003", "柿子湾村村委会"),
]


def basemap(
    buildings: dict[str, str], floors: int = 20, known_roads: tuple[str, ...] = ()
) -> BuildingIndex:
    """The index of a basemap of ``buildings`` (id → door-plate address) in one committee."""
    table = pd.DataFrame(
        {
            "building_id": list(buildings),
            "address": list(buildings.values()),
            "use": "residential",
            "floors": floors,
            "community_code": "310104003001",
        }
    )
    index = build_index(pd.DataFrame(DIVISIONS, columns=["code", "name"]), table, known_roads)
    index.region = "310104"
    return index


def test_every_bundled_real_road_links_in_every_form() -> None:
    names = bundled_road_names()
    assert len(names) >= 380
    check = check_roads(names)
    # Every road has its plate forms; roads with lanes also the lane forms.
    assert check.addresses >= len(names) * len(PLATE_FORMS)
    assert check.failures == {}


def test_the_check_reports_what_does_not_link() -> None:
    # A name that is no road at all (a village's group) cannot link: the check says so.
    check = check_roads(["七莘路", "三组"])
    assert set(check.failures) == {"三组"}
    assert check.linked_share < 1.0
    form, text, got = check.failures["三组"][0]
    assert form in LANE_FORMS and text.count("三组") == 1 and got


def test_the_check_names_committees_after_roads_and_their_stems() -> None:
    names = check_divisions(["冠生园路", "肇嘉浜路"])["name"].tolist()
    assert "冠生园路居委会" in names and "肇嘉浜居委会" in names
    assert road_stem("中山南二路") == "中山" and road_stem("仪风弄") == "仪风"


@pytest.mark.parametrize(
    ("text", "road"),
    [
        ("冠生园路216号1902室", "冠生园路"),
        ("上海市徐汇区冠生园路216号", "冠生园路"),
        ("肇嘉浜路100弄3号201室", "肇嘉浜路"),
        ("柿子湾路12号", "柿子湾路"),
    ],
)
def test_a_committee_named_after_a_road_does_not_take_the_road(text: str, road: str) -> None:
    # 冠生园居委会 is named after its road: its stem before 路 is the road's name.
    parser = AddressParser(Gazetteer(admin_places(DIVISIONS)))
    assert parser.parse(text).components.get("road") == road


def test_a_name_before_a_door_plate_in_the_basemap_is_a_street() -> None:
    index = basemap(
        {
            "B1": "上海市徐汇区仪风弄88号",
            "B2": "上海市徐汇区花园弄5号",
            "B3": "上海市徐汇区营口道12弄3号",
        },
        floors=6,
    )
    texts = ["仪风弄88号301室", "花园弄五号201", "营口道12弄3号402室"]
    located = locate_all(read_addresses(texts, index), index).set_index("text")
    assert located.loc[texts, "building_id"].tolist() == ["B1", "B2", "B3"]
    assert located.loc[texts, "room_no"].tolist() == ["301", "201", "402"]


def test_a_plate_street_is_only_taken_where_no_road_was_read() -> None:
    parser = AddressParser(Gazetteer(admin_places()))
    assert plate_street(parser.parse("上海市徐汇区北石皮弄88号")) == "北石皮弄"
    assert plate_street(parser.parse("七莘路1885弄12号")) is None
    assert plate_street(parser.parse("同心村3组45号")) is None
    assert plate_street(parser.parse("樱桃新村15号楼")) is None


def test_the_roads_layer_makes_a_road_of_any_ending() -> None:
    # 杨家浜 is a road here (its roads layer says so), though its name ends in a creek's word.
    index = basemap({"B1": "上海市徐汇区杨家浜12弄3号"}, floors=6, known_roads=("杨家浜", "东风浜"))
    texts = ["杨家浜12弄3号402室", "东风浜5号101室"]
    located = locate_all(read_addresses(texts, index), index).set_index("text")
    assert located.loc["杨家浜12弄3号402室", "building_id"] == "B1"
    # A known road without buildings is still read as the road (and has no building).
    assert index.parser.parse("东风浜5号101室").components["road"] == "东风浜"
    assert located.loc["东风浜5号101室", "reason"] == "unknown_road"


@pytest.mark.parametrize(
    ("text", "components"),
    [
        ("黄县路12号", {"road": "黄县路", "roadno": "12号"}),
        ("鄞县大道15号", {"road": "鄞县大道", "roadno": "15号"}),
        ("人民路东段12号", {"road": "人民路", "roadno": "12号"}),
        ("黄河路辅路1号", {"road": "黄河路", "roadno": "1号"}),
        ("下沙四巷88号", {"road": "下沙四巷", "roadno": "88号"}),
    ],
)
def test_roads_named_after_counties_and_road_parts(text: str, components: dict[str, str]) -> None:
    parser = AddressParser(Gazetteer(admin_places()))
    got = parser.parse(text).components
    assert {k: got.get(k) for k in components} == components


def test_a_county_before_another_name_is_still_the_county() -> None:
    parser = AddressParser(Gazetteer(admin_places()))
    got = parser.parse("浙江省台州市路桥区路北街道文昌邸1幢").components
    assert got["city"] == "台州市" and got["district"] == "路桥区"
    assert parser.parse("江山市南三街2号").components["road"] == "南三街"


def test_the_region_gate_leaves_a_road_named_after_a_county_to_the_parser() -> None:
    gate = RegionGate("310104")
    assert not gate.outside("黄县路12号")
    assert not gate.outside("邱县路3弄2号")
    assert gate.outside("台州市路桥区路北街道文昌邸1幢")
    assert gate.outside("邱县城关镇3号")


@pytest.mark.parametrize(
    ("text", "norm"),
    [
        ("下沙四巷88号", "下沙四巷88号"),  # a numbered alley's name
        ("经四支路88号", "经四支路88号"),
        ("丁字沽一号路12弄", "丁字沽一号路12弄"),
        ("桂兴西路三巷7号", "桂兴西路3巷7号"),  # the alleys off a road are counted
        ("南环路北一巷23号", "南环路北1巷23号"),
        ("三巷88号", "3巷88号"),
        ("1885弄三支弄", "1885弄3支弄"),
        ("七莘路一千八百八十五弄十二号", "七莘路1885弄12号"),
    ],
)
def test_numerals_in_names_stay_names(text: str, norm: str) -> None:
    assert normalize(text).norm == norm


def test_a_typo_after_another_places_name_is_corrected_before_outside() -> None:
    # 襄阳南路 is a road of the area; 襄阳楠路 is it mistyped, not an address in Xiangyang.
    index = basemap(
        {
            "B1": "上海市徐汇区襄阳南路100弄2号",
            "B2": "上海市徐汇区陕西南路5号",
            "B3": "上海市徐汇区中山南二路10号",
            "B4": "上海市徐汇区乌鲁木齐中路20弄1号",
        }
    )
    typos = [
        "襄阳楠路100弄2号301室",
        "陕西楠路5号1201室",
        "中山楠二路10号502室",
        "乌鲁木齐忠路20弄1号301室",
    ]
    elsewhere = ["襄阳市樊城区人民路1号", "湖北省襄阳市襄阳楠路100弄2号", "襄阳长虹路9号"]
    located = locate_all(read_addresses(typos + elsewhere, index), index).set_index("text")
    assert located.loc[typos, "building_id"].tolist() == ["B1", "B2", "B3", "B4"]
    assert located.loc[typos, "road_corrected"].all()
    assert (located.loc[elsewhere, "reason"] == "outside_region").all()


@pytest.mark.parametrize(
    ("text", "road"),
    [
        ("上海市金沙江路2299弄32号", "金沙江路"),  # 金沙县 is in Guizhou
        ("上海市共和新路4703弄160号", "共和新路"),  # 共和县 in Qinghai
        ("上海市祁连山南路999弄72号", "祁连山南路"),
        ("上海上海市普陀区东河沿路13弄10号", "东河沿路"),
    ],
)
def test_a_short_form_of_a_county_elsewhere_starts_a_road(text: str, road: str) -> None:
    parser = AddressParser(Gazetteer(admin_places([("31", "上海市")])))
    a = parser.parse(text)
    assert a.components.get("road") == road
    assert all(code.startswith("31") for code in a.codes.values())


def test_a_county_elsewhere_written_out_is_still_read() -> None:
    # Written out with its suffix, it is what the address says (and lies outside).
    parser = AddressParser(Gazetteer(admin_places([("31", "上海市")])))
    assert parser.parse("上海市昆山市玉山镇1号").codes["district"] == "320583"


def _lane_city() -> BuildingIndex:
    return basemap(
        {
            "L1": "上海市徐汇区医学院路501弄1号",
            "L2": "上海市徐汇区医学院路501弄2号",
            "P1": "上海市徐汇区医学院路497号",
            "Z1": "上海市徐汇区张家弄660号",
        },
        floors=30,
    )


@pytest.mark.parametrize(
    ("text", "building", "room"),
    [
        ("医学院路501号1号203室", "L1", "203"),  # a lane's house written on its door plate
        ("医学院路501号2栋303", "L2", "303"),
        ("医学院路501-1号603", "L1", "603"),
        ("医学院路501号1-402", "L1", "402"),
        ("医学院路497号1502室", "P1", "1502"),  # the plate itself is a building: it wins
        ("章家弄660号301室", "Z1", "301"),  # a lane's name mistyped (张家弄)
        ("湖南路街道 张佳弄  ６６０号 １０１室", "Z1", "101"),
        ("医学院路五百零一-二号六零一室", "L2", "601"),
    ],
)
def test_lane_houses_written_on_their_plate(text: str, building: str, room: str) -> None:
    index = _lane_city()
    located = locate_all(read_addresses([text], index), index).iloc[0]
    assert (located["building_id"], located["room_no"]) == (building, room)


def test_a_plate_with_no_building_and_no_lane_stays_unknown() -> None:
    index = _lane_city()
    located = locate_all(read_addresses(["医学院路503号1号203室"], index), index).iloc[0]
    assert located["building_id"] is None and located["reason"] == "unknown_number"


def test_a_room_after_a_unit_in_numerals_is_read() -> None:
    assert normalize("凤阳路四百六十八号二单元一零四").norm == "凤阳路468号2单元104"
