"""Map a table's columns to canonical fields, and guess what kind of source it is.

Each (column, field) pair is scored: 1 when the header is a known name of the field, 0.6
when it contains a known stem (现居住详细地址 ⊃ 居住地址), plus 0.3 when the sampled values
have the field's shape and minus 0.5 when they clearly do not; a column of an unknown
name whose values are unmistakable (valid ID numbers, credit codes, mobile numbers)
scores 0.5. The best pairs are taken first, each column and each field once. A header is
read as its last part (基本信息/姓名 → 姓名) and, when it has a group label, as the label's
stem joined to it (户籍信息/地址 → 户籍地址), so a generic name takes its group's meaning.

The kind (person, enterprise, room, signaling) is the one whose mapping scores highest
among those that have what the kind needs: a person has an ID number or a name whose
values look like names, an enterprise a credit code and a name, a room an address and a
room number, code or building, signaling a grid code and an hour.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from popbase.guess.values import ValueProfile, profile
from popbase.guess.vocabulary import Vocab, header_key, qualifiers_in
from popbase.io.headers import SEPARATOR

__all__ = ["ColumnMapping", "FieldGuess", "guess_mapping", "map_columns", "match_header"]

EXACT: Final = 1.0
STEM: Final = 0.6
VALUES_ONLY: Final = 0.5
AGREE: Final = 0.3
DISAGREE: Final = -0.5
# A share of the field's shape at or above this confirms a header; below a third of it
# contradicts it. Department data is dirty, so confirmation does not ask for all values.
MIN_SHARE: Final = 0.6
VALUES_ONLY_SHARE: Final = 0.9
# Below this a pair is not worth proposing.
MIN_SCORE: Final = 0.45

_GROUP_SUFFIX: Final = re.compile(r"(信息|情况|资料|数据|部分)$")


@dataclass(frozen=True)
class FieldGuess:
    """One canonical field guessed for one column, with the evidence.

    Attributes
    ----------
    field
        The canonical field (left side of ``columns:`` or ``fields:``).
    column
        The column as the file names it (right side).
    score
        How strong the evidence is.
    evidence
        The evidence in words, for the project file's comment.
    agrees
        Whether the values have the field's shape (``None``: nothing to check).
    """

    field: str
    column: str
    score: float
    evidence: str
    agrees: bool | None

    @property
    def sure(self) -> bool:
        """The header names the field and no value contradicts it: only to confirm."""
        return self.score >= EXACT and self.agrees is not False


def _keys(column: str) -> list[tuple[str, str]]:
    """The header forms to look up, each with its text as written.

    The last part, then the group's stem joined to it (户籍信息/地址 → 户籍地址).
    """
    parts = [p for p in column.split(SEPARATOR) if p] or [column]
    keys = [(header_key(parts[-1]), parts[-1])]
    if len(parts) > 1:
        joined = _GROUP_SUFFIX.sub("", parts[-2]) + parts[-1]
        keys.append((header_key(joined), joined))
    return keys


def match_header(
    column: str, vocab: Vocab, ignore: frozenset[str] = frozenset()
) -> tuple[float, str]:
    """How well a header names a field: ``(score, the name or stem it matched)``.

    Examples
    --------
    >>> from popbase.guess.vocabulary import SOURCE_VOCAB
    >>> match_header("基本信息/公民身份号码", SOURCE_VOCAB["person"]["id_number"])
    (1.0, '公民身份号码')
    >>> match_header("配偶身份证号", SOURCE_VOCAB["person"]["id_number"])
    (0.0, '')
    >>> match_header("户籍信息/地址", SOURCE_VOCAB["person"]["hukou_address"])
    (1.0, '户籍地址')
    """
    keys = _keys(column)
    whole = header_key(column)
    mentioned = qualifiers_in(whole) - ignore
    for key, written in keys:
        # An exact name of the field, unless a group label names someone else.
        if key in vocab.keys and qualifiers_in(key) >= mentioned:
            return EXACT, " ".join(written.split())
    for stem in vocab.stems:
        if any(stem in key for key, _ in keys) and qualifiers_in(stem) >= mentioned:
            return STEM, stem
    for key, written in keys:
        if key in vocab.weak_keys and not mentioned:
            return STEM, " ".join(written.split())
    return 0.0, ""


def _pair(
    column: str, field: str, vocab: Vocab, values: ValueProfile, ignore: frozenset[str]
) -> FieldGuess | None:
    score, named = match_header(column, vocab, ignore)
    shape = vocab.shape
    share = values.share(shape) if shape else 0.0
    checked = shape is not None and values.meaningful
    if score == 0.0:
        # Values alone place a column only when its name says nothing (col_3, zjhm_1): a
        # spouse's or mother's IDs are valid IDs too.
        anonymous = not qualifiers_in(header_key(column)) - ignore
        if anonymous and vocab.by_values and checked and share >= VALUES_ONLY_SHARE and shape:
            return FieldGuess(
                field, column, VALUES_ONLY, f"its values ({values.describe(shape)})", True
            )
        return None
    if checked and shape and share >= MIN_SHARE:
        return FieldGuess(
            field, column, score + AGREE, f"{named} + values ({values.describe(shape)})", True
        )
    if checked and shape and share < MIN_SHARE / 3:
        return FieldGuess(
            field,
            column,
            score + DISAGREE,
            f"{named}, but only {values.describe(shape)}",
            False,
        )
    return FieldGuess(field, column, score, named, None)


def map_columns(
    samples: Mapping[str, Sequence[str]],
    vocab: Mapping[str, Vocab],
    ignore: frozenset[str] = frozenset(),
) -> tuple[list[FieldGuess], dict[str, str]]:
    """Map columns to the fields of one vocabulary, each column and field at most once.

    Parameters
    ----------
    samples
        Each column's sampled values, by header name.
    vocab
        The vocabulary of one source kind or layer.
    ignore
        Qualifiers that do not make a column someone else's (户主 in a table of households).

    Returns
    -------
    guesses : list of FieldGuess
        In the vocabulary's field order.
    unmapped : dict of str to str
        Columns left over, each with why.
    """
    profiles = {c: profile(v) for c, v in samples.items()}
    pairs = [
        guess
        for column in samples
        for field, entry in vocab.items()
        if (guess := _pair(column, field, entry, profiles[column], ignore)) is not None
        and guess.score >= MIN_SCORE
    ]
    order = {c: i for i, c in enumerate(samples)}
    pairs.sort(key=lambda g: (-g.score, order[g.column]))
    taken: dict[str, FieldGuess] = {}
    used: set[str] = set()
    for guess in pairs:
        if guess.field not in taken and guess.column not in used:
            taken[guess.field] = guess
            used.add(guess.column)
    guesses = [taken[f] for f in vocab if f in taken]
    unmapped = {c: _why_unmapped(c, profiles[c]) for c in samples if c not in used}
    return guesses, unmapped


def _why_unmapped(column: str, values: ValueProfile) -> str:
    if not values.count:
        return "empty"
    someone = qualifiers_in(header_key(column))
    if someone:
        return f"about another person ({'、'.join(sorted(someone))})"
    return "no canonical field"


@dataclass(frozen=True)
class ColumnMapping:
    """The best mapping of a table for one source kind."""

    kind: str
    fields: list[FieldGuess]
    unmapped: dict[str, str]
    score: float

    def get(self, field: str) -> FieldGuess | None:
        """The guess for ``field``, if any."""
        return next((g for g in self.fields if g.field == field), None)


# What each kind cannot do without, and the fields that say most about it.
_NEEDS: Final[dict[str, tuple[tuple[str, ...], ...]]] = {
    "person": (("id_number", "name"),),
    "enterprise": (("credit_code",), ("name",)),
    "room": (("address",), ("room_no", "room_code", "building_address")),
    "signaling": (("grid_code",), ("hour",)),
}
_SIGNATURE: Final = {
    "id_number": 1.0,
    "credit_code": 1.0,
    "room_no": 1.0,
    "room_code": 1.0,
    "building_address": 1.0,
    "grid_code": 1.0,
    "hour": 1.0,
    "legal_person": 0.5,
}


def _has_needs(kind: str, mapping: ColumnMapping) -> bool:
    for alternatives in _NEEDS[kind]:
        # Values must not contradict: a "name" column of 江川路幼儿园 is a facility's.
        if not any(
            (g := mapping.get(f)) is not None and g.agrees is not False for f in alternatives
        ):
            return False
    return True


def _household_rows(
    samples: Mapping[str, Sequence[str]], vocab: Mapping[str, Vocab], mapping: ColumnMapping
) -> ColumnMapping:
    """A table of households (户号, 户主姓名, 户主身份证号, no relation): the head is the row.

    A household-level export names its one person 户主; where a table has no name or ID
    of its own and no relation to the head, its rows are the heads themselves.
    """
    if mapping.get("id_number") or mapping.get("name") or mapping.get("relation"):
        return mapping
    fields, unmapped = map_columns(samples, vocab, ignore=frozenset({"户主"}))
    heads = [
        FieldGuess(
            g.field, g.column, g.score, f"{g.evidence} (rows are households: the head)", g.agrees
        )
        if "户主" in header_key(g.column)
        else g
        for g in fields
    ]
    return ColumnMapping(mapping.kind, heads, unmapped, mapping.score)


def guess_mapping(
    samples: Mapping[str, Sequence[str]], vocabs: Mapping[str, Mapping[str, Vocab]]
) -> ColumnMapping | None:
    """Guess a table's source kind and its column mapping.

    Parameters
    ----------
    samples
        Each column's sampled values, by header name.
    vocabs
        The vocabulary of each kind (:data:`popbase.guess.vocabulary.SOURCE_VOCAB`).

    Returns
    -------
    ColumnMapping or None
        The best kind's mapping, or ``None`` when no kind has what it needs.
    """
    best: ColumnMapping | None = None
    for kind, vocab in vocabs.items():
        fields, unmapped = map_columns(samples, vocab)
        mapping = ColumnMapping(kind, fields, unmapped, 0.0)
        if kind == "person":
            mapping = _household_rows(samples, vocab, mapping)
        score = sum(g.score + _SIGNATURE.get(g.field, 0.0) for g in mapping.fields)
        mapping = ColumnMapping(kind, mapping.fields, mapping.unmapped, score)
        if _has_needs(kind, mapping) and (best is None or score > best.score):
            best = mapping
    return best
