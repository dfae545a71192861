"""Guess a whole project from the folders a city's departments delivered.

Every file under the folders is read once: tables (CSV/TSV/XLSX/Parquet) become sources
when their columns say what kind of source they are (:mod:`popbase.guess.columns`,
:mod:`popbase.guess.sources`), or basemap layers when their rows carry geometry; map files
(GeoJSON, GeoPackage, Shapefile, GeoParquet) become layers
(:mod:`popbase.guess.layer_roles`). Every division layer is used, unless it repeats one
(:mod:`popbase.guess.division_layers`); of several layers for another role, the best is
used and the others listed. Coordinates whose CRS is in doubt are read against the
polygons whose CRS is believed (:mod:`popbase.guess.crs`). What fits nowhere is listed
with why. The area and its date come from what was read (:mod:`popbase.guess.area`).
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from popbase.errors import PopbaseError
from popbase.guess.area import area_as_of, area_code, area_name
from popbase.guess.columns import ColumnMapping, guess_mapping
from popbase.guess.crs import CrsGuess, aligned_crs, layer_crs, reference
from popbase.guess.division_layers import choose_division_layers
from popbase.guess.layer_roles import LayerGuess, place_layer
from popbase.guess.layers import LayerHead, layer_from_table, read_layer_heads
from popbase.guess.layout import TableHead, read_heads
from popbase.guess.sources import Setting, SourceGuess, relative, sources_from_tables
from popbase.guess.values import profile
from popbase.guess.vocabulary import SOURCE_VOCAB

__all__ = [
    "NothingToGuessError",
    "ProjectGuess",
    "Unplaced",
    "guess_project",
]

TABLE_SUFFIXES: Final = (".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".xls", ".parquet")
MAP_SUFFIXES: Final = (".geojson", ".json", ".gpkg", ".shp", ".zip", ".fgb", ".kml", ".gml")
# Parts of a Shapefile other than .shp, read with it.
_SIDECARS: Final = (".shx", ".dbf", ".prj", ".cpg", ".qpj", ".sbn", ".sbx", ".qix", ".qmd")
# What popbase itself writes at the top of a project folder: builds, their working files,
# the audit trail, API users, quality reports, and a sample's ground truth. `popbase init
# CITY` on a project folder reads the delivery beside them, not them.
OWN_OUTPUTS: Final = {
    "popbase.yaml": "the project file",
    "snapshots": "the builds",
    "current": "the build served",
    "work": "a build's working files",
    "quality": "the quality reports",
    "audit": "the API's audit trail",
    "users.json": "the API's users",
    "truth": "the sample's ground truth",
}


@dataclass(frozen=True)
class Unplaced:
    """A file (or part of one) that became neither a source nor a layer, and why."""

    path: Path
    why: str


@dataclass
class ProjectGuess:
    """Everything guessed about a project, with the evidence for each guess."""

    folders: list[Path]
    name: tuple[str, str]
    region_code: tuple[str, str]
    as_of: tuple[dt.date, str]
    divisions: list[LayerGuess]
    layers: dict[str, LayerGuess]
    spare_layers: list[tuple[LayerGuess, str]]
    sources: list[SourceGuess]
    unplaced: list[Unplaced]
    skipped: list[Unplaced] = field(default_factory=list)


class NothingToGuessError(PopbaseError, FileNotFoundError):
    """A delivery folder holds no file popbase can use."""


def delivered_files(folders: list[Path]) -> tuple[list[Path], list[Unplaced]]:
    """The files of a delivery, sorted, and popbase's own outputs left out.

    Hidden files, Office lock files (``~$``) and Shapefile sidecars are not listed;
    what popbase writes at the top of a project folder (:data:`OWN_OUTPUTS`) is returned
    apart, with what it is, so that the summary can say it was not read.
    """
    files: list[Path] = []
    skipped: list[Unplaced] = []
    for folder in folders:
        for root, dirs, names in os.walk(folder):
            top = Path(root) == folder
            for d in sorted(dirs):
                if top and d in OWN_OUTPUTS:
                    skipped.append(Unplaced(Path(root) / d, OWN_OUTPUTS[d]))
            dirs[:] = sorted(
                d for d in dirs if not d.startswith(".") and not (top and d in OWN_OUTPUTS)
            )
            for name in sorted(names):
                path = Path(root) / name
                if name.startswith((".", "~$")):
                    continue
                if top and name in OWN_OUTPUTS:
                    if name != "popbase.yaml":  # replaced with --force, or refused before
                        skipped.append(Unplaced(path, OWN_OUTPUTS[name]))
                    continue
                if path.suffix.lower() in _SIDECARS or path.is_symlink():
                    continue
                files.append(path)
    return files, skipped


def _read(path: Path) -> tuple[list[TableHead], list[LayerHead]]:
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        layers = read_layer_heads(path)
        return ([], layers) if layers else (read_heads(path), [])
    if suffix in TABLE_SUFFIXES:
        return read_heads(path), []
    if suffix in MAP_SUFFIXES:
        return [], read_layer_heads(path)
    return [], []


def _best_layers(
    layers: list[LayerGuess],
) -> tuple[list[LayerGuess], dict[str, LayerGuess], list[tuple[LayerGuess, str]]]:
    """The division layers, the best layer of every other role, and the layers left out.

    Every division layer is used (streets from one file, committees from another) unless
    it repeats one used; other roles take one layer, the best-evidenced, then the largest.
    """
    divisions, repeats = choose_division_layers([x for x in layers if x.role == "divisions"])
    spare = [(layer, f"the same divisions as {same.head.path.name}") for layer, same in repeats]
    chosen: dict[str, LayerGuess] = {}
    others = [x for x in layers if x.role != "divisions"]
    for layer in sorted(others, key=lambda x: (x.score, x.head.count), reverse=True):
        chosen.setdefault(layer.role, layer)
    spare += [
        (layer, f"space.{layer.role} takes one layer: {chosen[layer.role].head.path.name} is used")
        for layer in others
        if chosen[layer.role] is not layer
    ]
    return divisions, chosen, spare


def _believed(polygons: list[tuple[LayerHead, str]]) -> list[tuple[LayerHead, str]]:
    """Polygon layers whose CRS the file states believably, each with the CRS to read."""
    out = []
    for head, hint in polygons:
        crs = layer_crs(head, hint)
        if crs.sure and not crs.asked and (crs.value or head.crs):
            out.append((head, crs.value or str(head.crs)))
    return out


def _align(
    layers: list[LayerGuess], sources: list[SourceGuess], polygons: list[tuple[LayerHead, str]]
) -> None:
    """Coordinates of doubtful CRS read as fits the polygons of believed CRS.

    See :mod:`popbase.guess.crs`: committees saved as "WGS84" but copied from an internet
    map fit the streets only once read as GCJ-02. Every polygon layer of the delivery
    whose CRS is believed counts, placed or not (blocks, land parcels locate the area too).
    """
    against = reference(_believed(polygons))
    if against is None:
        return
    for layer in layers:
        # Doubtful degrees, or metres no file places (asked for unless they fit).
        doubtful = not layer.crs.sure or (layer.crs.asked and not layer.head.crs)
        if doubtful:
            layer.crs = aligned_crs(layer.head.shapes, layer.crs, against) or layer.crs
    for source in sources:
        setting, points = source.settings.get("crs"), source.points
        if setting is None or points is None or (setting.sure and not setting.asked):
            continue
        stated = CrsGuess(
            None if setting.value is None else str(setting.value),
            setting.why,
            setting.asked,
            setting.sure,
        )
        found = aligned_crs(points.shapes, stated, against)
        if found is not None:
            source.settings["crs"] = Setting(found.value, found.evidence, found.asked, found.sure)


def _why_no_layer(path: Path, layer: LayerHead) -> str:
    fields = ", ".join(layer.samples) or "no fields"
    if layer.geometry == "none":
        if path.suffix.lower() == ".zip":
            return f"an archive of tables ({fields}): unzip it to read them"
        return f"no geometry ({fields})"
    named = [c for c, v in layer.samples.items() if profile(v).share("division_name") >= 0.6]
    if layer.geometry in ("polygon", "mixed") and named:
        # Boundaries named but not coded: popbase keys divisions by their codes.
        return (
            f"division names in {named[0]} but no statistical division codes: add a code "
            "field (区划代码: 9 digits for streets, 12 for committees) to use it as divisions"
        )
    return f"{layer.count:,} {layer.geometry} features with {fields}: not a basemap layer"


def guess_project(folders: list[Path]) -> ProjectGuess:
    """Read every delivered file under ``folders`` and guess the project.

    Parameters
    ----------
    folders
        The delivery's folders (sources and basemap may come apart).

    Returns
    -------
    ProjectGuess
        Sources, layers, the area and its date, and what could not be placed.

    Raises
    ------
    NothingToGuessError
        No file under the folders is a source or a layer.
    """
    folders = [f.resolve() for f in folders]
    files, skipped = delivered_files(folders)
    tables: list[tuple[TableHead, ColumnMapping]] = []
    layers: list[LayerGuess] = []
    unplaced: list[Unplaced] = []
    heads: list[TableHead] = []
    polygons: list[tuple[LayerHead, str]] = []
    for path in files:
        try:
            table_heads, layer_heads = _read(path)
        except (PopbaseError, OSError, ValueError, RuntimeError) as exc:
            # GDAL appends a hint about drivers that means nothing to the user.
            unplaced.append(Unplaced(path, f"cannot be read ({str(exc).split('; ')[0]})"))
            continue
        if not table_heads and not layer_heads:
            unplaced.append(Unplaced(path, "not a table or a map layer popbase reads"))
        heads += table_heads
        for head in table_heads:
            mapping = guess_mapping(head.samples, SOURCE_VOCAB)
            if mapping is not None:
                tables.append((head, mapping))
                continue
            as_layer = layer_from_table(head)
            placed = as_layer and place_layer(as_layer, relative(path, folders))
            if placed:
                layers.append(placed)
            else:
                where = f" (sheet {head.sheet})" if head.sheet else ""
                shown = ", ".join(head.columns[:8]) + (" …" if len(head.columns) > 8 else "")
                unplaced.append(Unplaced(path, f"no columns of a known source{where}: {shown}"))
        polygons += [(h, relative(path, folders)) for h in layer_heads if h.geometry == "polygon"]
        for layer in layer_heads:
            placed = place_layer(layer, relative(path, folders))
            if placed:
                layers.append(placed)
            else:
                unplaced.append(Unplaced(path, _why_no_layer(path, layer)))
    if not tables and not layers:
        found = "; ".join(f"{relative(u.path, folders)}: {u.why}" for u in unplaced[:10])
        raise NothingToGuessError(
            f"{', '.join(map(str, folders))}: no file there is a source or a map layer popbase "
            f"reads ({found or 'no files at all'}). Fix: point --from at the folder of the "
            "delivered CSV, XLSX or Parquet tables and GeoJSON, GeoPackage or Shapefile layers"
        )
    sources = sources_from_tables(tables, folders)
    _align(layers, sources, polygons)
    divisions, chosen, spare = _best_layers(layers)
    code = area_code(layers, sources)
    return ProjectGuess(
        folders,
        area_name(code[0], divisions),
        code,
        area_as_of(heads, files, folders),
        divisions,
        chosen,
        spare,
        sources,
        unplaced,
        skipped,
    )
