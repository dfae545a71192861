"""The project file: every problem at once, each with its line, and the fix in the message."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from popbase.config import (
    BuildingLayerConfig,
    DivisionLayerConfig,
    LayerConfig,
    SpaceConfig,
    dump_project,
    load_project,
)
from popbase.errors import ConfigError, PopbaseError

VALID = """\
project:
  name: 测试区
  region_code: "310112"
space:
  divisions:
    path: divisions.geojson
  buildings:
    path: buildings.gpkg
sources:
  - name: police
    department: 公安
    kind: person
    path: police.csv
    priority: 90
    columns:
      id_number: 公民身份号码
      name: 姓名
  - name: registry
    department: 市场监管
    kind: enterprise
    path: registry.csv
    columns:
      credit_code: 统一社会信用代码
      name: 企业名称
"""


def write_project(folder: Path, text: str) -> Path:
    """Write ``popbase.yaml`` and empty files for every path it names."""
    for name in ("divisions.geojson", "buildings.gpkg", "police.csv", "registry.csv"):
        (folder / name).touch()
    (folder / "popbase.yaml").write_text(text, encoding="utf-8")
    return folder


def edited(old: str, new: str, text: str = VALID) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


def line_of(text: str, fragment: str) -> int:
    """The 1-based line of ``text`` that holds ``fragment`` (exactly one)."""
    [line] = [i for i, row in enumerate(text.splitlines(), 1) if fragment in row]
    return line


def problems_of(folder: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_project(folder)
    assert info.value.path == folder / "popbase.yaml"
    return info.value.problems


def test_the_valid_file_loads(tmp_path: Path) -> None:
    project = load_project(write_project(tmp_path, VALID))
    assert project.config.project.region_code == "310112"
    assert [s.name for s in project.config.sources] == ["police", "registry"]


def test_every_problem_is_listed_at_once_each_with_its_line(tmp_path: Path) -> None:
    text = edited('region_code: "310112"', 'region_code: "31011A"')
    text = edited("    priority: 90\n", "    priority: 90\n    encodng: gbk\n", text)
    text = edited("      credit_code: 统一社会信用代码", "      credit_cod: 统一社会信用代码", text)
    problems = problems_of(write_project(tmp_path, text))
    assert len(problems) == 3
    region, setting, field = problems
    assert region.startswith(f"line {line_of(text, 'region_code')}: project.region_code: ")
    assert setting == (
        f"line {line_of(text, 'encodng')}: sources.0.encodng: is not a known setting "
        "(check its spelling and indentation)"
    )
    # An unknown canonical field points at its own line.
    assert field.startswith(f"line {line_of(text, 'credit_cod:')}: sources.1.columns: ")
    assert "unknown canonical field 'credit_cod'" in field
    assert "did you mean 'credit_code'?" in field
    assert "must map 'credit_code' under `columns:`" in field
    with pytest.raises(ConfigError) as info:
        load_project(tmp_path)
    assert str(info.value).startswith(f"{tmp_path / 'popbase.yaml'}: 3 problem(s)")
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, PopbaseError)


@pytest.mark.parametrize(
    ("wrong", "close"),
    [("id_nuber", "id_number"), ("residence_adress", "residence_address"), ("nmae", "name")],
)
def test_an_unknown_canonical_field_suggests_the_close_name(
    tmp_path: Path, wrong: str, close: str
) -> None:
    text = edited("      id_number: 公民身份号码", f"      {wrong}: 公民身份号码")
    [problem] = problems_of(write_project(tmp_path, text))
    assert problem == (
        f"line {line_of(text, wrong)}: sources.0.columns: unknown canonical field {wrong!r} "
        f"for person sources; did you mean {close!r}?"
    )


def test_a_field_unlike_any_lists_the_known_ones(tmp_path: Path) -> None:
    text = edited("      id_number: 公民身份号码", "      zzz: 公民身份号码")
    [problem] = problems_of(write_project(tmp_path, text))
    assert "unknown canonical field 'zzz' for person sources; known: record_no, id_number" in (
        problem
    )


@pytest.mark.parametrize(
    ("written", "seen"),
    [('"31011A"', "'31011A'"), ('"3101120"', "'3101120'"), ("310112", "310112")],
    ids=["letter", "seven-digits", "unquoted"],
)
def test_a_region_code_not_a_division_code_says_what_is_expected(
    tmp_path: Path, written: str, seen: str
) -> None:
    text = edited('region_code: "310112"', f"region_code: {written}")
    [problem] = problems_of(write_project(tmp_path, text))
    assert problem.startswith(f"line 3: project.region_code: was {seen}, expected a ")
    assert "statistical division code of 2, 4, 6, 9 or 12 digits (e.g. '310112'" in problem
    assert "quote it so YAML keeps it a string" in problem


def test_a_missing_setting_is_named_with_the_line_of_its_parent(tmp_path: Path) -> None:
    text = edited("    kind: enterprise\n", "")
    [problem] = problems_of(write_project(tmp_path, text))
    assert (
        problem
        == f"line {line_of(text, 'name: registry')}: sources.1.kind: is required but missing"
    )


@pytest.mark.parametrize(
    ("broken", "line"),
    [
        (("space:\n", "space: [divisions\n"), 5),  # an unclosed flow sequence, seen at line 5
        (('  region_code: "310112"', '   region_code: "310112"'), 3),  # bad indentation
        (("    kind: person\n", "    kind: person\n\tpath: x\n"), 13),  # a tab
    ],
    ids=["unclosed-bracket", "indentation", "tab"],
)
def test_invalid_yaml_names_its_line(tmp_path: Path, broken: tuple[str, str], line: int) -> None:
    [problem] = problems_of(write_project(tmp_path, edited(*broken)))
    assert re.match(rf"line {line}: not valid YAML: ", problem), problem


def test_a_folder_without_a_project_file_says_how_to_make_one(tmp_path: Path) -> None:
    [problem] = problems_of(tmp_path)
    assert "no project file here; create popbase.yaml (or run `popbase sample DIR`)" in problem


def test_a_missing_source_file_is_named(tmp_path: Path) -> None:
    write_project(tmp_path, VALID)
    (tmp_path / "police.csv").unlink()
    [problem] = problems_of(tmp_path)
    assert problem == (
        f"line {line_of(VALID, 'path: police.csv')}: source 'police': path police.csv does not "
        f"exist (relative paths are read from {tmp_path})"
    )


def test_two_mistakes_in_one_source_are_both_listed(tmp_path: Path) -> None:
    text = edited("    priority: 90\n", "    prority: 90\n")
    text = edited("      id_number: 公民身份号码", "      id_nuber: 公民身份号码", text)
    assert len(problems_of(write_project(tmp_path, text))) == 2


def test_a_missing_file_is_listed_beside_schema_problems(tmp_path: Path) -> None:
    write_project(tmp_path, edited('region_code: "310112"', 'region_code: "31011A"'))
    (tmp_path / "police.csv").unlink()
    assert len(problems_of(tmp_path)) == 2


def test_a_missing_source_file_has_its_line(tmp_path: Path) -> None:
    write_project(tmp_path, VALID)
    (tmp_path / "police.csv").unlink()
    [problem] = problems_of(tmp_path)
    assert problem.startswith(f"line {line_of(VALID, 'path: police.csv')}: ")


SEVERAL = """\
  divisions:
    - path: streets.shp
      crs: EPSG:4549
      level: 街镇
      fields: {code: 街道代码, name: 街道名称}
    - path: committees.geojson
      crs: GCJ-02
      level: 居委
      fields: {code: 居委代码, name: 居委名称, parent: 所属街道}
