"""The vocabulary: department words to canonical values, a project's own words merged over."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from popbase.backends import DuckDBBackend
from popbase.config import load_project
from popbase.errors import ConfigError
from popbase.population.fuse import golden_persons_sql
from popbase.population.link import households_sql
from popbase.values.vocabulary import CLOSED_FIELDS, FIELDS, SHIPPED, load_vocabulary, word_keys
from test_config import VALID, line_of, write_project

WORDS = load_vocabulary()


def read(field: str, words: list[str | None]) -> tuple[list[str | None], list[bool]]:
    reading = WORDS.read(field, pa.array(words, pa.string()))
    return reading.values.to_pylist(), reading.unreadable.to_pylist()


def test_the_shipped_file_gives_every_canonical_value_words_of_its_own() -> None:
    assert WORDS.files == (SHIPPED,)
    for field, values in FIELDS.items():
        for value in values:
            written = WORDS.words(field, value)
            assert written[0] == value  # each canonical value reads itself …
            assert len(written) > 1, (field, value)  # … and the departments' words


def test_sex_reads_chinese_english_and_the_gb_t_2261_1_codes() -> None:
    values, bad = read("sex", ["男", "女", "男性", "女性", "1", "2", "M", "f", "Male", "女士"])
    assert values == ["M", "F", "M", "F", "M", "F", "M", "F", "M", "F"]
    assert not any(bad)
    # GB/T 2261.1: 0 unknown, 9 unspecified — no value, not an unreadable one.
    values, bad = read("sex", ["0", "9", "未说明的性别", "不详", "-", "3", "男女", None])
    assert values == [None] * 8
    assert bad == [False, False, False, False, False, True, True, False]


def test_building_uses_read_to_the_canonical_codes() -> None:
    written = ["住宅", "居住", "商住", "商住两用", "综合", "办公", "商业", "商铺", "工业", "厂房"]
    written += ["公共", "公共建筑", "教育", "医疗", "Residential", "mixed use", "Office"]
    written += ["elderly_care", "幼儿园", "仓库", "祠堂"]
    values, bad = read("building_use", written)
    assert values == [
        "residential", "residential", "mixed", "mixed", "mixed", "office", "commercial",
        "commercial", "industrial", "industrial", "public", "public", "school", "health",
        "residential", "mixed", "office", "elderly_care", "kindergarten", "warehouse", None,
    ]  # fmt: skip
    assert bad == [False] * 20 + [True]


def test_status_words_of_persons_insurance_and_households() -> None:
    values, _ = read("person_status", ["正常", "在保", "参保缴费", "暂停缴费", "停保", "中断"])
    assert values == ["active", "active", "active", "suspended", "suspended", "suspended"]
    ended = ["终止", "注销", "死亡", "注销（死亡）", "注销(死亡)", "迁出"]
    values, _ = read("person_status", ended)
    assert values == ["ended", "ended", "deceased", "deceased", "deceased", "moved_out"]
    written = ["人在户在", "人户分离", "人在户不在", "人不在户在", "流动", "常住", "外出"]
    values, bad = read("household_status", [*written, "人户分离（外出）"])
    assert values == [
        "present_registered", "separated", "present_unregistered", "absent_registered",
        "present_floating", "present_resident", "absent_registered", "absent_registered",
    ]  # fmt: skip
    assert not any(bad)


def test_words_compare_without_width_case_spaces_or_punctuation() -> None:
    written = ["人户分离（外出）", "人户分离(外出)", "人户分离-外出", " 人户 分离 外出 "]
    keys = word_keys(pa.array(written))
    assert len(set(keys.to_pylist())) == 1
    assert read("building_use", ["ＯＦＦＩＣＥ", "Mixed-Use", "mixed_use"])[0] == [
        "office",
        "mixed",
        "mixed",
    ]


def test_open_fields_keep_unknown_words_as_written() -> None:
    assert "relation" not in CLOSED_FIELDS
    values, bad = read("relation", ["户主", "本人", "配偶", "之子"])
    assert values == ["head", "head", "配偶", "之子"] and not any(bad)


# ---- a project's own words ----


def write(folder: Path, text: str, name: str = "words.yaml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_projects_words_are_merged_over_the_shipped_ones(tmp_path: Path) -> None:
    words = load_vocabulary(
        write(
            tmp_path,
            "missing: [查无]\n"
            "sex:\n  F: ['1']\n  M: ['0']\n"  # a system that codes 0 male, 1 female
            "household_status:\n  present_floating: [来京人员]\n"
            "building_use:\n  public: 祠堂\n",
        )
    )
    assert words.files == (SHIPPED, tmp_path / "words.yaml")
    sex = words.read("sex", pa.array(["0", "1", "2", "查无"])).values.to_pylist()
    assert sex == ["M", "F", "F", None]
    assert "1" in words.words("sex", "F") and "1" not in words.words("sex", "M")
    status = words.read("household_status", pa.array(["来京人员", "人在户在"])).values
    assert status.to_pylist() == ["present_floating", "present_registered"]
    assert words.read("building_use", pa.array(["祠堂"])).values.to_pylist() == ["public"]
    assert words.says_missing(pa.array(["查无", "不详"])).to_pylist() == [True, True]
    # The shipped vocabulary is untouched.
    assert WORDS.read("sex", pa.array(["0"])).values.to_pylist() == [None]


BAD = """\
sexx:
  M: [汉子]
