"""Division layers: each one's level and parent field, and which of them to use.

Divisions come in pieces: the planning bureau's streets (街道代码, 街道名称) in one file, the
civil-affairs bureau's committees (居委代码, 居委名称, 所属街道) in another, committees coded
in full (310112001001) or by their last part (001) under their street's name. A division
layer's fields name their level: in a committee layer, 居委代码 and 居委名称 are the
feature's own, while 所属街道, 街道名称 or 街道代码 name the street it belongs to — its
``parent``. :func:`division_fields` reads the levels the headers name (居委, 村委, 社区,
committee; 街道, 街镇, 乡镇, town; 区县, district), takes the finest as the layer's own, and
maps a field naming a coarser level as the parent, its code before its name.

A layer's ``level:`` is written where something says it: codes of one length (9 digits
streets, 12 committees; NBS codes padded to 12 digits are read at their level), else the
level its code or name field names, else the file's name (居委.geojson), else one below
what its parent field holds (所属街道: 江川路街道 makes the features committees).

Every division layer found is used (:func:`choose_division_layers`), coarsest first, but
one that gives the same divisions as a layer already used (a copy, an older version) is
listed instead: loaded twice, each of its features would be set aside as a duplicate.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from popbase.guess.columns import EXACT, STEM, FieldGuess
from popbase.guess.values import profile
from popbase.guess.vocabulary import header_key
from popbase.io.headers import SEPARATOR
from popbase.space.division_layers import unpadded
from popbase.space.divisions import LENGTH_BY_LEVEL, LEVEL_BY_CODE_LENGTH

if TYPE_CHECKING:
    from popbase.guess.layer_roles import LayerGuess

__all__ = [
    "DivisionFields",
    "choose_division_layers",
    "division_fields",
    "named_level",
    "short_codes",
]

# Coarse to fine, as the codes nest.
LEVELS: Final = ("province", "city", "district", "street", "community")
CODE_SHARE: Final = 0.9
# Words naming a level, the finest first (社区 holds 区). Pinyin initials of database
# columns (jwdm 居委代码, jdmc 街道名称) count only as whole names.
_LEVEL_WORDS: Final = (
    (
        "community",
        re.compile(
            r"居委|村委|居村|社区|居民委员会|村民委员会|committee|community|village|"
            r"neighbou?rhood|^(jw|sq|cw|jcw)(dm|bm|mc|bh)$"
        ),
    ),
    ("street", re.compile(r"街道|街镇|乡镇|镇|乡|street|town|subdistrict|^(jd|jz|xz)(dm|bm|mc)$")),
    ("district", re.compile(r"区县|县|^区(?!划)|所属区|district|county|^qx(dm|bm|mc)$")),
)
_CODE_HEADER: Final = re.compile(r"代码|编码|编号|code|id$|(dm|bm|bh)$")
_NAME_HEADER: Final = re.compile(r"名称|名字|name|mc$")
# What a parent field's values end with says its level (江川路街道 is a street).
_VALUE_LEVEL: Final = (
    ("street", re.compile(r"(街道|街道办事处|镇|乡|地区办事处)$")),
    ("district", re.compile(r"(区|县|市|旗)$")),
)


def named_level(header: str) -> str | None:
    """The level a header names (居委代码: committees), or None.

    Examples
    --------
    >>> named_level("居委代码"), named_level("所属街道"), named_level("STREET_NAME")
    ('community', 'street', 'street')
    >>> named_level("区划代码"), named_level("名称"), named_level("区县名称")
    (None, None, 'district')
    """
    key = header_key(header.rsplit(SEPARATOR, 1)[-1])
    return next((level for level, words in _LEVEL_WORDS if words.search(key)), None)


def plural(level: str) -> str:
    """``communities``, ``streets``: a level's features in words."""
    return "communities" if level == "community" else f"{level}s"


def _rank(level: str) -> int:
    return LEVELS.index(level) if level in LEVELS else -1


def short_codes(values: Sequence[str]) -> bool:
    """Whether a code field holds last parts of codes (001, 1), not whole ones."""
    return profile(values).share("code_part") >= CODE_SHARE


def _is_codes(values: Sequence[str]) -> bool:
    shares = profile(values)
    return shares.share("division_code") >= CODE_SHARE or shares.share("code_part") >= CODE_SHARE


