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

See :mod:`popbase.guess.layers` for how the CRS is read or guessed.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Final

import pyproj

from popbase.guess.columns import EXACT, FieldGuess, map_columns
from popbase.guess.layers import LayerHead
from popbase.guess.values import profile
from popbase.guess.vocabulary import LAYER_VOCAB
from popbase.space.divisions import LEVEL_BY_CODE_LENGTH

__all__ = ["LayerGuess", "offset_hint", "place_layer"]

ROLES_BY_GEOMETRY: Final = {
    "polygon": ("divisions", "grids", "buildings", "facilities"),
    "point": ("buildings", "facilities"),
    "line": ("roads",),
    "mixed": ("divisions", "grids", "buildings", "facilities"),
}
CODE_SHARE: Final = 0.9
_OFFSET_HINTS: Final = (
    ("GCJ-02", re.compile(r"高德|腾讯|火星|gcj|amap|autonavi|tencent", re.IGNORECASE)),
    # "BD" alone only as a word of its own (BD坐标, points_bd), not inside one (bdry).
    ("BD-09", re.compile(r"百度|baidu|bd[-_]?09|(?<![a-z])bd(?![a-z])", re.IGNORECASE)),
)


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
        The ``crs:`` to write (``None``: the file's own is right, or none could be guessed).
    crs_evidence
        Why, in words.
    crs_asked
        Whether the user must name the CRS (projected coordinates the file does not place).
    what
        What the layer holds, in words ("611 polygons: 1 district, 14 streets …").
    score
        The evidence for the role.
    """

    role: str
    head: LayerHead
    fields: list[FieldGuess]
    unmapped: dict[str, str]
    crs: str | None
    crs_evidence: str
    crs_asked: bool
    what: str
    score: float
    codes: list[str] = field(default_factory=list)

    def column(self, name: str) -> str | None:
        """The field mapped to canonical ``name``, if any."""
        return next((g.column for g in self.fields if g.field == name), None)


def offset_hint(text: str) -> tuple[str, str] | None:
    """``("GCJ-02", "高德")`` when a name says its coordinates come from an internet map.

    Examples
    --------
    >>> offset_hint("basemap/高德_楼栋.geojson"), offset_hint("bd09_points.csv")
    (('GCJ-02', '高德'), ('BD-09', 'bd09'))
    >>> offset_hint("BD坐标/楼栋.csv"), offset_hint("city_bdry.gpkg") is None
    (('BD-09', 'BD'), True)
    """
    for crs, pattern in _OFFSET_HINTS:
        found = pattern.search(text)
        if found:
            return crs, found.group(0)
    return None


def _in_degrees(bounds: tuple[float, float, float, float] | None) -> bool:
    if bounds is None:
        return False
    xmin, ymin, xmax, ymax = bounds
    return -180 <= xmin <= xmax <= 180 and -90 <= ymin <= ymax <= 90


def layer_crs(head: LayerHead, hint: str) -> tuple[str | None, str, bool]:
    """``(crs to write, evidence, asked)`` for a layer; see the module docstring."""
    offset = offset_hint(hint)
    degrees = _in_degrees(head.bounds)
    if offset is not None and (degrees or head.bounds is None):
        return offset[0], f"the name says {offset[1]}", False
    if head.crs:
        try:
            crs = pyproj.CRS.from_user_input(head.crs)
        except pyproj.exceptions.CRSError:
            return None, f"the file's CRS {head.crs!r} is unknown to PROJ", True
        if crs.is_geographic and not degrees and head.bounds is not None:
            return None, f"the file says {head.crs}, but its coordinates are not degrees", True
        return None, f"the file's own: {head.crs} ({crs.name})", False
    if degrees:
        return "EPSG:4326", "coordinates in degrees; the file names no CRS", False
    return None, "projected coordinates; the file names no CRS", True


def _code_share(head: LayerHead, guess: FieldGuess | None, shape: str) -> float:
    # Measured on however few features there are: one district, three streets.
    return 0.0 if guess is None else profile(head.samples[guess.column]).share(shape)


def _needs(role: str, head: LayerHead, fields: dict[str, FieldGuess]) -> bool:
    def good(name: str) -> bool:
        return name in fields and fields[name].agrees is not False

    code = fields.get("code")
    if role == "divisions":
        # Codes decide; names vary too much (江川路 for 江川路街道) to contradict them.
        return _code_share(head, code, "division_code") >= CODE_SHARE and "name" in fields
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


def _division_levels(codes: list[str]) -> str:
    lengths = Counter(len(c) for c in codes if c.isdigit())
    parts = []
    for length, count in sorted(lengths.items()):
        level = LEVEL_BY_CODE_LENGTH.get(length, f"{length}-digit")
        parts.append(f"{count:,} {level}{'' if count == 1 else 's'}")
    return ", ".join(parts).replace("communitys", "communities")


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
        fields = {g.field: g for g in guesses}
        if not _needs(role, head, fields):
            continue
        score = sum(g.score for g in guesses) + (1.0 if "code" in fields else 0.0)
        if best is not None and score <= best.score:
            continue
        geometry = [
            FieldGuess(k, v, EXACT, "the geometry", True) for k, v in head.geometry_fields.items()
        ]
        crs, evidence, asked = layer_crs(head, hint)
        codes = head.samples.get(fields["code"].column, []) if "code" in fields else []
        what = (
            f"{head.count:,} {head.geometry}s"
            if head.geometry != "mixed"
            else f"{head.count:,} features"
        )
        if role == "divisions":
            what += f": {_division_levels(codes)}"
        best = LayerGuess(
            role, head, guesses + geometry, unmapped, crs, evidence, asked, what, score,
            [c for c in codes if c],
        )  # fmt: skip
    return best