"""
ONE_LAYER = "  divisions:\n    path: divisions.geojson\n"


def several_layers(tmp_path: Path, text: str = VALID) -> str:
    for name in ("streets.shp", "committees.geojson"):
        (tmp_path / name).touch()
    return edited(ONE_LAYER, SEVERAL, text)


def test_divisions_take_a_list_of_layers_each_with_its_own_settings(tmp_path: Path) -> None:
    config = load_project(write_project(tmp_path, several_layers(tmp_path))).config
    streets, committees = config.space.divisions
    assert (streets.path, streets.crs, streets.level) == (Path("streets.shp"), "EPSG:4549", "街镇")
    assert committees.fields == {"code": "居委代码", "name": "居委名称", "parent": "所属街道"}
    assert committees.crs == "GCJ-02" and committees.level == "居委"
    # Written back as written: several layers as a list, one layer as a mapping.
    assert len(yaml.safe_load(dump_project(config))["space"]["divisions"]) == 2
    one = load_project(write_project(tmp_path, VALID)).config
    assert [layer.path for layer in one.space.divisions] == [Path("divisions.geojson")]
    assert yaml.safe_load(dump_project(one))["space"]["divisions"] == {"path": "divisions.geojson"}


def test_a_wrong_divisions_value_shows_a_one_layer_and_a_several_layer_example(
    tmp_path: Path,
) -> None:
    text = edited(ONE_LAYER, "  divisions: divisions.geojson\n")
    [problem] = problems_of(write_project(tmp_path, text))
    assert problem.startswith(
        "line 5: space.divisions: was 'divisions.geojson', expected one layer (a mapping with "
        "`path:`) or a list of layers. Fix: e.g. one layer, `divisions: {path: "
    )
    assert "or several, `divisions: [{path: basemap/streets.shp, crs: EPSG:4549" in problem
    assert "parent: 所属街道}}]`" in problem


# (replace, with, where the problem is, what it says, the example it shows)
SPACE_MISTAKES = [
    (
        SEVERAL,
        "  divisions: []\n",
        "divisions: []",
        "space.divisions: was an empty list",
        "or several, `divisions: [",
    ),
    (
        "  buildings:\n    path: buildings.gpkg\n",
        "",
        "  divisions:",  # a missing setting has the line of the mapping it is missing from
        "space.buildings: is required but missing",
        "`buildings: {path: basemap/buildings.gpkg",
    ),
    (
        "  buildings:\n    path: buildings.gpkg\n",
        "  buildings: buildings.gpkg\n",
        "buildings: buildings.gpkg",
        "space.buildings: was 'buildings.gpkg', expected a layer",
        "`buildings: {path: basemap/buildings.gpkg",
    ),
    (
        "      level: 居委\n",
        "      level: 居委\n      file: committees.geojson\n",
        "file:",
        "space.divisions.1.file: is not a known setting (check its spelling and indentation); "
        "a divisions layer takes path, crs, layer, fields, level",
        "one layer, `divisions: {",
    ),
    (
        "居委名称, parent",
        "居委名称, nmae: 名, parent",
        "nmae:",
        "space.divisions.1.fields: unknown canonical field 'nmae' for the divisions layer; "
        "did you mean 'name'? Fix",
        "or several, `divisions: [",
    ),
    (
        "      level: 居委\n",
        "      level: 楼\n",
        "level: 楼",
        "space.divisions.1.level: was '楼', expected one of city, community, district, province, "
        "street or a Chinese level word (省, 市, 区",
        "one layer, `divisions: {",
    ),
    (
        "      crs: EPSG:4549\n",
        "      crs: EPSG:45490\n",
        "EPSG:45490",
        "space.divisions.0.crs: was 'EPSG:45490', expected a CRS such as",
        "one layer",
    ),
    (
        "  buildings:\n",
        "  district: district.geojson\n  buildings:\n",
        "district:",
        "space.district: is not a known setting (check its spelling and indentation); space "
        "takes divisions, grids, buildings, roads, facilities, rooms",
        "`space: {divisions: {",
    ),
    (
        "    path: buildings.gpkg\n",
        "    path: buildings.gpkg\n    fields: {id: 编号, hight: 高}\n",
        "hight:",
        "space.buildings.fields: unknown canonical field 'hight' for the buildings "
        "layer; known: id, address, use, floors, compound, wkt, lon, lat",
        "`buildings: {path: basemap/buildings.gpkg",
    ),
]


@pytest.mark.parametrize(
    ("old", "new", "at", "says", "example"),
    SPACE_MISTAKES,
    ids=[
        "empty",
        "missing",
        "not-a-layer",
        "setting",
        "field",
        "level",
        "crs",
        "section",
        "known-fields",
    ],
)
def test_every_space_error_names_its_line_and_the_fix_with_an_example(
    tmp_path: Path, old: str, new: str, at: str, says: str, example: str
) -> None:
    text = edited(old, new, several_layers(tmp_path))
    [problem] = problems_of(write_project(tmp_path, text))
    assert problem.startswith(f"line {line_of(text, at)}: {says}"), problem
    assert "Fix: e.g. " in problem and example in problem.split("Fix: e.g. ")[1], problem


def test_a_missing_layer_file_of_several_is_named_with_its_place_and_an_example(
    tmp_path: Path,
) -> None:
    text = several_layers(tmp_path)
    write_project(tmp_path, text)
    (tmp_path / "committees.geojson").unlink()
    [problem] = problems_of(tmp_path)
    assert problem.startswith(
        f"line {line_of(text, 'path: committees.geojson')}: space.divisions.1: path "
        "committees.geojson does not exist"
    )
    assert "Fix: correct `path:`, e.g. one layer, `divisions: {path: " in problem


def test_layers_made_in_code_take_the_kind_of_their_place() -> None:
    space = SpaceConfig(
        divisions=LayerConfig(path=Path("d.geojson"), fields={"code": "区划代码"}),
        buildings=LayerConfig(path=Path("b.gpkg")),
    )
    [divisions] = space.divisions
    assert isinstance(divisions, DivisionLayerConfig) and divisions.fields == {"code": "区划代码"}
    assert isinstance(space.buildings, BuildingLayerConfig)
    with pytest.raises(ValidationError, match="unknown canonical field 'hight'"):
        SpaceConfig(divisions=[], buildings=LayerConfig(path=Path("b"), fields={"hight": "x"}))


# ---- a person source's events and tags from its own columns ----

READINGS = """\
    event_type: 慢病管理
    events:
      - column: 慢病类型
        event_type: 慢病管理
        values: [高血压, 糖尿病, 1]
      - column: 孕产妇
        event_type: 孕产妇建册
        date: 建册日期
      - column: 人员类别
        values: {低保对象: 最低生活保障, 群众: }
    tags:
      - column: 是否党员
        tag: party_member
