"""Columns mapped to canonical fields by their names and values; the kind of a source."""

from __future__ import annotations

import pytest

from popbase.config import CANONICAL_FIELDS
from popbase.guess.columns import guess_mapping, map_columns
from popbase.guess.vocabulary import LAYER_VOCAB, SOURCE_VOCAB
from popbase.population.credit_code import check_char
from popbase.population.resident_id import check_digit
from popbase.space.layers import LAYER_FIELDS


def _ids(n: int, area: str = "310112") -> list[str]:
    """``n`` resident IDs with valid check digits."""
    bodies = [f"{area}1980{1 + i % 12:02d}{1 + i % 28:02d}{100 + i:03d}" for i in range(n)]
    return [b + check_digit(b) for b in bodies]


def _codes(n: int) -> list[str]:
    """``n`` credit codes with valid check characters."""
    bodies = [f"91310112MA1G{i:05d}" for i in range(n)]
    return [b + check_char(b) for b in bodies]


N = 40
NAMES = ["张伟", "王芳", "李娜", "刘洋", "陈静", "阿依古丽·买买提", "欧阳娜娜", "周杰"] * 5
PHONES = [f"13{i % 10}{10_000_000 + i:08d}" for i in range(N)]
ADDRESSES = [f"上海市闵行区七莘路{100 + i}号{i % 6 + 1}0{i % 4 + 1}室" for i in range(N)]
DATES = [f"19{50 + i}-0{i % 9 + 1}-1{i % 9}" for i in range(N)]


