"""Span scoring, cpca's scoring by text, and the three corpus readers on tiny hand-made files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from popbase.address.corpus import GoldAddress, read_corpus, spans_from_tags
from popbase.address.scoring import (
    Counts,
    cpca_counts,
    exact_match,
    is_shanghai,
    name_stem,
    report,
    span_counts,
    total_counts,
)
from popbase.errors import SourceFileError

GOLD = [("city", 0, 3), ("district", 3, 6), ("road", 6, 9), ("roadno", 9, 14), ("poi", 14, 18)]


def test_spans_count_only_when_tag_start_and_end_agree() -> None:
    pred = [("city", 0, 3), ("district", 3, 6), ("road", 6, 10), ("houseno", 9, 14)]
    counts = span_counts(GOLD, pred)
    assert counts["city"] == Counts(tp=1)
    assert counts["road"] == Counts(fp=1, fn=1)
    assert counts["roadno"] == Counts(fn=1)
    assert counts["houseno"] == Counts(fp=1)
    scores = report(counts)
    assert scores["road"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert "cellno" not in scores  # neither annotated nor predicted


def test_precision_recall_f1_over_addresses() -> None:
    first = span_counts([("road", 0, 3)], [("road", 0, 3)])
    second = span_counts([("road", 0, 3)], [("road", 0, 2)])
    third = span_counts([("road", 0, 3)], [])
    road = total_counts([first, second, third])["road"].as_dict()
    assert road == {"precision": 0.5, "recall": 0.3333, "f1": 0.4, "support": 3}


def test_exact_match_ignores_tags_outside_the_scored_set() -> None:
    pred = [("city", 0, 3), ("district", 3, 6), ("road", 6, 9), ("roadno", 9, 14)]
    assert exact_match(GOLD, pred)  # poi is not among the exact-match tags
    assert not exact_match(GOLD, pred[:-1])
    assert not exact_match(GOLD, [*pred, ("roomno", 14, 18)])


def test_cpca_is_scored_by_the_text_of_the_gold_component() -> None:
    gold = {"prov": "上海", "city": "上海市", "district": "浦东区"}
    cpca = {"prov": "上海市", "city": "市辖区", "district": "浦东新区"}
    counts = cpca_counts("上海上海市浦东区张杨路", gold, cpca)
    assert counts["prov"] == Counts(tp=1)  # 上海 written twice: a province and a city
    assert counts["city"] == Counts(tp=1)  # 市辖区 is read as the municipality
    assert counts["district"] == Counts(tp=1)  # 浦东新区 = 浦东区 by their stems


def test_cpca_inferences_are_neither_right_nor_wrong() -> None:
    # cpca fills in the province of a city the text names: no reading of the text.
    counts = cpca_counts("杭州市西湖区", {"city": "杭州市", "district": "西湖区"},
                         {"prov": "浙江省", "city": "杭州市", "district": "西湖区"})  # fmt: skip
    assert counts["prov"] == Counts()
    wrong = cpca_counts("宁波余姚市", {"city": "宁波", "district": "余姚市"},
                        {"prov": "浙江省", "city": "宁波市", "district": ""})  # fmt: skip
    assert wrong["district"] == Counts(fn=1)
    assert wrong["city"] == Counts(tp=1)


def test_name_stems() -> None:
    assert name_stem("内蒙古自治区") == "内蒙古"
    assert name_stem("东区") == "东区"  # too short to lose its suffix


@pytest.mark.parametrize(
    ("text", "shanghai"),
    [
        ("上海市闵行区七莘路", True),
        ("闵行区七莘路", True),
        ("卢湾区瑞金二路", True),
        ("浙江省舟山市普陀区东港街道", False),
        ("普陀区真北路", True),
        ("杭州市上城区", False),
        ("江苏省苏州市工业园区星湖街上海路", False),
    ],
)
def test_shanghai_lines(text: str, shanghai: bool) -> None:
    assert is_shanghai(text) is shanghai


def test_bio_bioes_and_bmes_tags_read_alike() -> None:
    tokens = ["上", "海", "市", "张", "杨", "路", "100", "号"]
    bio = ["B-city", "I-city", "I-city", "B-road", "I-road", "I-road", "B-roadno", "I-roadno"]
    bioes = ["B-city", "I-city", "E-city", "B-road", "I-road", "E-road", "B-roadno", "E-roadno"]
    bmes = ["B-city", "M-city", "E-city", "B-road", "M-road", "E-road", "B-roadno", "E-roadno"]
    expected = ("上海市张杨路100号", (("city", 0, 3), ("road", 3, 6), ("roadno", 6, 10)))
    for tags in (bio, bioes, bmes):
        assert spans_from_tags(tokens, tags) == expected


def test_malformed_tags_are_refused() -> None:
    with pytest.raises(ValueError, match="neither O nor"):
        spans_from_tags(["上"], ["X-city"])
    with pytest.raises(ValueError, match="2 tokens but 1 tags"):
        spans_from_tags(["上", "海"], ["B-city"])


def test_naacl_reader(tmp_path: Path) -> None:
    path = tmp_path / "dev.txt"
    path.write_text(
        "闵 B-district\n行 I-district\n区 I-district\n春 B-road\n申 I-road\n路 I-road\n"
        "28 B-subRoad\n弄 I-subRoad\n_ B-redundant\n书 B-poi\n店 I-poi\n\n"
        "莘 B-devZone\n庄 I-devZone\n工 I-devZone\n业 I-devZone\n区 I-devZone\n",
        encoding="utf-8",
    )
    first, second = read_corpus(path, "naacl")
    assert first == GoldAddress(
        "闵行区春申路28弄_书店",
        (
            ("district", 0, 3),
            ("road", 3, 6),
            ("subroad", 6, 9),
            ("redundant", 9, 10),
            ("poi", 10, 12),
        ),
        line=1,
    )
    assert second.spans == (("devzone", 0, 5),) and second.line == 13
    assert first.component("road") == "春申路"


def test_bmes_reader_joins_word_pieces_and_maps_village_tags(tmp_path: Path) -> None:
    path = tmp_path / "dev.txt"
    path.write_text(
        "红 B-village\n星 M-village\n村 E-village\n3 B-group\n组 E-group\n"
        "1 B-houseno\n##2 M-houseno\n号 E-houseno\n[UNK] S-redundant\n",
        encoding="utf-8",
    )
    (address,) = read_corpus(path, "bmes")
    assert address.text == "红星村3组12号\ufffd"
    assert address.spans == (("community", 0, 3), ("village_group", 3, 5), ("houseno", 5, 8),
                             ("redundant", 8, 9))  # fmt: skip


def test_ccks_reader(tmp_path: Path) -> None:
    path = tmp_path / "train.json"
    rows = [
        {"text": "松江区中山街道0号", "tags": ["B-district", "I-district", "E-district", "B-town",
                                           "I-town", "I-town", "E-town", "B-roadno", "E-roadno"]},
        {"text": "A栋", "tags": ["B-houseno", "E-houseno"]},
    ]  # fmt: skip
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n\n", "utf-8")
    first, second = read_corpus(path, "ccks")
    assert first.spans == (("district", 0, 3), ("town", 3, 7), ("roadno", 7, 9))
    assert second.text == "A栋" and second.line == 2


def test_readers_name_the_problem(tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("闵 B-district extra\n", encoding="utf-8")
    with pytest.raises(SourceFileError, match="line 1 is"):
        read_corpus(bad, "naacl")
    with pytest.raises(SourceFileError, match="JSON object"):
        read_corpus(bad, "ccks")
    with pytest.raises(SourceFileError, match="no such corpus file"):
        read_corpus(tmp_path / "missing.txt", "naacl")
    with pytest.raises(ValueError, match="expected one of"):
        read_corpus(bad, "conll")  # type: ignore[arg-type]


def test_evaluate_corpus_has_a_stable_shape(tmp_path: Path) -> None:
    pytest.importorskip("cpca")
    from popbase.address.evaluate import evaluate_corpus

    path = tmp_path / "dev.txt"
    lines = ["上 B-city", "海 I-city", "市 I-city", "张 B-road", "杨 I-road", "路 I-road",
             "100 B-roadno", "号 I-roadno", "", "杭 B-city", "州 I-city", "市 I-city",
             "学 B-road", "院 I-road", "路 I-road", "7 B-roadno", "号 I-roadno"]  # fmt: skip
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = evaluate_corpus(path, "naacl")
    assert list(result) == ["corpus", "format", "lines", "tags", "exact_match", "shanghai",
                            "cpca", "shanghai_cpca", "parser_by_text",
                            "shanghai_parser_by_text"]  # fmt: skip
    assert result["lines"] == 2 and result["exact_match"] == 1.0
    assert result["shanghai"]["lines"] == 1
    assert result["tags"]["road"]["f1"] == 1.0
    assert result["cpca"]["city"]["f1"] == 1.0