"""


def with_readings(readings: str = READINGS) -> str:
    return edited("    priority: 90\n", "    priority: 90\n" + readings)


def test_events_and_tags_from_columns_load(tmp_path: Path) -> None:
    police = load_project(write_project(tmp_path, with_readings())).source("police")
    assert police.event_type == "慢病管理"
    chronic, pregnant, category = police.events
    # A number YAML reads is the text a cell shows.
    diseases = ["高血压", "糖尿病", "1"]
    assert chronic.targets(chronic.event_type) == dict.fromkeys(diseases, "慢病管理")
    assert pregnant.values is None and pregnant.date == "建册日期"
    assert category.targets(None) == {"低保对象": "最低生活保障", "群众": None}
    assert police.reading_columns == ["慢病类型", "孕产妇", "建册日期", "人员类别", "是否党员"]


def test_every_wrong_reading_is_listed_with_its_line_and_an_example(tmp_path: Path) -> None:
    text = with_readings(
        """\
    event_type: 慢病管理
    events:
      - column: 慢病类型
      - column: 孕产妇
        event_type: 孕产妇建册
        values: {是: 孕产妇建册}
      - column: 人员类别
        values: [低保对象]
      - column: 诊断
        event_type: 慢病管理
        values: [高血压、糖尿病, 肺结核]
    tags:
      - column: 是否党员
        values: {yes: party_member}
