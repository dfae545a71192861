"""Divisions from one layer or several: codes completed, parents found, every feature counted.

Departments deliver divisions in pieces: the planning bureau's streets/towns (街镇) as a
Shapefile in a Gauss–Krüger CRS, the civil-affairs bureau's committees (居委) as GeoJSON in
GCJ-02, each with its own field names. ``space.divisions`` takes one layer or a list of
them; each is read by :mod:`popbase.space.layers` (its own ``fields``, ``crs``, ``layer``),
then the features of all of them make one division tree:

**Level.** A ``level`` field where mapped (English or Chinese words: 街镇, 居委 …), else the
layer's ``level:``, else the length of the code (6 district, 9 street, 12 committee).

**Codes.** A code is read as written. The NBS tables pad every code to 12 digits
(310112001000 for a street, 310112000000 for a district): such zeros are dropped down to
the code's level, since no street or committee number is 000. A code shorter than its
level's is the last part of it (a committee's 001 within its street): it is completed
with the parent's code, and padded with zeros on the left to its place, as a spreadsheet
drops them (1 → 001). The parent is the ``parent`` field — a code, or a name (所属街道:
江川路街道) looked up among the layers' divisions one level up, then in the bundled NBS
tables, within the project's ``region_code`` — or, with no ``parent``, the project's own
area when the level above is the area's (street numbers in a district's project).

**Parents** follow from the codes' prefixes (310112001001 ⊂ 310112001), as the roll-ups
count. A ``parent`` field that names another division than a full code's prefix does not
move the feature: the statistical code is the key every department shares, while a parent
field goes stale when streets merge or are renamed. The feature is loaded under its code's
parent and the disagreement is listed (``division_parent_conflict``) for the data team.

What cannot be resolved is set aside with a reason, listed with the layer's geometry
problems, never guessed:

============================== ================================================================
reason                          what it means
============================== ================================================================
``key_missing``                 the feature has no code
``division_code_invalid``       a code longer than its level's (not zero-padded), or a last part
                                longer than its place
``division_parent_unknown``     a short code whose parent cannot be found: no ``parent``, or a
                                name no division one level up has
``duplicate_key``               a code already loaded (from this layer or an earlier one)
============================== ================================================================

A feature loaded with a note keeps it in the same list, as repaired geometries do:
``division_parent_conflict`` (the ``parent`` field names another division than the code's
prefix; the code wins).

Every feature read ends loaded (perhaps repaired) or set aside, per layer file (see
:meth:`DivisionLayers.counts`). Units the layers lack between the project's area and the
divisions given are then made by :mod:`popbase.space.dissolve`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Final, NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd

from popbase.config import Project
from popbase.space.crs import GEOGRAPHIC
from popbase.space.dissolve import dissolve_missing
from popbase.space.divisions import (
    LENGTH_BY_LEVEL,
    LEVEL_BY_CODE_LENGTH,
    bundled_division_names,
    level_of_word,
    parent_code,
    resolve_division_name,
)
from popbase.space.layers import QUARANTINE_COLUMNS, Layer, read_layer

__all__ = ["DivisionLayers", "ResolvedCodes", "division_units", "resolve_codes", "unpadded"]

REPAIRED: Final = "geometry_repaired"
TREE_COLUMNS: Final = ["code", "name", "level", "parent_code"]


def unpadded(code: str) -> str:
    """A code without the zeros the NBS tables pad it with to 12 (or GB/T 2260 to 6) digits.

    Examples
    --------
    >>> unpadded("310112001000"), unpadded("310112000000"), unpadded("310112001001")
    ('310112001', '310112', '310112001001')
    >>> unpadded("310100"), unpadded("310000"), unpadded("310112")
    ('3101', '31', '310112')
    """
    while len(code) in (9, 12) and code.endswith("000"):
        code = code[:-3]
    while len(code) in (4, 6) and code.endswith("00"):
        code = code[:-2]
    return code


def _level_above(length: int) -> int | None:
    shorter = [n for n in LEVEL_BY_CODE_LENGTH if n < length]
    return max(shorter) if shorter else None


@dataclass
class _Feature:
    """One division feature on its way to the tree."""

    row: int
    raw: str
    name: str
    level: str | None  # a level word understood, or the raw value of the level field
    parent: str | None  # the parent field: a code or a name
    code: str | None = None
    parent_code: str | None = None
    aside: tuple[str, str] | None = None
    note: tuple[str, str] | None = None  # loaded, with something the data team should see

    @property
    def parent_is_code(self) -> bool:
        return self.parent is not None and self.parent.isdigit()


@dataclass
class _Resolver:
    """Codes completed and parent names looked up, level by level from the top."""

    region: str
    features: list[_Feature]
    bundled: pd.DataFrame
    parent_names: dict[str, Counter[str]] = field(default_factory=dict)
    # Divisions of one code length, from the layers (0) or the bundled tables (1): parent
    # names are looked up among them, the layers' first.
    _levels: dict[tuple[int, int], pd.DataFrame] = field(default_factory=dict)

    def classify(self, f: _Feature) -> None:
        """Full codes get their code and parent; short ones wait for :meth:`complete`."""
        digits = f.raw.isdigit()
        length = LENGTH_BY_LEVEL.get(f.level or "")
        if not digits:  # not a statistical code: kept as written, parent as given
            f.code, f.parent_code = f.raw, f.parent
            return
        if length is None:
            f.code = unpadded(f.raw)
            f.level = f.level or LEVEL_BY_CODE_LENGTH.get(len(f.code))
        elif len(f.raw) >= length:
            if set(f.raw[length:]) - {"0"}:
                f.aside = (
                    "division_code_invalid",
                    f"the code has {len(f.raw)} digits, a {f.level}'s has {length}; "
                    "check the layer's `level:` (or level field) and the code",
                )
                return
            f.code = f.raw[:length]
        else:
            return  # the last part of a code: completed once parents are known
        f.parent_code = parent_code(f.code)
        if f.parent_is_code and unpadded(str(f.parent)) != f.parent_code:
            f.note = self._conflict(f, unpadded(str(f.parent)))

    def _conflict(self, f: _Feature, given: str) -> tuple[str, str]:
        return (
            "division_parent_conflict",
            f"its code {f.code} lies in {f.parent_code}, but its parent {f.parent!r} is "
            f"{given}; it is counted under {f.parent_code}: correct the parent field, or the "
            "code if the feature belongs elsewhere",
        )

    def _lookup(self, name: str, length: int) -> str | None:
        """The code of the division called ``name`` with a code of ``length`` digits."""
        for source in (0, 1):
            if (source, length) not in self._levels:
                table = self.loaded() if source == 0 else self.bundled
                self._levels[source, length] = table[table["code"].str.len() == length]
            code = resolve_division_name(name, self._levels[source, length], within=self.region)
            if code is not None:
                return code
        return None

    def complete(self, f: _Feature) -> None:
        """Complete a short code with its parent's code, or set it aside with the reason."""
        length = LENGTH_BY_LEVEL[str(f.level)]
        above = _level_above(length)
        what = f"{f.level}'s code ({length} digits)"
        parent: str | None
        if f.parent is None:
            parent = self.region if above == len(self.region) else None
            if parent is None:
                f.aside = (
                    "division_parent_unknown",
                    f"its code {f.raw!r} is shorter than a {what} and no parent is given; "
                    "map `parent` to the field with the parent's code or name, or give "
                    "full codes",
                )
                return
        elif f.parent_is_code:
            parent = unpadded(f.parent)
        else:
            parent = self._lookup(f.parent, above or 0)
            if parent is None:
                f.aside = (
                    "division_parent_unknown",
                    f"its parent {f.parent!r} names no division one level up within "
                    f"{self.region}, in the layers or the bundled NBS tables; write the "
                    "parent's name as its own layer does, or its code",
                )
                return
        place = length - len(parent)
        if len(parent) != above or len(f.raw) > place:
            f.aside = (
                "division_code_invalid",
                f"its code {f.raw!r} with its parent {parent} does not make a {what}; "
                "give full codes, or the last part of each under its parent's code",
            )
            return
        f.code = parent + f.raw.zfill(place)
        f.parent_code = parent

    def check_parent_name(self, f: _Feature) -> None:
        """A parent named for a full code must be the division its prefix says."""
        if f.code is None or f.parent is None or f.parent_is_code or not f.raw.isdigit():
            return
        self.parent_names.setdefault(str(f.parent_code), Counter())[f.parent] += 1
        named = self._lookup(f.parent, len(f.parent_code or ""))
        if named is not None and named != f.parent_code:
            f.note = self._conflict(f, named)

    def run(self) -> None:
        """Classify, complete short codes top-down, check named parents."""
        for f in self.features:
            self.classify(f)
        pending = [f for f in self.features if f.code is None and f.aside is None]
        for length in sorted({LENGTH_BY_LEVEL[str(f.level)] for f in pending}):
            self._levels.clear()  # the codes completed so far are parents of these
            for f in pending:
                if LENGTH_BY_LEVEL[str(f.level)] == length:
                    self.complete(f)
        self._levels.clear()
        for f in self.features:
            if f.aside is None:
                self.check_parent_name(f)

    def loaded(self) -> pd.DataFrame:
        """``code, name`` of the features with a code so far."""
        codes = [(f.code, f.name) for f in self.features if f.code and f.aside is None]
        return pd.DataFrame(codes, columns=["code", "name"], dtype=object)


