"""Guess a whole project from the folders a city's departments delivered.

Every file under the folders is read once: tables (CSV/TSV/XLSX/Parquet) become sources
when their columns say what kind of source they are (:mod:`popbase.guess.columns`,
:mod:`popbase.guess.sources`), or basemap layers when their rows carry geometry; map files
(GeoJSON, GeoPackage, Shapefile, GeoParquet) become layers
(:mod:`popbase.guess.layer_roles`). Of several layers for one role, the best is used and
the others listed. What fits nowhere is listed with why. The area and its date come from
what was read (:mod:`popbase.guess.area`).
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from popbase.errors import PopbaseError
from popbase.guess.area import area_as_of, area_code, area_name
from popbase.guess.columns import ColumnMapping, guess_mapping
from popbase.guess.layer_roles import LayerGuess, place_layer
from popbase.guess.layers import LayerHead, layer_from_table, read_layer_heads
from popbase.guess.layout import TableHead, read_heads
from popbase.guess.sources import SourceGuess, relative, sources_from_tables
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
# What popbase itself writes into a project folder.
_OWN: Final = {"popbase.yaml", "snapshots", "current", "quality", "audit", "users.json"}


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
    layers: dict[str, LayerGuess]
    spare_layers: list[LayerGuess]
    sources: list[SourceGuess]
    unplaced: list[Unplaced]


class NothingToGuessError(PopbaseError, FileNotFoundError):
    """A delivery folder holds no file popbase can use."""


def delivered_files(folders: list[Path]) -> list[Path]:
    """The files of a delivery, sorted, without hidden files and popbase's own output."""
    files: list[Path] = []
    for folder in folders:
        for root, dirs, names in os.walk(folder):
            dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in _OWN)
            for name in sorted(names):
                path = Path(root) / name
                if name.startswith((".", "~$")) or name in _OWN:
                    continue
                if path.suffix.lower() in _SIDECARS or path.is_symlink():
                    continue
                files.append(path)
    return files


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


def _best_layers(layers: list[LayerGuess]) -> tuple[dict[str, LayerGuess], list[LayerGuess]]:
    def rank(layer: LayerGuess) -> tuple[float, ...]:
        if layer.role == "divisions":  # the layer with the most levels, the finest, the most
            lengths = {len(c) for c in layer.codes}
            return (len(lengths), max(lengths, default=0), layer.head.count)
        return (layer.score, layer.head.count)

    chosen: dict[str, LayerGuess] = {}
    for layer in sorted(layers, key=rank, reverse=True):
        chosen.setdefault(layer.role, layer)
    spare = [layer for layer in layers if chosen[layer.role] is not layer]
    return chosen, spare


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
    files = delivered_files(folders)
    tables: list[tuple[TableHead, ColumnMapping]] = []
    layers: list[LayerGuess] = []
    unplaced: list[Unplaced] = []
    heads: list[TableHead] = []
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
    chosen, spare = _best_layers(layers)
    code = area_code(layers, sources)
    return ProjectGuess(
        folders,
        area_name(code[0], chosen.get("divisions")),
        code,
        area_as_of(heads, files, folders),
        chosen,
        spare,
        sources,
        unplaced,
    )