"""
    )
    text = edited("      name: 姓名\n", "      name: 姓名\n      event_type: 业务类型\n", text)
    problems = problems_of(write_project(tmp_path, text))
    assert len(problems) == 6, problems
    listed = dict(p.split(": ", 1)[1].split(": ", 1) for p in problems)
    lines = {p.split(": ", 2)[1]: p.split(": ", 1)[0] for p in problems}
    # Neither a flag's event type nor values: both ways are shown.
    assert lines["sources.0.events.0"] == f"line {line_of(text, '- column: 慢病类型')}"
    assert (
        "say what column '慢病类型' gives: `event_type:` when it is a yes/no flag"
        in (listed["sources.0.events.0"])
    )
    assert "e.g. `{column: 孕产妇, event_type: 孕产妇建册}`" in listed["sources.0.events.0"]
    assert "`{column: 人员类别, values: {低保对象: 最低生活保障" in listed["sources.0.events.0"]
    assert "so leave out `event_type:`" in listed["sources.0.events.1"]
    assert (
        "need the `event_type:` they give, e.g. `{column: 慢病类型, event_type: 慢病管理"
        in (listed["sources.0.events.2"])
    )
    # A value that can never match a part of a split cell.
    assert lines["sources.0.events.3.values"] == f"line {line_of(text, '[高血压、糖尿病')}"
    assert "value '高血压、糖尿病' holds a separator" in listed["sources.0.events.3.values"]
    assert "so list '高血压' and '糖尿病' separately" in listed["sources.0.events.3.values"]
    assert "read by YAML as a yes/no" in listed["sources.0.tags.0.values"]
    assert "quote it" in listed["sources.0.tags.0.values"]
    # A constant event type beside an event-type column.
    constant = text.splitlines().index("    event_type: 慢病管理") + 1
    assert lines["sources.0.event_type"] == f"line {constant}"
    assert "also maps `event_type` to column '业务类型'" in listed["sources.0.event_type"]
    assert "`event_type: 慢病管理` when every row records it" in listed["sources.0.event_type"]


def test_a_column_read_two_ways_or_outside_a_person_source_is_refused(tmp_path: Path) -> None:
    text = with_readings(
        """\
    events:
      - {column: 人员类别, values: {低保对象: 最低生活保障}}
    tags:
      - {column: 人员类别, tag: party_member}