class ResolvedCodes(NamedTuple):
    """What :func:`resolve_codes` makes of division features."""

    tree: pd.DataFrame
    """``code, name, level, parent_code`` of the loaded features, indexed like the input."""
    aside: pd.DataFrame
    """``position, reason, detail`` of the features set aside, and of those loaded with a
    note (reasons in :data:`~popbase.space.layers.LOADED_REASONS`)."""
    parent_names: dict[str, str]
    """The name the features give their parent most often, by the parent's code."""


def resolve_codes(
    features: pd.DataFrame, region: str, bundled: pd.DataFrame | None = None
) -> ResolvedCodes:
    """Codes, levels and parents of division features from one or several layers.

    Parameters
    ----------
    features
        ``code, name`` and optionally ``level`` (a level word or None) and ``parent`` (a
        code or a name), one row per feature, in the order of the layers.
    region
        The project's ``region_code``.
    bundled
        ``code, name`` of known divisions for parent names (the bundled NBS tables).

    Returns
    -------
    ResolvedCodes
        The tree of the loaded features, the features set aside, the parents' names.

    Examples
    --------
    >>> committees = pd.DataFrame({"code": ["001", "2"], "name": ["北街居委会", "河东居委会"],
    ...                            "level": "居委", "parent": "江川路街道"})
    >>> tree, aside, parent_names = resolve_codes(committees, "310112")
    >>> tree["code"].tolist(), tree["parent_code"].tolist(), len(aside)
    (['310112001001', '310112001002'], ['310112001', '310112001'], 0)
    >>> parent_names
    {'310112001': '江川路街道'}
    """
    levels = features["level"] if "level" in features else pd.Series(None, index=features.index)
    parents = features["parent"] if "parent" in features else pd.Series(None, index=features.index)
    rows = []
    for i, (code, name, level, parent) in enumerate(
        zip(features["code"], features["name"], levels, parents, strict=True)
    ):
        word = str(level).strip() if isinstance(level, str) and level.strip() else None
        rows.append(
            _Feature(
                i,
                str(code).strip() if isinstance(code, str) else "",
                str(name) if isinstance(name, str) else "",
                (level_of_word(word) or word) if word else None,
                str(parent).strip() if isinstance(parent, str) and parent.strip() else None,
            )
        )
    for f in rows:
        if not f.raw:
            f.aside = ("key_missing", "the feature has no code; fill it in")
    resolver = _Resolver(region, rows, bundled_division_names() if bundled is None else bundled)
    resolver.run()
    seen: dict[str, int] = {}
    for f in rows:
        if f.aside is None and f.code is not None:
            if f.code in seen:
                f.aside = (
                    "duplicate_key",
                    f"another feature has the code {f.code}; the first one is loaded",
                )
            seen.setdefault(f.code, f.row)
    kept = [f for f in rows if f.aside is None]
    tree = pd.DataFrame(
        {
            "code": [f.code for f in kept],
            "name": [f.name or f.code for f in kept],
            "level": [f.level or "unknown" for f in kept],
            "parent_code": [f.parent_code for f in kept],
        },
        index=features.index[[f.row for f in kept]],
        dtype=object,
    )
    aside = pd.DataFrame(
        [(f.row, *f.aside) for f in rows if f.aside is not None]
        + [(f.row, *f.note) for f in kept if f.note is not None],
        columns=["position", "reason", "detail"],
    )
    named = {code: names.most_common(1)[0][0] for code, names in resolver.parent_names.items()}
    return ResolvedCodes(tree, aside, named)


