"""The bundled timeline of area codes."""

from __future__ import annotations

from popbase.population.area_codes import (
    abolished_area_codes,
    area_code_flags,
    area_code_strings,
    area_name,
    area_timeline,
    known_area_codes,
)


def test_timeline_is_loaded_once() -> None:
    assert area_timeline() is area_timeline()
    assert len(area_timeline()) == 6734


def test_abolished_shanghai_codes() -> None:
    abolished = abolished_area_codes("31")
    # The timeline gives the last year a code was listed: 卢湾区 merged into 黄浦区 in 2011.
    assert abolished["310103"] == ("卢湾区", 2010)
    assert abolished["310108"] == ("闸北区", 2014)
    assert "310101" not in abolished  # 黄浦区 is current
    assert all(code.startswith("31") for code in abolished)
    assert len(abolished_area_codes("")) > len(abolished)


def test_area_name() -> None:
    assert area_name("310115") == "浦东新区"
    assert area_name("310103") == "卢湾区"
    assert area_name("120110") == "东丽区"  # reused: 东郊区 until 1991, then 东丽区
    assert area_name("999999") is None


def test_lookup_tables_match_the_timeline() -> None:
    known, abolished = area_code_flags()
    strings = area_code_strings()
    assert int(known.sum()) == len(known_area_codes()) > len(area_timeline())
    assert int(abolished.sum()) == len(abolished_area_codes(""))
    assert strings[310103] == "310103"
    assert strings[310199] is None
    assert not known.flags.writeable
