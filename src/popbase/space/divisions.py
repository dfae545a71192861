"""The division tree: codes, names, levels, parents, and the names divisions used to have.

Statistical division codes nest by prefix (31 / 3101 / 310115 / 310115005 / 310115005001:
province / city / district / street or town / committee), so a division's level follows
from the length of its code and, when the layer gives no parent, its parent is the code
cut to the next shorter length (12 → 9 → 6 → 4 → 2 digits).

Old addresses name divisions that no longer exist: 卢湾区 (merged into 黄浦区 in 2011),
闸北区 (into 静安区, 2015), 南汇区 (into 浦东新区, 2009), and every Shanghai county that
became a district (嘉定县 → 嘉定区 in 1992 ...). :func:`historical_aliases` derives
these from the bundled timeline of area codes (``address_code_timeline.json``: a code
with an end year whose name, without its 县/区/市 suffix, is the name of exactly one
district of the same province today) plus a short curated list of merges that a name
cannot tell (卢湾区 → 黄浦区, 上海县 → 闵行区 ...). :func:`resolve_division_name` looks a
name up among today's names, then the aliases, then both without their suffixes.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Final

import pandas as pd

__all__ = [
    "LENGTH_BY_LEVEL",
    "LEVEL_BY_CODE_LENGTH",
    "LEVEL_WORDS",
    "NameIndex",
    "bundled_division_names",
    "division_tree",
    "historical_aliases",
    "level_of_word",
    "name_index",
    "parent_code",
    "resolve_division_name",
]

LEVEL_BY_CODE_LENGTH: Final = {
    2: "province",
    4: "city",
    6: "district",
    9: "street",
    12: "community",
}
LENGTH_BY_LEVEL: Final = {level: n for n, level in LEVEL_BY_CODE_LENGTH.items()}
_CODE_LENGTHS: Final = tuple(sorted(LEVEL_BY_CODE_LENGTH))
# Level names as city data writes them (a layer's `level:` or its level field).
LEVEL_WORDS: Final = {
    **{level: level for level in LENGTH_BY_LEVEL},
    "county": "district",
    "town": "street",
    "township": "street",
    "committee": "community",
    "village": "community",
    "省": "province",
    "市": "city",
    "区": "district",
    "县": "district",
    "区县": "district",
    "街道": "street",
    "镇": "street",
    "乡": "street",
    "街镇": "street",
    "乡镇": "street",
    "居委": "community",
    "村委": "community",
    "居委会": "community",
    "村委会": "community",
    "居村委": "community",
    "社区": "community",
}
# Suffixes dropped to compare names ("浦东" for 浦东新区); the longest first.
_SUFFIX: Final = re.compile(
    "(居民委员会|村民委员会|居委会|村委会|自治县|新区|街道|社区|区|县|市|镇|乡)$"
)
ALIAS_COLUMNS: Final = ["alias", "code", "valid_until", "note"]

# Merges a name cannot tell: (old name, today's code, year it ceased, what happened).
CURATED_ALIASES: Final = (
    ("南市区", "310101", 2000, "merged into 黄浦区 (code 310102 until 1999)"),
    ("卢湾区", "310101", 2011, "merged into 黄浦区 (code 310103 until 2010)"),
    ("闸北区", "310106", 2015, "merged into 静安区 (code 310108 until 2014)"),
    ("吴淞区", "310113", 1988, "merged with 宝山县 into 宝山区 (code 310111 until 1987)"),
    ("上海县", "310112", 1992, "merged with the old 闵行区 into 闵行区 (code 310221 until 1991)"),
    ("川沙县", "310115", 1993, "became part of 浦东新区 (code 310224 until 1991)"),
    ("南汇区", "310115", 2009, "merged into 浦东新区 (code 310119 until 2008)"),
    ("崇文区", "110101", 2010, "merged into 东城区 (code 110103 until 2009)"),
    ("宣武区", "110102", 2010, "merged into 西城区 (code 110104 until 2009)"),
)


def stem(name: str) -> str:
    """``name`` without its level suffix, when at least two characters remain.

    Examples
    --------
    >>> stem("浦东新区"), stem("嘉定县"), stem("江川路街道"), stem("城区")
    ('浦东', '嘉定', '江川路', '城区')
    """
    short = _SUFFIX.sub("", name)
    return short if len(short) >= 2 else name


def level_of_word(word: str) -> str | None:
    """The level a word names (English in any case, or Chinese), or None.

    Examples
    --------
    >>> level_of_word("街镇"), level_of_word("Committee"), level_of_word("楼")
    ('street', 'community', None)
    """
    text = word.strip()
    return LEVEL_WORDS.get(text) or LEVEL_WORDS.get(text.lower())


def parent_code(code: str) -> str | None:
    """The code of the division one level up, by prefix (None for a province).

    Examples
    --------
    >>> parent_code("310115005001"), parent_code("310115"), parent_code("31")
    ('310115005', '3101', None)
    """
    shorter = [n for n in _CODE_LENGTHS if n < len(code)]
    return code[: shorter[-1]] if shorter else None


def division_tree(features: pd.DataFrame) -> pd.DataFrame:
    """Codes, names, levels and parents of a divisions layer.

    Parameters
    ----------
    features
        ``code`` and ``name``, optionally ``level`` (English or Chinese level words) and
        ``parent`` (when missing, parents follow from code prefixes).

    Returns
    -------
    pandas.DataFrame
        ``code, name, level, parent_code`` in the order of ``features``.
    """
    codes = features["code"].astype(str)
    from_code = codes.str.len().map(LEVEL_BY_CODE_LENGTH)
    if "level" in features:
        given = features["level"].astype("string").str.strip()
        level = given.map(lambda v: level_of_word(v) or v if isinstance(v, str) else None)
        level = level.where(level.notna(), from_code)
    else:
        level = from_code
    by_prefix = codes.map(parent_code)
    if "parent" in features:
        parent = features["parent"].where(features["parent"].notna(), by_prefix)
    else:
        parent = by_prefix
    return pd.DataFrame(
        {
            "code": codes.to_numpy(dtype=object),
            "name": features["name"].astype(str).to_numpy(dtype=object),
            "level": level.fillna("unknown").astype(str).to_numpy(dtype=object),
            "parent_code": parent.to_numpy(dtype=object),
        },
        index=features.index,
    )


@cache
def _data_text(name: str) -> str:
    return resources.files("popbase.data").joinpath(name).read_text(encoding="utf-8")


@cache
def bundled_division_names() -> pd.DataFrame:
    """``code, name`` of the divisions in the bundled NBS tables (2023).

    China's provinces, cities and counties, and Shanghai's streets/towns and committees.
    A municipality's city (3101, 市辖区 in the tables) takes the municipality's name.

    Examples
    --------
    >>> names = bundled_division_names().set_index("code")["name"]
    >>> names["310112"], names["310112001"], names["3101"]
    ('闵行区', '江川路街道', '上海市')
    """
    provinces = _table("provinces.csv")
    cities = _table("cities.csv")
    by_province = dict(zip(provinces["code"], provinces["name"], strict=True))
    municipal = cities["name"] == "市辖区"
    cities.loc[municipal, "name"] = cities.loc[municipal, "code"].str[:2].map(by_province)
    frames = [provinces, cities, _table("areas.csv")]
    frames += [_table(f) for f in ("streets_shanghai.csv", "villages_shanghai.csv")]
    out = pd.concat([f[["code", "name"]] for f in frames], ignore_index=True)
    return out.dropna().drop_duplicates("code", ignore_index=True)


def _table(name: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(_data_text(name)), dtype=str)


@cache
def historical_aliases() -> pd.DataFrame:
    """Names of abolished county-level divisions and the code that covers them today.

    Returns
    -------
    pandas.DataFrame
        ``alias, code, valid_until, note``: ``valid_until`` is the year the name ceased
        (missing when it ceased after the timeline's last year, 2019).

    Examples
    --------
    >>> aliases = historical_aliases().set_index("alias")
    >>> aliases.loc["卢湾区", "code"], aliases.loc["南汇县", "code"]
    ('310101', '310115')
    >>> int(aliases.loc["嘉定县", "valid_until"])
    1992
    """
    today = pd.read_csv(io.StringIO(_data_text("areas.csv")), dtype=str)[["code", "name"]]
    today_names = set(today["name"])
    for bigger in ("cities.csv", "provinces.csv"):  # 黄山市 is a city today, not 黄山区
        today_names |= set(pd.read_csv(io.StringIO(_data_text(bigger)), dtype=str)["name"])
    today_by_stem: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for code, name in today.itertuples(index=False):
        today_by_stem.setdefault((code[:2], stem(name)), []).append((code, name))
    curated = {alias: (code, year, note) for alias, code, year, note in CURATED_ALIASES}
    curated_by_stem = {
        (code[:2], stem(alias)): (code, alias) for alias, code, _, _ in CURATED_ALIASES
    }
    # The last year each abolished name was in use (None: after the timeline ends) and
    # its code then.
    ended: dict[str, tuple[int | None, str]] = {}
    for old_code, spans in json.loads(_data_text("address_code_timeline.json")).items():
        for span in spans:
            name, end = span["address"], span["end_year"]
            if name in today_names:
                continue
            if not end:
                ended[name] = (None, old_code)
            elif name not in ended or (ended[name][0] or 9999) < int(end):
                ended[name] = (int(end), old_code)
    rows: list[tuple[str, str, int | None, str]] = [
        (a, c, y, f"{a} {n}") for a, (c, y, n) in curated.items()
    ]
    for name, (end, old_code) in sorted(ended.items()):
        if name in curated or len(stem(name)) < 2:
            continue
        until = "after the timeline" if end is None else f"until {end}"
        key = (old_code[:2], stem(name))
        matches = today_by_stem.get(key, [])
        ceased = None if end is None else end + 1
        if len(matches) == 1:
            code, now = matches[0]
            rows.append((name, code, ceased, f"{name} (code {old_code} {until}) is {now}"))
        elif key in curated_by_stem:  # renamed first, then merged: 南汇县 → 南汇区 → 浦东新区
            code, via = curated_by_stem[key]
            note = f"{name} (code {old_code} {until}) became {via}, {curated[via][2]}"
            rows.append((name, code, ceased, note))
    frame = pd.DataFrame(rows, columns=ALIAS_COLUMNS)
    frame["valid_until"] = frame["valid_until"].astype("Int64")
    return frame.sort_values(["code", "valid_until", "alias"], ignore_index=True)


@dataclass(frozen=True)
class NameIndex:
    """Division names to codes, for :func:`resolve_division_name`.

    Each mapping gives every code a name may mean (several when a name repeats, e.g. two
    committees called 新村居委会 in different streets).
    """

    names: dict[str, tuple[str, ...]] = field(default_factory=dict)
    aliases: dict[str, tuple[str, ...]] = field(default_factory=dict)
    stems: dict[str, tuple[str, ...]] = field(default_factory=dict)


def _group(pairs: list[tuple[str, str]]) -> dict[str, tuple[str, ...]]:
    out: dict[str, list[str]] = {}
    for key, code in pairs:
        if code not in out.setdefault(key, []):
            out[key].append(code)
    return {k: tuple(v) for k, v in out.items()}


def name_index(divisions: pd.DataFrame, aliases: pd.DataFrame | None = None) -> NameIndex:
    """Index division names (``name``, ``code``) and aliases (``alias``, ``code``)."""
    names = list(zip(divisions["name"].astype(str), divisions["code"].astype(str), strict=True))
    olds: list[tuple[str, str]] = []
    if aliases is not None:
        olds = list(zip(aliases["alias"].astype(str), aliases["code"].astype(str), strict=True))
    stems = [(stem(n), c) for n, c in names + olds if stem(n) != n]
    return NameIndex(_group(names), _group(olds), _group(stems))


_INDEXES: list[tuple[pd.DataFrame, pd.DataFrame | None, NameIndex]] = []


def _index_of(divisions: pd.DataFrame, aliases: pd.DataFrame | None) -> NameIndex:
    # Keyed by identity: holding the frames keeps their ids from being reused.
    for d, a, index in _INDEXES:
        if d is divisions and a is aliases:
            return index
    index = name_index(divisions, aliases)
    _INDEXES.append((divisions, aliases, index))
    del _INDEXES[:-8]
    return index


def resolve_division_name(
    name: str,
    divisions: pd.DataFrame | NameIndex,
    aliases: pd.DataFrame | None = None,
    *,
    within: str = "",
) -> str | None:
    """The code of the division a name means, today's name or an old one.

    Parameters
    ----------
    name
        A division name as an address writes it: 卢湾区, 浦东, 嘉定县, 江川路街道.
    divisions
        The divisions table (``code``, ``name``) or a prebuilt :class:`NameIndex`. Tables
        are indexed once and the index is reused while the same table objects are passed
        (so do not change them in place between calls).
    aliases
        The ``division_aliases`` table (``alias``, ``code``); ignored with a NameIndex.
    within
        Only codes starting with this prefix count (e.g. the district already parsed).

    Returns
    -------
    str or None
        The code, or None when the name is unknown or means more than one division.

    Examples
    --------
    >>> divisions = pd.DataFrame({"code": ["310101", "310115"], "name": ["黄浦区", "浦东新区"]})
    >>> aliases = historical_aliases()
    >>> resolve_division_name("卢湾区", divisions, aliases)
    '310101'
    >>> resolve_division_name("浦东", divisions, aliases)
    '310115'
    >>> resolve_division_name("川沙县", divisions, aliases)
    '310115'
    """
    index = divisions if isinstance(divisions, NameIndex) else _index_of(divisions, aliases)
    text = name.strip()
    for table, key in (
        (index.names, text),
        (index.aliases, text),
        (index.stems, stem(text)),
        (index.names, stem(text)),
    ):
        codes = [c for c in table.get(key, ()) if c.startswith(within)]
        if len(set(codes)) == 1:
            return codes[0]
        if codes:
            return None  # ambiguous at this step: a looser step would only guess
    return None