@dataclass(frozen=True)
class DivisionLayers:
    """The division layers as read and the one tree they make.

    Attributes
    ----------
    layers
        Each divisions file as read (``divisions``, or ``divisions.0``, ``divisions.1`` …
        for a list), its quarantine holding the features set aside for their codes too.
    units
        ``code, name, level, parent_code, geometry`` (EPSG:4490): the loaded features,
        then the units dissolved from their children.
    dissolved
        ``code, name, level, children, name_from`` of the dissolved units.
    """

    layers: tuple[Layer, ...]
    units: gpd.GeoDataFrame
    dissolved: pd.DataFrame

    def counts(self) -> dict[str, dict[str, int]]:
        """Per layer file: features ``read``, ``loaded``, ``set_aside`` and ``repaired``."""
        out = {}
        for layer in self.layers:
            out[layer.name] = {
                "read": layer.read,
                "loaded": layer.read - layer.set_aside,
                "set_aside": layer.set_aside,
                "repaired": layer.repaired,
            }
        return out

    @property
    def quarantine(self) -> pd.DataFrame:
        """``layer, feature, reason, detail`` of every layer."""
        return pd.concat([layer.quarantine for layer in self.layers], ignore_index=True)


def _layer_features(layer: Layer, level: str | None) -> pd.DataFrame:
    f = pd.DataFrame(layer.features.drop(columns="geometry"))
    if level is not None:
        given = f["level"] if "level" in f else pd.Series(None, index=f.index, dtype=object)
        f["level"] = given.where(given.notna(), level)
    return f


