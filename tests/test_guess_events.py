"""Events and tags guessed from a person file's own columns, always to check."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

from popbase.config import SourceConfig
from popbase.guess import guess_project, project_text
from popbase.guess.events import flag_columns, value_columns
from popbase.population.resident_id import check_digit

N = 12


def _ids(n: int) -> list[str]:
    bodies = [f"3101121980{1 + i % 12:02d}{1 + i % 28:02d}{100 + i:03d}" for i in range(n)]
    return [b + check_digit(b) for b in bodies]


def _people(**columns: list[str]) -> pd.DataFrame:
    names = ["张伟", "王芳", "李娜", "刘洋"] * (N // 4)
    return pd.DataFrame({"身份证号": _ids(N), "姓名": names, **columns})


def _source(tmp_path: Path, name: str) -> tuple[SourceConfig, str]:
    """The guessed source of one file, validated as the build would load it."""
    guess = guess_project([tmp_path])
    text = project_text(guess, tmp_path)
    (entry,) = [s for s in yaml.safe_load(text)["sources"] if s["path"] == name]
    return SourceConfig.model_validate(entry), text


def test_a_health_file_without_an_event_type_column(tmp_path: Path) -> None:
    """慢病类型 holds the rules' diseases, 孕产妇 is a yes/no flag named after a rule."""
    _people(
        建档日期=["2026-03-01"] * N,
        慢病类型=["高血压", "糖尿病", "高血压、糖尿病", "", "无", "冠心病"] * (N // 6),
        孕产妇=["是", "否", "", "否"] * (N // 4),
    ).to_csv(tmp_path / "卫健_健康档案.csv", index=False)
    source, text = _source(tmp_path, "卫健_健康档案.csv")
    assert source.event_type is None and "event_type" not in source.columns
    flag, diseases = source.events
    assert (flag.column, flag.event_type, flag.values) == ("孕产妇", "孕产妇建册", None)
    assert (diseases.column, diseases.event_type) == ("慢病类型", "慢病管理")
    assert diseases.values == ["高血压", "糖尿病"]
    # Never silently: each entry carries its evidence and a CHECK; 冠心病 is left to add.
    line = next(x for x in text.splitlines() if "- column: 慢病类型" in x)
    assert "words of the portrait rules: 高血压 → 慢病管理" in line and line.endswith("— CHECK")
    assert "also seen, no rule's word: 冠心病" in text
    assert "孕产妇 (no canonical field)" not in text  # read by events:, not left out


def test_a_flag_of_a_rule_that_needs_a_detail_gives_the_tag(tmp_path: Path) -> None:
    """A 是否高血压 flag cannot carry 慢病管理's detail 高血压: it gives the tag itself."""
    samples = {"是否高血压": ["是", "否", "否", "是"] * 3}
    (guess,) = flag_columns(samples, list(samples))
    assert (guess.target, guess.tag, guess.event_type) == ("tags", "hypertension", None)


def test_a_header_shortening_a_programmes_name_is_its_flag() -> None:
    """家庭医生 stands for 家庭医生签约, under a group label too; two characters do not."""
    samples = {"服务信息/家庭医生": ["√", "", "√", ""] * 3, "家庭": ["√", ""] * 6}
    (guess,) = flag_columns(samples, list(samples))
    assert (guess.column, guess.event_type) == ("服务信息/家庭医生", "家庭医生签约")


def test_categories_mapped_to_the_rules_events_and_others_left_to_add() -> None:
    samples = {"人员类别": ["低保对象", "持证残疾人", "低保对象", "普通居民", "非低保"] * 3}
    (guess,) = value_columns(samples, list(samples))
    assert guess.values == {"低保对象": "最低生活保障", "持证残疾人": "残疾人证"}
    assert guess.unknown == ["普通居民", "非低保"]


def test_columns_of_other_words_give_no_events() -> None:
    samples = {"职业": ["工人", "农民", "教师"] * 4, "是否在校": ["是", "否"] * 6}
    samples |= {"备注": ["高血压随访", "家属代签", "电话未接", "地址变更"] * 3}
    assert value_columns(samples, list(samples)) == []
    assert flag_columns(samples, list(samples)) == []


def test_a_list_of_one_programme_gives_every_row_its_event(tmp_path: Path) -> None:
    _people(地址=["天平路1号"] * N).to_csv(tmp_path / "低保对象名册.csv", index=False)
    source, text = _source(tmp_path, "低保对象名册.csv")
    assert source.event_type == "最低生活保障" and not source.events
    line = next(x for x in text.splitlines() if x.strip().startswith("event_type:"))
    assert "the name 低保对象名册 says 低保 (rule low_income)" in line
    assert line.endswith("— CHECK")


def test_a_file_naming_its_events_keeps_its_column(tmp_path: Path) -> None:
    _people(业务类型=["家庭医生签约"] * N, 孕产妇=["是", "否"] * (N // 2)).to_csv(
        tmp_path / "卫健.csv", index=False
    )
    source, _ = _source(tmp_path, "卫健.csv")
    assert source.columns["event_type"] == "业务类型" and not source.events