@dataclass(frozen=True)
class DivisionFields:
    """A division layer's fields, with its level and how it is known.

    Attributes
    ----------
    fields
        The fields mapped (``code``, ``name``, ``level``, ``parent``).
    unmapped
        Fields left over, with why.
    level
        The layer's ``level:`` (``None``: the codes' lengths or a level field say it
        feature by feature, or nothing says it).
    level_evidence
        Why, in words.
    short
        Whether the codes are last parts (001 within the parent).
    """

    fields: list[FieldGuess]
    unmapped: dict[str, str]
    level: str | None
    level_evidence: str
    short: bool


def _own_level(samples: Mapping[str, Sequence[str]]) -> str | None:
    """The finest level a code or name field names: the features' own."""
    named = [
        level
        for column in samples
        if (level := named_level(column))
        and re.search(_CODE_HEADER.pattern + "|" + _NAME_HEADER.pattern, header_key(column))
    ]
    return max(named, key=_rank) if named else None


def _take(
    fields: dict[str, FieldGuess], field: str, column: str, evidence: str, sure: bool
) -> None:
    """Map ``column`` to ``field``, freeing whatever field held the column before."""
    for name, guess in list(fields.items()):
        if guess.column == column:
            del fields[name]
    fields[field] = FieldGuess(field, column, EXACT if sure else STEM, evidence, True)


def _values_level(values: Sequence[str]) -> str | None:
    """The level of the divisions a parent field names, by codes or name endings."""
    texts = [v for v in values if v]
    if not texts:
        return None
    lengths = Counter(len(unpadded(v)) for v in texts if v.isascii() and v.isdigit())
    if lengths and sum(lengths.values()) >= CODE_SHARE * len(texts):
        return LEVEL_BY_CODE_LENGTH.get(lengths.most_common(1)[0][0])
    for level, ending in _VALUE_LEVEL:
        if sum(1 for v in texts if ending.search(v)) >= CODE_SHARE * len(texts):
            return level
    return None


def _relevel(samples: Mapping[str, Sequence[str]], fields: dict[str, FieldGuess]) -> None:
    """The code and name of the layer's own level; a coarser level's field is the parent."""
    own = _own_level(samples)
    if own is None:
        return
    for field, header in (("code", _CODE_HEADER), ("name", _NAME_HEADER)):
        for column, values in samples.items():
            key = header_key(column)
            if named_level(column) != own or not header.search(key):
                continue
            if field == "code" and not _is_codes(values):
                continue
            current = fields.get(field)
            agree = (
                f" + values ({current.evidence.partition('values (')[2]}"
                if (
                    current is not None
                    and current.column == column
                    and "values (" in current.evidence
                )
                else ""
            )
            evidence = f"{column}{agree}: the {plural(own)}' own {field}"
            _take(fields, field, column, evidence, True)
            break
    if "parent" in fields:
        return
    taken = {g.column for g in fields.values()}
    coarser = [
        c
        for c in samples
        if c not in taken and (level := named_level(c)) is not None and _rank(level) < _rank(own)
    ]
    # A parent's code before its name: the code is the key every department shares.
    coded = [c for c in coarser if _CODE_HEADER.search(header_key(c)) and _is_codes(samples[c])]
    named = [c for c in coarser if profile(samples[c]).share("division_name") >= 0.6]
    for column in coded + named:
        level = named_level(column)
        _take(fields, "parent", column, f"{column}: the {level} each {own} belongs to", False)
        return


def _short_code(samples: Mapping[str, Sequence[str]], fields: dict[str, FieldGuess]) -> bool:
    """Map a code field of last parts (居委代码: 001) when no whole codes were found."""
    code = fields.get("code")
    if code is not None and code.agrees is not False:
        return short_codes(samples[code.column])
    for column, values in samples.items():
        key = header_key(column)
        if _CODE_HEADER.search(key) and short_codes(values):
            shown = "、".join(profile(values).examples)
            evidence = f"{column} + values (last parts of codes: {shown})"
            _take(fields, "code", column, evidence, code is not None or bool(named_level(column)))
            return True
    return False