"""
    )
    text = edited(
        "    path: registry.csv\n",
        "    path: registry.csv\n    event_type: 企业登记\n"
        "    events: [{column: 状态, event_type: 注销}]\n",
        text,
    )
    problems = problems_of(write_project(tmp_path, text))
    assert len(problems) == 3, problems
    two_ways, constant, events = problems
    assert two_ways.startswith(f"line {line_of(text, 'tag: party_member}')}: sources.0.tags: ")
    assert "column '人员类别' is read as a yes/no flag in one entry and by its values" in two_ways
    assert "sources.1.event_type: goes with person sources only" in constant
    assert "sources.1.events: `events:` goes with person sources only" in events


def test_a_tag_the_rules_lack_is_named_with_its_line_and_the_close_one(tmp_path: Path) -> None:
    text = with_readings(
        """\
    tags:
      - column: 是否党员
        tag: party_membr
      - column: 政治面貌
        values: {中共党员: party_member, 共青团员: league_member, 群众: }
"""
    )
    problems = problems_of(write_project(tmp_path, text))
    assert problems[0] == (
        f"line {line_of(text, 'tag: party_membr')}: sources.0.tags.0.tag: source 'police', "
        "column '是否党员': 'party_membr' is not a tag of the portrait rules; did you mean "
        "'party_member'? (a new tag goes in the rules file named by `portraits: {rules: …}`)"
    )
    assert problems[1].startswith(
        f"line {line_of(text, '共青团员')}: sources.0.tags.1.values.共青团员: source 'police', "
        "column '政治面貌': 'league_member' is not a tag of the portrait rules"
    )
    assert len(problems) == 2


def test_an_empty_column_or_event_type_is_refused(tmp_path: Path) -> None:
    entries = '      - {column: 孕产妇, event_type: ""}\n      - {column: " "}\n'
    text = with_readings("    events:\n" + entries)
    empty_type, empty_column = problems_of(write_project(tmp_path, text))
    assert "sources.0.events.0: `event_type:` is empty; name what the column gives" in empty_type
    assert "sources.0.events.1: `column:` is empty; name the column as the file's header" in (
        empty_column
    )
