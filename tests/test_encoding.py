from __future__ import annotations

import codecs
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from popbase import PopbaseError, UndecodableFileError
from popbase.io.encoding import check_encoding, detect_encoding, first_undecodable

# Rare characters: 𠮷 lies beyond the BMP (4 bytes in UTF-8 and GB18030, absent from
# GBK); 彧 is in GBK; the middle dot of minority names is U+00B7.
TEXT = "序号,姓名,地址\n1,阿依古丽·买买提,江川路1号\n2,彧,东川路800号\n3,𠮷野,剑川路\n"
GBK_TEXT = TEXT.replace("𠮷", "吉")


def write(tmp_path: Path, data: bytes, name: str = "t.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("text", "codec", "expected"),
    [
        (TEXT, "utf-8", "utf-8"),
        (TEXT, "utf-8-sig", "utf-8-sig"),
        (GBK_TEXT, "gbk", "gb18030"),
        (TEXT, "gb18030", "gb18030"),
    ],
)
def test_detect_round_trips(tmp_path: Path, text: str, codec: str, expected: str) -> None:
    path = write(tmp_path, text.encode(codec))
    detected = detect_encoding(path)
    assert detected == expected
    assert path.read_bytes().decode(detected) == text


def test_empty_and_ascii_files_are_utf8(tmp_path: Path) -> None:
    assert detect_encoding(write(tmp_path, b"")) == "utf-8"
    assert detect_encoding(write(tmp_path, b"a,b\n1,2\n")) == "utf-8"


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1).filter(lambda t: not t.startswith("\ufeff")))
def test_utf8_is_never_detected_as_gb(tmp_path_factory: pytest.TempPathFactory, text: str) -> None:
    path = tmp_path_factory.mktemp("utf8") / "t.csv"
    path.write_bytes(text.encode("utf-8"))
    assert detect_encoding(path, chunk_bytes=7) == "utf-8"


def test_utf8_with_gb_lookalike_bytes_is_utf8(tmp_path: Path) -> None:
    # Every UTF-8 Chinese text also decodes as GB18030 (to the wrong characters) when its
    # byte count suits; UTF-8 must win.
    text = "中文"
    assert text.encode("utf-8").decode("gb18030") != text
    assert detect_encoding(write(tmp_path, text.encode("utf-8"))) == "utf-8"


@pytest.mark.parametrize("chunk", [1, 2, 3, 4, 5, 6, 7])
@pytest.mark.parametrize("codec", ["utf-8", "gb18030"])
def test_multibyte_characters_straddling_chunks(tmp_path: Path, chunk: int, codec: str) -> None:
    # With every chunk size from 1 to 7, some 2-, 3- and 4-byte character is split.
    path = write(tmp_path, TEXT.encode(codec) * 3)
    assert detect_encoding(path, chunk_bytes=chunk) == codec
    assert first_undecodable(path, codec, chunk_bytes=chunk) is None


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 64, 1 << 20])
def test_offset_of_bad_byte_is_exact_for_any_chunk_size(tmp_path: Path, chunk: int) -> None:
    good = TEXT.encode("utf-8")
    path = write(tmp_path, good + b"\xe5\xbc" + b",x\n")  # a character cut short
    assert first_undecodable(path, "utf-8", chunk_bytes=chunk) == len(good)


def test_undecodable_file_names_offset_line_and_fix(tmp_path: Path) -> None:
    data = GBK_TEXT.encode("gbk") + b"4,\xff\xfe,x\n"
    path = write(tmp_path, data)
    with pytest.raises(UndecodableFileError, match=r"line 5\)") as info:
        detect_encoding(path)
    error = info.value
    assert isinstance(error, UnicodeError)
    assert isinstance(error, PopbaseError)
    assert error.offset == data.index(b"\xff")
    assert error.encoding == "GB18030"  # the encoding that reads furthest
    assert error.tried == ["UTF-8", "GB18030"]
    message = str(error)
    assert "t.csv" in message
    assert f"byte offset {error.offset:,}" in message
    assert "re-export the file as UTF-8, or set `encoding:`" in message


def test_undecodable_mostly_utf8_file_points_at_utf8_error(tmp_path: Path) -> None:
    data = TEXT.encode("utf-8") * 50 + b"\xe5\xbc,x\n"
    path = write(tmp_path, data)
    with pytest.raises(UndecodableFileError, match="read as UTF-8") as info:
        detect_encoding(path)
    assert info.value.offset == len(TEXT.encode("utf-8")) * 50
    assert info.value.line == 4 * 50 + 1


def test_explicit_encoding_is_strict(tmp_path: Path) -> None:
    # 𠮷 exists in GB18030 but not in GBK: declared GBK, the file is rejected at it.
    data = TEXT.encode("gb18030")
    path = write(tmp_path, data)
    check_encoding(path, "gb18030")
    with pytest.raises(UndecodableFileError, match=r"not valid GBK text.*\(line 4\)") as info:
        check_encoding(path, "gbk")
    assert info.value.offset == data.index("𠮷".encode("gb18030"))


def test_utf8_bom_file_with_bad_bytes_reports_file_offset(tmp_path: Path) -> None:
    data = codecs.BOM_UTF8 + b"a,b\n" + b"\xff\n"
    path = write(tmp_path, data)
    with pytest.raises(UndecodableFileError, match=r"offset 7 \(line 2\)"):
        detect_encoding(path)


def test_utf16_file_gets_a_utf16_hint(tmp_path: Path) -> None:
    path = write(tmp_path, TEXT.encode("utf-16"))
    with pytest.raises(UndecodableFileError, match="encoding: utf-16"):
        detect_encoding(path)
    check_encoding(path, "utf-16")