def _person_table(names: dict[str, str]) -> dict[str, list[str]]:
    """A person table whose columns (values by canonical field) are called ``names``."""
    values = {
        "id_number": _ids(N),
        "name": NAMES,
        "sex": ["男", "女"] * (N // 2),
        "birth_date": DATES,
        "phone": PHONES,
        "residence_address": ADDRESSES,
        "hukou_address": ADDRESSES[::-1],
        "relation": ["户主", "配偶", "子", "女"] * (N // 4),
        "employer_credit_code": _codes(N),
    }
    return {column: values[field] for field, column in names.items()}


def _mapped(samples: dict[str, list[str]], kind: str = "person") -> dict[str, str]:
    fields, _ = map_columns(samples, SOURCE_VOCAB[kind])
    return {g.field: g.column for g in fields}


def test_every_field_of_the_vocabulary_is_one_popbase_reads() -> None:
    for kind, fields in SOURCE_VOCAB.items():
        assert set(fields) <= set(CANONICAL_FIELDS[kind]), kind
    for layer, fields in LAYER_VOCAB.items():
        known = set(LAYER_FIELDS.get(layer, {"id": "", "name": ""}))
        assert set(fields) <= known, layer


@pytest.mark.parametrize(
    "names",
    [
        # As the police register names them.
        {"id_number": "公民身份号码", "name": "姓名", "sex": "性别", "birth_date": "出生日期",
         "hukou_address": "户籍地址", "relation": "与户主关系"},
        # Synonyms of other departments.
        {"id_number": "证件号码", "name": "居民姓名", "birth_date": "出生年月",
         "phone": "手机号码", "residence_address": "现居住地址", "hukou_address": "户口所在地"},
        {"id_number": "身份证件号码", "name": "名字", "phone": "联系方式",
         "residence_address": "实际居住地址", "hukou_address": "户籍所在地"},
        # English.
        {"id_number": "id_card", "name": "Name", "sex": "gender", "birth_date": "birthday",
         "phone": "mobile", "residence_address": "current_address",
         "hukou_address": "hukou_address", "employer_credit_code": "employer_uscc"},
        # Pinyin initials of database columns.
        {"id_number": "sfzh", "name": "xm", "sex": "xb", "birth_date": "csrq", "phone": "lxdh",
         "residence_address": "jzdz", "hukou_address": "hjdz", "relation": "yhzgx"},
        # Group labels over field names; a generic name takes its group's meaning.
        {"id_number": "基本信息/公民身份号码", "name": "基本信息/姓名",
         "residence_address": "居住信息/地址", "hukou_address": "户籍信息/地址"},
        # Longer headers holding a known stem.
        {"id_number": "居民身份证号（18位）", "residence_address": "现居住详细地址"},
    ],
)  # fmt: skip
def test_column_names_as_departments_write_them(names: dict[str, str]) -> None:
    assert _mapped(_person_table(names)) == names


def test_another_persons_fields_are_not_the_rows_own() -> None:
    samples = _person_table({"id_number": "身份证号", "name": "姓名"})
    samples |= {"配偶身份证号": _ids(N, "320102"), "母亲身份证号": _ids(N, "330102")}
    samples |= {"户主姓名": NAMES[::-1], "监护人电话": PHONES}
    fields, unmapped = map_columns(samples, SOURCE_VOCAB["person"])
    mapped = {g.field: g.column for g in fields}
    assert mapped == {"id_number": "身份证号", "name": "姓名", "spouse_id_number": "配偶身份证号"}
    assert unmapped["母亲身份证号"] == "about another person (母亲)"
    assert unmapped["户主姓名"] == "about another person (户主)"
    assert "监护人电话" in unmapped


def test_a_table_of_households_takes_its_head_as_the_row() -> None:
    samples = {"户号": [f"H{i}" for i in range(N)], "户主姓名": NAMES, "户主身份证号": _ids(N)}
    samples |= {"户籍地址": ADDRESSES}
    mapping = guess_mapping(samples, SOURCE_VOCAB)
    assert mapping is not None and mapping.kind == "person"
    name = mapping.get("name")
    assert name is not None and name.column == "户主姓名"
    assert "rows are households" in name.evidence


def test_values_place_a_column_whose_name_says_nothing() -> None:
    samples = {"col_1": _ids(N), "col_2": NAMES, "col_3": PHONES, "col_4": _codes(N)}
    fields, _ = map_columns(samples, SOURCE_VOCAB["person"])
    by_field = {g.field: g for g in fields}
    assert by_field["id_number"].column == "col_1"
    assert by_field["phone"].column == "col_3"
    assert by_field["employer_credit_code"].column == "col_4"
    assert not any(g.sure for g in fields)  # values alone: to check, not just confirm
    assert "name" not in by_field  # names look like much else: a header must say so


def test_values_that_contradict_the_header_mark_it_for_checking() -> None:
    samples = {"身份证号": ["见附件"] * N, "姓名": NAMES}
    fields, _ = map_columns(samples, SOURCE_VOCAB["person"])
    by_field = {g.field: g for g in fields}
    assert not by_field["id_number"].sure
    assert "only 0% ID numbers" in by_field["id_number"].evidence
    assert by_field["name"].sure


def test_dirty_values_still_confirm_a_header() -> None:
    ids = _ids(N)
    ids[:8] = ["", "不详", "310112", "31011219800101100X", "无", "", "待补", "x"]
    fields, _ = map_columns({"公民身份号码": ids}, SOURCE_VOCAB["person"])
    assert fields[0].sure


@pytest.mark.parametrize(
    ("samples", "kind"),
    [
        (_person_table({"id_number": "身份证号", "name": "姓名",
                        "employer_credit_code": "单位统一社会信用代码"}), "person"),
        ({"统一社会信用代码": _codes(N), "企业名称": ["上海某某贸易有限公司"] * N,
          "住所": ADDRESSES, "法定代表人": NAMES, "成立日期": DATES}, "enterprise"),
        ({"credit_code": _codes(N), "name": ["上海某某贸易有限公司"] * N,
          "legal_person": NAMES, "founded": DATES}, "enterprise"),
        ({"房屋编号": [f"FW{i}" for i in range(N)], "房屋坐落": ADDRESSES,
          "室号": ["101"] * N, "所在层": ["1"] * N}, "room"),
        ({"网格编码": ["310112001001001"] * N, "日期": ["2026-10-30"] * N,
          "小时": [str(i % 24) for i in range(N)], "居住人口": ["12"] * N}, "signaling"),
    ],
)  # fmt: skip
def test_the_kind_of_a_source(samples: dict[str, list[str]], kind: str) -> None:
    mapping = guess_mapping(samples, SOURCE_VOCAB)
    assert mapping is not None and mapping.kind == kind


def test_a_table_of_places_is_no_source() -> None:
    samples = {"name": ["江川路幼儿园", "古美小学", "新虹社区卫生服务中心", "浦锦养老院"] * 10}
    samples |= {"type": ["kindergarten"] * N, "lon": ["121.25"] * N, "lat": ["31.02"] * N}
    assert guess_mapping(samples, SOURCE_VOCAB) is None


def test_words_and_dates_are_checked_as_the_build_reads_them() -> None:
    """GB/T 2261.1 codes are sex words, 注销（死亡） a status, 46270 an Excel date cell."""
    samples = _person_table({"id_number": "身份证号", "name": "姓名"})
    samples |= {"性别": ["1", "2", "男性", "F"] * (N // 4)}
    samples |= {"人员状态": ["正常", "注销（死亡）", "迁出", "在册"] * (N // 4)}
    samples |= {"人户状态": ["人在户在", "人户分离（外出）", "流动", "常住"] * (N // 4)}
    samples |= {"出生日期": ["46270", "二〇二六年九月五日", "2026年9月", "20260905"] * (N // 4)}
    fields, _ = map_columns(samples, SOURCE_VOCAB["person"])
    by_field = {g.field: g for g in fields}
    for field in ("sex", "person_status", "household_status", "birth_date"):
        assert by_field[field].sure and "100%" in by_field[field].evidence, field
    samples["性别"] = ["男女", "未婚", "汉族", "群众"] * (N // 4)
    fields, _ = map_columns(samples, SOURCE_VOCAB["person"])
    sex = next(g for g in fields if g.field == "sex")
    assert not sex.sure and "0% sex words" in sex.evidence


def test_a_buildings_use_is_confirmed_by_the_vocabulary() -> None:
    samples = {"建筑编号": [f"B{i}" for i in range(N)], "用途": ["住宅", "商住两用", "厂房"] * 13}
    samples["用途"].append("Office")
    fields, _ = map_columns(samples, LAYER_VOCAB["buildings"])
    use = next(g for g in fields if g.field == "use")
    assert use.sure and "100% building use words" in use.evidence
