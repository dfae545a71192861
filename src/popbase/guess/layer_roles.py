"""Place a map layer in the basemap: divisions, grids, buildings, facilities or roads.

Each role a layer's geometry allows is tried with that role's vocabulary
(:data:`popbase.guess.vocabulary.LAYER_VOCAB`); a role counts only when the layer has
what it needs, and the best-scoring one wins:

- **divisions**: polygons with a code field of statistical division codes (2, 4, 6, 9 or
  12 digits) and a name;
- **grids**: polygons with codes longer than a committee's (micro-grids extend it);
- **buildings**: polygons or points with an id, or with two of address, floors and use;
- **facilities**: points (or any geometry) with a name and a type;
- **roads**: lines.

See :mod:`popbase.guess.crs` for how the CRS is read or guessed, and
:mod:`popbase.guess.division_layers` for a division layer's level and parent.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Final

from popbase.guess.columns import EXACT, FieldGuess, map_columns
from popbase.guess.crs import CrsGuess, layer_crs
from popbase.guess.division_layers import division_fields, plural
from popbase.guess.layers import LayerHead
from popbase.guess.values import profile
from popbase.guess.vocabulary import LAYER_VOCAB
from popbase.space.division_layers import unpadded
from popbase.space.divisions import LEVEL_BY_CODE_LENGTH

__all__ = ["LayerGuess", "place_layer"]

ROLES_BY_GEOMETRY: Final = {
    "polygon": ("divisions", "grids", "buildings", "facilities"),
    "point": ("buildings", "facilities"),
    "line": ("roads",),
    "mixed": ("divisions", "grids", "buildings", "facilities"),
}
CODE_SHARE: Final = 0.9


@dataclass
class LayerGuess:
    """A layer placed in the basemap, with its fields and CRS.

    Attributes
    ----------
    role
        ``divisions``, ``grids``, ``buildings``, ``facilities`` or ``roads``.
    head
        What the file holds.
    fields
        The fields mapped (geometry columns of a table included, as ``wkt``/``lon``/``lat``).
    unmapped
        Fields left over, with why.
    crs
        The ``crs:`` to write and why (:mod:`popbase.guess.crs`).
    what
        What the layer holds, in words ("611 polygons: 1 district, 14 streets …").
    score
        The evidence for the role.
    codes
        The division codes sampled (whole ones, unless ``short_codes``).
    level, level_evidence
        A division layer's ``level:`` (``None`` when its codes or a field say it feature
        by feature), and why.
    short_codes
        Whether a division layer's codes are last parts (001 within the parent).
    """

    role: str
    head: LayerHead
    fields: list[FieldGuess]
    unmapped: dict[str, str]
    crs: CrsGuess
    what: str
    score: float
    codes: list[str] = field(default_factory=list)
    level: str | None = None
    level_evidence: str = ""
    short_codes: bool = False

    def column(self, name: str) -> str | None:
        """The field mapped to canonical ``name``, if any."""
        return next((g.column for g in self.fields if g.field == name), None)


def _code_share(head: LayerHead, guess: FieldGuess | None, shape: str) -> float:
    # Measured on however few features there are: one district, three streets.
    return 0.0 if guess is None else profile(head.samples[guess.column]).share(shape)


def _needs(role: str, head: LayerHead, fields: dict[str, FieldGuess]) -> bool:
    def good(name: str) -> bool:
        return name in fields and fields[name].agrees is not False

    code = fields.get("code")
    if role == "divisions":
        # Codes decide; names vary too much (江川路 for 江川路街道) to contradict them. Last
        # parts of codes (001) say nothing without the parent they complete.
        if "name" not in fields:
            return False
        whole = _code_share(head, code, "division_code") >= CODE_SHARE
        return whole or (_code_share(head, code, "code_part") >= CODE_SHARE and "parent" in fields)
    if role == "grids":
        # Grid codes extend a committee's; a city's own scheme (JC01-02) is named 网格.
        named = code is not None and re.search("网格|grid", code.column, re.IGNORECASE)
        return _code_share(head, code, "grid_code") >= CODE_SHARE or bool(named)
    if role == "buildings":
        named_id = good("id") and fields["id"].score >= EXACT
        return named_id or sum(good(f) for f in ("address", "floors", "use")) >= 2
    if role == "facilities":
        return good("name") and good("type")
    return role == "roads" and head.geometry == "line"


def _plural(count: int, level: str) -> str:
    return f"{count:,} {level if count == 1 else plural(level)}"


def _division_levels(codes: list[str], level: str | None, short: bool) -> str:
    if short:
        shown = "、".join(dict.fromkeys(codes[:3]))
        return f"{_plural(len(codes), level or 'division')} coded by their last parts ({shown} …)"
    lengths = Counter(len(unpadded(c)) for c in codes if c.isdigit())
    return ", ".join(
        _plural(count, LEVEL_BY_CODE_LENGTH.get(length, f"{length}-digit"))
        for length, count in sorted(lengths.items())
    )


def place_layer(head: LayerHead, hint: str) -> LayerGuess | None:
    """Place a layer in the basemap, or ``None`` when no role fits.

    Parameters
    ----------
    head
        What the file (or table) holds.
    hint
        Names that may say the coordinates' origin: the file's path within the delivery
        and its geometry columns.

    Returns
    -------
    LayerGuess or None
        The best role with its fields and CRS.
    """
    best: LayerGuess | None = None
    for role in ROLES_BY_GEOMETRY.get(head.geometry, ()):
        vocab = LAYER_VOCAB[role]
        guesses, unmapped = map_columns(head.samples, vocab)
        division = None
        if role == "divisions":
            division = division_fields(head.samples, guesses, unmapped, _names(hint))
            guesses, unmapped = division.fields, division.unmapped
        fields = {g.field: g for g in guesses}
        if not _needs(role, head, fields):
            continue
        score = sum(g.score for g in guesses) + (1.0 if "code" in fields else 0.0)
        if best is not None and score <= best.score:
            continue
        geometry = [
            FieldGuess(k, v, EXACT, "the geometry", True) for k, v in head.geometry_fields.items()
        ]
        crs = layer_crs(head, hint)
        codes = head.samples.get(fields["code"].column, []) if "code" in fields else []
        what = (
            f"{head.count:,} {head.geometry}s"
            if head.geometry != "mixed"
            else f"{head.count:,} features"
        )
        codes = [c for c in codes if c]
        if division is not None:
            what += f": {_division_levels(codes, division.level, division.short)}"
        best = LayerGuess(role, head, guesses + geometry, unmapped, crs, what, score, codes)
        if division is not None:
            best.level, best.level_evidence = division.level, division.level_evidence
            best.short_codes = division.short
    return best


def _names(hint: str) -> list[str]:
    """The file's name and its folders' within the delivery, the nearest first."""
    path = PurePath(hint)
    return [path.stem, *(p.name for p in path.parents if p.name)]
