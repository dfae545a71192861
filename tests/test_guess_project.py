"""``popbase init``: a project guessed from delivered files loads, builds and scores."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner, Result

from popbase.cli import app
from popbase.config import load_project
from popbase.guess import NothingToGuessError, guess_project, init_project
from popbase.io.tables import read_table
from popbase.io.xlsx import Sheet, write_xlsx
from popbase.ops.evaluate import evaluate_project
from popbase.pipeline import run

# Scores of a guessed project may differ from the original's by this much (rates) or
# this share (counts).
RATE_TOLERANCE = 0.01
COUNT_TOLERANCE = 0.01


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args])


def _scores(scores: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, float]]:
    for key, value in scores.items():
        if isinstance(value, dict):
            yield from _scores(value, f"{prefix}{key}.")
        elif isinstance(value, int | float) and not isinstance(value, bool):
            yield f"{prefix}{key}", float(value)


def assert_scores_close(guessed: dict[str, Any], original: dict[str, Any]) -> None:
    a, b = dict(_scores(guessed)), dict(_scores(original))
    assert a.keys() == b.keys()  # the same sources (by name), tags and measures
    for key, value in b.items():
        if 0 <= value <= 1 and "." in key:
            assert a[key] == pytest.approx(value, abs=RATE_TOLERANCE), key
        else:
            assert a[key] == pytest.approx(value, rel=COUNT_TOLERANCE, abs=1), key


@pytest.fixture(scope="module")
def original_scores(built_city: Path) -> dict[str, Any]:
    return evaluate_project(load_project(built_city))


@pytest.fixture
def delivery(copy_city: Callable[..., Path]) -> Path:
    """A copy of the sample city without its project file: the files as delivered."""
    city = copy_city(snapshots=False)
    (city / "popbase.yaml").unlink()
    return city


def _init_build_eval(city: Path) -> dict[str, Any]:
    result = invoke("init", city, "--from", city / "sources", "--from", city / "basemap")
    assert result.exit_code == 0, result.output
    run(load_project(city))
    return evaluate_project(load_project(city))


def test_the_sample_delivery_guessed_builds_and_scores_as_the_original(
    delivery: Path, built_city: Path, original_scores: dict[str, Any]
) -> None:
    scores = _init_build_eval(delivery)
    assert_scores_close(scores, original_scores)
    guessed = load_project(delivery).config
    original = load_project(built_city).config
    assert guessed.project.region_code == original.project.region_code
    assert guessed.project.as_of == original.project.as_of
    for source in original.sources:
        mine = next(s for s in guessed.sources if s.name == source.name)
        assert (mine.kind, mine.priority, mine.presence) == (
            source.kind, source.priority, source.presence
        )  # fmt: skip
        assert mine.columns.items() >= source.columns.items(), source.name


def _frame(path: Path) -> pd.DataFrame:
    return read_table(path).frame


def _reshape(city: Path) -> None:
    """The same records as other departments deliver them (see the test below)."""
    src = city / "sources"
    police = _frame(src / "police_hukou.csv").rename(
        columns={
            "记录号": "jlh", "公民身份号码": "gmsfhm", "姓名": "xm", "性别": "xb", "民族": "mz",
            "出生日期": "csrq", "户号": "hh", "与户主关系": "yhzgx", "户籍地址": "hjdz",
            "户籍迁入日期": "qrrq", "人员状态": "ryzt",
        }
    )  # fmt: skip
    title = "公安户籍人口信息（截至2026年10月31日）" + "," * (police.shape[1] - 1) + "\n"
    (src / "police_hukou.csv").unlink()
    (src / "公安户籍人口.csv").write_bytes((title + police.to_csv(index=False)).encode("gbk"))
    health = _frame(src / "health_records.csv").rename(
        columns={
            "记录编号": "record_no", "业务类型": "business_type", "身份证号": "id_card",
            "姓名": "name", "性别": "gender", "出生日期": "birthday", "联系电话": "mobile",
            "现住址": "current_address", "登记日期": "event_date", "诊断或备注": "diagnosis",
            "母亲身份证号": "mother_id_card",
        }
    )  # fmt: skip
    health.to_csv(src / "health_records.csv", index=False, encoding="utf-8-sig")
    social = _frame(src / "social_security.csv")
    (src / "social_security.csv").unlink()
    top = ["记录编号", "人员信息", "", "单位信息", "", "参保信息", ""]
    bottom = ["", "身份证号", "姓名", "单位统一社会信用代码", "单位名称", "参保状态", "参保日期"]
    rows = social[["记录编号", *bottom[1:]]].fillna("").to_numpy().tolist()
    sheet = Sheet("参保人员", rows, [top, bottom], ["参保人员明细（截至2026年10月）"])
    write_xlsx(src / "人社_参保人员.xlsx", [sheet])
    shutil.move(src / "hotline_tickets.csv", src / "12345热线工单.csv")
    (src / "说明.docx").write_bytes(b"PK\x03\x04 a document, not a table")
    (src / "统计年鉴.csv").write_text("年份,常住人口（万人）\n2025,266.1\n", encoding="utf-8")


def test_a_delivery_in_other_shapes_builds_and_scores_as_the_original(
    delivery: Path, original_scores: dict[str, Any]
) -> None:
    """Pinyin initials in a GBK CSV under a title row, English names, a workbook with a
    title and two header rows, Chinese file names, and files that are no source."""
    _reshape(delivery)
    scores = _init_build_eval(delivery)
    assert_scores_close(scores, original_scores)
    text = (delivery / "popbase.yaml").read_text(encoding="utf-8")
    config = load_project(delivery).config
    police = next(s for s in config.sources if s.name == "police_hukou")
    assert (police.skip_rows, police.hukou_register, police.columns["id_number"]) == (
        1, True, "gmsfhm"
    )  # fmt: skip
    social = next(s for s in config.sources if s.name == "social_security")
    assert (social.skip_rows, social.header_rows) == (1, 2)
    assert social.columns["employer_credit_code"] == "单位信息/单位统一社会信用代码"
    health = next(s for s in config.sources if s.name == "health")
    assert "spouse_id_number" not in health.columns and "mother_id_card" in text
    # What fits nowhere is listed, not dropped.
    assert "sources/说明.docx: not a table or a map layer" in text
    assert "sources/统计年鉴.csv: no columns of a known source: 年份" in text
    assert "basemap/blocks.geojson" in text


def test_ledgers_in_one_folder_per_street_become_one_source(tmp_path: Path) -> None:
    header = [["编号", "基本信息", "", ""], ["", "姓名", "公民身份号码", "联系电话"]]
    for street, person in (("江川路街道", "张伟"), ("古美街道", "王芳")):
        folder = tmp_path / "居委台账" / street
        folder.mkdir(parents=True)
        rows = [[f"{street}{i}", person, "310112198001011239", "13800138000"] for i in range(6)]
        write_xlsx(folder / "台账.xlsx", [Sheet("台账", rows, header, [f"{street}台账"])])
    guess = guess_project([tmp_path])
    (source,) = guess.sources
    assert (source.name, source.pattern) == ("community_ledger", "*/*.xlsx")
    assert source.path == (tmp_path / "居委台账").resolve()


def test_a_folder_with_nothing_usable_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "说明.docx").write_bytes(b"PK\x03\x04")
    (tmp_path / "notes.txt").write_text("delivered on Monday\n", encoding="utf-8")
    with pytest.raises(NothingToGuessError, match="no file there is a source or a map layer"):
        guess_project([tmp_path])
    result = invoke("init", tmp_path / "project", "--from", tmp_path)
    assert result.exit_code == 1
    assert "Fix:" in result.stderr and "说明.docx" in result.stderr
    assert not (tmp_path / "project" / "popbase.yaml").exists()


def test_init_never_overwrites_a_project_file_without_force(tmp_path: Path) -> None:
    folder = tmp_path / "delivered"
    folder.mkdir()
    pd.DataFrame({"公民身份号码": ["310112198001011239"] * 6, "姓名": ["张伟"] * 6}).to_csv(
        folder / "公安户籍.csv", index=False
    )
    project = tmp_path / "project"
    project.mkdir()
    (project / "popbase.yaml").write_text("# mine\n", encoding="utf-8")
    result = invoke("init", project, "--from", folder)
    assert result.exit_code == 1 and "--force" in result.stderr
    assert (project / "popbase.yaml").read_text(encoding="utf-8") == "# mine\n"
    result = invoke("init", project, "--from", folder, "--force")
    assert result.exit_code == 0, result.output
    written = yaml.safe_load((project / "popbase.yaml").read_text(encoding="utf-8"))
    assert written["sources"][0]["path"] == str((folder / "公安户籍.csv").resolve())
    assert written["sources"][0]["columns"] == {"id_number": "公民身份号码", "name": "姓名"}
    # Without basemap layers the summary says what is missing, and what to run next.
    assert "space.divisions: not found" in result.output
    assert f"popbase check space {project}\n" in result.output


def test_init_writes_the_project_file_it_summarises(delivery: Path) -> None:
    project, guess, summary = init_project(delivery, [delivery / "sources", delivery / "basemap"])
    assert project == delivery / "popbase.yaml"
    names = {s.name for s in guess.sources}
    assert all(any(line.startswith(f"{n} (") for line in summary.mapped) for n in names)
    assert any("lon ←" in line for line in summary.to_check)  # 夜间常驻经度 only contains 经度
    assert any("blocks.geojson" in line for line in summary.left_out)
    text = project.read_text(encoding="utf-8")
    assert text.count("— CHECK") == len(summary.to_check)


def test_popbase_own_outputs_in_the_folder_are_not_read_and_said_so(tmp_path: Path) -> None:
    """``popbase init CITY`` on a project folder: builds, users and truth stay unread."""
    ids = pd.DataFrame({"公民身份号码": ["310112198001011239"] * 6, "姓名": ["张伟"] * 6})
    (tmp_path / "sources").mkdir()
    ids.to_csv(tmp_path / "sources" / "公安户籍.csv", index=False)
    for folder in ("truth", "snapshots/20261031T120000", "work", "audit"):
        (tmp_path / folder).mkdir(parents=True)
        ids.to_csv(tmp_path / folder / "persons.csv", index=False)
    (tmp_path / "users.json").write_text("{}", encoding="utf-8")
    (tmp_path / "current").symlink_to("snapshots/20261031T120000")
    result = invoke("init", tmp_path)
    assert result.exit_code == 0, result.output
    text = (tmp_path / "popbase.yaml").read_text(encoding="utf-8")
    assert [s["path"] for s in yaml.safe_load(text)["sources"]] == ["sources/公安户籍.csv"]
    skipped = {"truth", "snapshots", "work", "audit", "users.json", "current"}
    assert all(f"{name}: not read, popbase's own output" in result.output for name in skipped)
    assert "# Not read: popbase's own outputs" in text and "# truth: the sample's" in text