sex:
  male: [男]
  F: [女, 女性]
  M: [女性]
person_status:
  active: {正常: 1}
building_use:
  residential: ["--"]
"""


def test_every_problem_of_a_file_is_named_with_its_line_and_fix(tmp_path: Path) -> None:
    path = write(tmp_path, BAD)
    with pytest.raises(ConfigError) as info:
        load_vocabulary(path)
    assert info.value.path == path
    unknown_field, unknown_value, twice, not_words, punctuation = info.value.problems
    assert unknown_field.startswith("line 1: 'sexx' is not a field of the vocabulary")
    assert "did you mean 'sex'?" in unknown_field and "Fix:" in unknown_field
    assert unknown_value.startswith("line 4: sex: 'male' is not one of its canonical values")
    assert "(M, F, missing)" in unknown_value
    assert twice.startswith("line 6: sex: '女性' is listed under both F (line 5) and M")
    assert "Fix: keep it under one" in twice
    assert not_words.startswith(f"line {line_of(BAD, '正常')}: person_status.active: expected")
    assert punctuation.startswith(f"line {line_of(BAD, '--')}: '--' is only punctuation")


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("sex: [男]\n", "line 1: sex: expected its canonical values"),
        ("- 男\n", "line 1: the file must map fields"),
        ("sex:\n  M: [男\n", "not valid YAML"),
    ],
)
def test_a_file_of_the_wrong_shape_says_what_is_expected(
    tmp_path: Path, text: str, says: str
) -> None:
    with pytest.raises(ConfigError, match=r"Fix|YAML") as info:
        load_vocabulary(write(tmp_path, text))
    assert says in info.value.problems[0]


def test_a_project_names_its_words_in_popbase_yaml(tmp_path: Path) -> None:
    text = VALID + "vocabulary: words.yaml\n"
    folder = write_project(tmp_path, text)
    write(folder, "person_status:\n  suspended: [待核查]\n")
    project = load_project(folder)
    status = project.vocabulary.read("person_status", pa.array(["待核查"]))
    assert status.values.to_pylist() == ["suspended"]


def test_a_missing_or_broken_vocabulary_file_stops_loading_the_project(tmp_path: Path) -> None:
    text = VALID + "vocabulary: words.yaml\n"
    folder = write_project(tmp_path, text)
    with pytest.raises(ConfigError) as missing:
        load_project(folder)
    [problem] = missing.value.problems
    assert problem.startswith(f"line {line_of(text, 'vocabulary')}: vocabulary: path words.yaml")
    write(folder, "sex:\n  X: [男]\n")
    with pytest.raises(ConfigError) as broken:
        load_project(folder)
    assert broken.value.path == folder / "words.yaml"
    assert broken.value.problems[0].startswith("line 2: sex: 'X' is not one of")


def test_a_projects_head_and_death_words_reach_the_link_and_fuse_stages(tmp_path: Path) -> None:
    words = load_vocabulary(
        write(tmp_path, "relation:\n  head: [家长]\nevent_type:\n  death: [销户-身故]\n")
    )
    db = DuckDBBackend()
    db.con.execute(
        "CREATE TABLE member_of AS SELECT * FROM (VALUES ('p1', 'h1', '家 长'), "
        "('p2', 'h1', '配偶'), ('p3', 'h2', '户主'), ('p4', 'h2', '子')) "
        "t(person_id, household_id, relation)"
    )
    db.con.execute("CREATE TABLE hukou_at (person_id VARCHAR, room_id VARCHAR)")
    for vocabulary, heads in ((WORDS, [None, "p3"]), (words, ["p1", "p3"])):
        db.execute(households_sql(vocabulary.words("relation", "head")))
        found = db.query_df("SELECT head_person_id FROM households ORDER BY household_id")
        assert [None if pd.isna(h) else h for h in found["head_person_id"]] == heads
    assert "'销户-身故'" in golden_persons_sql(words.words("event_type", "death"))
    assert "'销户-身故'" not in golden_persons_sql(WORDS.words("event_type", "death"))