def _layer_level(
    samples: Mapping[str, Sequence[str]],
    fields: dict[str, FieldGuess],
    short: bool,
    names: Sequence[str],
) -> tuple[str | None, str]:
    """The layer's ``level:`` and why; see the module's description."""
    if "level" in fields:
        return None, f"each feature's {fields['level'].column}"
    code = fields.get("code")
    if code is not None and not short:
        lengths = {len(unpadded(v)) for v in samples[code.column] if v}
        if len(lengths) == 1:
            (length,) = lengths
            if length in LEVEL_BY_CODE_LENGTH:
                return LEVEL_BY_CODE_LENGTH[length], f"its codes have {length} digits"
        return None, "codes of several levels: each feature's level is its code's"
    for field in ("code", "name"):
        guess = fields.get(field)
        if guess is not None and (level := named_level(guess.column)):
            return level, f"{guess.column} names {plural(level)}"
    for name in names:
        if level := named_level(name):
            return level, f"the name {name!r} says {plural(level)}"
    parent = fields.get("parent")
    if parent is not None:
        above = _values_level(samples[parent.column])
        if above is not None and _rank(above) + 1 < len(LEVELS):
            below = LEVELS[_rank(above) + 1]
            return below, f"{parent.column} holds {plural(above)}, so these are {plural(below)}"
    return None, "nothing says which level the short codes are: give `level:`"


def division_fields(
    samples: Mapping[str, Sequence[str]],
    guesses: list[FieldGuess],
    unmapped: dict[str, str],
    names: Sequence[str],
) -> DivisionFields:
    """A division layer's fields, its level and whether its codes are last parts.

    Parameters
    ----------
    samples
        Each field's sampled values.
    guesses, unmapped
        The fields as the divisions vocabulary maps them.
    names
        The file's and its folders' names, the nearest first (居委.geojson says committees).

    Returns
    -------
    DivisionFields
        See the module's description.
    """
    fields = {g.field: g for g in guesses}
    short = _short_code(samples, fields)
    _relevel(samples, fields)
    level, why = _layer_level(samples, fields, short, names)
    order = ("code", "name", "level", "parent")
    mapped = [fields[f] for f in order if f in fields]
    used = {g.column for g in mapped}
    left = {c: w for c, w in unmapped.items() if c not in used}
    for guess in guesses:
        if guess.column not in used and guess.column not in left:
            left[guess.column] = "no canonical field"
    return DivisionFields(mapped, left, level, why, short)


def _keys(layer: LayerGuess) -> set[str]:
    """What identifies a layer's divisions: their whole codes, and their levels and names."""
    code, name = layer.column("code"), layer.column("name")
    codes = layer.head.samples.get(code or "", [])
    names = layer.head.samples.get(name or "", [""] * len(codes))
    keys = set()
    for c, n in zip(codes, names, strict=False):
        whole = unpadded(c) if c and not layer.short_codes else ""
        level = layer.level or LEVEL_BY_CODE_LENGTH.get(len(whole), "")
        keys |= {k for k in (whole, f"{level}:{n}" if n else "") if k}
    return keys


def choose_division_layers(
    layers: list[LayerGuess],
) -> tuple[list[LayerGuess], list[tuple[LayerGuess, LayerGuess]]]:
    """The division layers to use, coarsest first, and those that repeat one used.

    Returns
    -------
    chosen : list of LayerGuess
        Every layer giving divisions no other chosen layer gives.
    repeats : list of tuple
        Each layer left out, with the chosen layer whose divisions it repeats.
    """

    def rank(layer: LayerGuess) -> tuple[int, int, int]:
        lengths = {len(unpadded(c)) for c in layer.codes} if not layer.short_codes else set()
        finest = LENGTH_BY_LEVEL.get(layer.level or "", max(lengths, default=99))
        # The layer with most levels first (it says most), then the coarsest, the largest.
        return (-len(lengths), finest, -layer.head.count)

    chosen: list[LayerGuess] = []
    repeats: list[tuple[LayerGuess, LayerGuess]] = []
    for layer in sorted(layers, key=rank):
        keys = _keys(layer)
        same = next((c for c in chosen if keys and len(keys & _keys(c)) * 2 >= len(keys)), None)
        if same is not None:
            repeats.append((layer, same))
        else:
            chosen.append(layer)
    chosen.sort(key=lambda layer: rank(layer)[1])
    return chosen, repeats
