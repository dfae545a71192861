"""The area a delivery covers: its statistical code, its name and its as-of date.

The code is the common prefix of the division codes seen (of the division layers, else
the NBS codes of the streets that committees coded by their last parts name, else the
grids, else a signaling source's grid codes), cut to a statistical code length (2, 4,
6, 9 or 12 digits). The name is the bundled NBS tables' name for it (the divisions
layer's own where the tables stop). The as-of date is the newest date a file's name or a
ledger's title gives (截至2026年10月 means its last day), else the newest file's date.
"""

from __future__ import annotations

import calendar
import csv
import datetime as dt
import re
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Final

from popbase.guess.layer_roles import LayerGuess
from popbase.guess.layout import TableHead
from popbase.guess.sources import SourceGuess, common_prefix, relative
from popbase.space.division_layers import unpadded
from popbase.space.divisions import bundled_division_names, resolve_division_name

__all__ = ["area_as_of", "area_code", "area_name"]

_CODE_LENGTHS: Final = (12, 9, 6, 4, 2)
_DATE_IN_TEXT: Final = (
    # 2026-10-31, 2026_10, 2026年10月31日, 2026年10月
    re.compile(
        r"(?<!\d)(?P<y>20\d\d)[-_.年/](?P<m>1[0-2]|0?[1-9])(?!\d)"
        r"(?:[-_.月/](?P<d>3[01]|[12]\d|0?[1-9])(?!\d))?"
    ),
    # 20261031, 202610
    re.compile(r"(?<!\d)(?P<y>20\d\d)(?P<m>0[1-9]|1[0-2])(?P<d>0[1-9]|[12]\d|3[01])?(?!\d)"),
)


def _common_code(codes: list[str]) -> str:
    prefix = common_prefix([c for c in codes if c.isdigit()])
    return next((prefix[:n] for n in _CODE_LENGTHS if len(prefix) >= n), "")


def _parents_code(layers: list[LayerGuess]) -> tuple[str, str]:
    """The area of divisions coded by last parts, from the parents they name.

    Committees coded 001, 002 under 所属街道 江川路街道: the bundled NBS tables know the
    street's code (310112001), whose district is the area.
    """
    found: dict[str, str] = {}
    for layer in layers:
        parent = layer.column("parent")
        if layer.role != "divisions" or not layer.short_codes or parent is None:
            continue
        for value in dict.fromkeys(layer.head.samples[parent]):
            if value.isascii() and value.isdigit():
                found[value] = unpadded(value)
            elif value and (code := resolve_division_name(value, bundled_division_names())):
                found[value] = code
    code = _common_code(list(found.values()))
    if not code:
        return "", ""
    shown = "、".join(f"{n} {c}" for n, c in list(found.items())[:3])
    return code, f"the NBS codes of the divisions the short-coded ones belong to ({shown})"


def area_code(layers: list[LayerGuess], sources: list[SourceGuess]) -> tuple[str, str]:
    """The area's statistical code and why (``""`` when no code was seen).

    Every division layer with whole codes counts (streets from one file, committees from
    another), then the parents that divisions coded by their last parts name, then the
    grids, then a signaling source's grid codes.
    """
    whole = [
        unpadded(c)
        for layer in layers
        if layer.role == "divisions" and not layer.short_codes
        for c in layer.codes
    ]
    code = _common_code(whole)
    if code:
        return code, "the common prefix of the divisions' codes"
    code, why = _parents_code(layers)
    if code:
        return code, why
    codes = [c for layer in layers if layer.role == "grids" for c in layer.codes]
    code = _common_code(codes)
    if code:
        return code, "the common prefix of the grids' codes"
    for source in sources:
        grid = source.mapping.get("grid_code")
        if grid:
            code = _common_code(source.head.samples[grid.column])
            if code:
                return code, f"the common prefix of the grid codes of {source.name}"
    return "", "no division codes found: give the area's statistical code"


@cache
def _bundled_names() -> dict[str, str]:
    names: dict[str, str] = {}
    for table in ("provinces.csv", "cities.csv", "areas.csv", "streets_shanghai.csv",
                  "villages_shanghai.csv"):  # fmt: skip
        text = resources.files("popbase.data").joinpath(table).read_text(encoding="utf-8-sig")
        names |= {r["code"]: r["name"] for r in csv.DictReader(text.splitlines())}
    return names


def area_name(code: str, divisions: list[LayerGuess]) -> tuple[str, str]:
    """The area's name and why (``""`` when neither the tables nor the layers know it)."""
    name = _bundled_names().get(code, "")
    if name and name != "市辖区":
        return name, f"the NBS name of {code}"
    for layer in divisions:
        name_field, code_field = layer.column("name"), layer.column("code")
        if name_field is None or code_field is None or layer.short_codes:
            continue
        for c, n in zip(
            layer.head.samples[code_field], layer.head.samples[name_field], strict=False
        ):
            if unpadded(c) == code and n:
                return n, f"the name of {code} in {layer.head.path.name}"
    return "", "give the area's name"


def _dates(text: str) -> list[dt.date]:
    """Dates a file name or title gives; a month alone means its last day.

    >>> _dates("江川路街道社区居民台账（截至2026年10月）"), _dates("公安户籍_20260915.csv")
    ([datetime.date(2026, 10, 31)], [datetime.date(2026, 9, 15)])
    >>> _dates("310112001_江川路街道.xlsx")
    []
    """
    found = []
    for pattern in _DATE_IN_TEXT:
        for m in pattern.finditer(text):
            year, month = int(m.group("y")), int(m.group("m"))
            last = calendar.monthrange(year, month)[1]
            day = int(m.group("d")) if m.group("d") else last  # 截至2026年10月: its last day
            if 1 <= day <= last:
                found.append(dt.date(year, month, day))
    return found


def area_as_of(
    heads: list[TableHead], files: list[Path], folders: list[Path]
) -> tuple[dt.date, str]:
    """The date the delivery describes, and where it was read."""
    today = dt.date.today()
    dated = [
        (d, f"{text!r} ({relative(path, folders)})")
        for path, text in [(h.path, h.title) for h in heads] + [(f, f.name) for f in files]
        for d in _dates(text)
        if d <= today
    ]
    if dated:
        return max(dated)
    if files:
        newest = max(files, key=lambda f: f.stat().st_mtime)
        day = dt.date.fromtimestamp(newest.stat().st_mtime)
        return day, f"the newest file's date ({relative(newest, folders)})"
    return today, "today"