def division_units(project: Project) -> DivisionLayers:
    """Read every divisions layer of ``project`` into one tree, with the units it lacks.

    Parameters
    ----------
    project
        The project; its ``space.divisions`` layers are read in order.

    Returns
    -------
    DivisionLayers
        The layers with their accounting, and the units.

    Raises
    ------
    SourceFileError
        A layer cannot be read.
    """
    configs = project.config.space.divisions
    names = ["divisions"] if len(configs) == 1 else [f"divisions.{i}" for i in range(len(configs))]
    layers = [read_layer(project, name, c) for name, c in zip(names, configs, strict=True)]
    frames = [_layer_features(layer, c.level) for layer, c in zip(layers, configs, strict=True)]
    owner = np.repeat(np.arange(len(layers)), [len(f) for f in frames])
    features = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    region = project.config.project.region_code
    tree, aside, parent_names = resolve_codes(features, region)
    positions = aside["position"].to_numpy(dtype=int)
    labels = features["feature"].to_numpy(dtype=object)[positions]
    # A code set aside for what it says is shown with its name: 001 alone says little.
    names = features["name"].to_numpy(dtype=object)[positions]
    named = (aside["reason"] != "key_missing").to_numpy() & pd.notna(names)
    labels[named] = [f"{c} {n}" for c, n in zip(labels[named], names[named], strict=True)]
    for i, layer in enumerate(layers):
        mine = owner[positions] == i
        more = pd.DataFrame(
            {
                "layer": layer.name,
                "feature": labels[mine],
                "reason": aside["reason"].to_numpy()[mine],
                "detail": aside["detail"].to_numpy()[mine],
            },
            columns=QUARANTINE_COLUMNS,
        )
        quarantine = pd.concat([layer.quarantine, more], ignore_index=True)
        layers[i] = replace(layer, quarantine=quarantine)
    geometry = pd.concat([layer.features.geometry for layer in layers], ignore_index=True)
    units = gpd.GeoDataFrame(
        tree[TREE_COLUMNS].reset_index(drop=True),
        geometry=geometry.loc[tree.index].to_numpy(),
        crs=GEOGRAPHIC,
    )
    units, dissolved = dissolve_missing(units, region, project.config.project.name, parent_names)
    return DivisionLayers(tuple(layers), units, dissolved)
