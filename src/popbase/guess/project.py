"""Guess a whole project from the folders a city's departments delivered.

Every file under the folders is read once: tables (CSV/TSV/XLSX/Parquet) become sources
when their columns say what kind of source they are, or basemap layers when their rows
carry geometry; map files (GeoJSON, GeoPackage, Shapefile, GeoParquet) become layers. Files
of one shape in one folder (a ledger workbook per street) become one source with a
``pattern``. What fits nowhere is listed with why.

The area's code is the common prefix of the division codes seen (cut to a statistical
code length), its name comes from the bundled NBS tables, and the as-of date is the
newest date a file's name or a ledger's title gives (截至2026年10月 is its last day), else
the newest file's modification date.
"""

from __future__ import annotations

import calendar
import csv
import datetime as dt
import glob
import os
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Final

from popbase.errors import PopbaseError
from popbase.guess.columns import ColumnMapping, guess_mapping
from popbase.guess.departments import Department, department_of
from popbase.guess.layer_roles import LayerGuess, layer_crs, place_layer
from popbase.guess.layers import LayerHead, layer_from_table, read_layer_heads
from popbase.guess.layout import TableHead, read_heads
from popbase.guess.vocabulary import SOURCE_VOCAB

__all__ = [
    "NothingToGuessError",
    "ProjectGuess",
    "Setting",
    "SourceGuess",
    "Unplaced",
    "guess_project",
]

TABLE_SUFFIXES: Final = (".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".xls", ".parquet")
MAP_SUFFIXES: Final = (".geojson", ".json", ".gpkg", ".shp", ".zip", ".fgb", ".kml", ".gml")
# Parts of a Shapefile other than .shp, read with it.
_SIDECARS: Final = (".shx", ".dbf", ".prj", ".cpg", ".qpj", ".sbn", ".sbx", ".qix", ".qmd")
# What popbase itself writes into a project folder.
_OWN: Final = {"popbase.yaml", "snapshots", "current", "quality", "audit", "users.json"}
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


@dataclass(frozen=True)
class Setting:
    """A source setting guessed, and why; ``asked``: the user must give the value."""

    value: object
    why: str
    asked: bool = False


@dataclass
class SourceGuess:
    """A department source guessed from one file or a folder of files of one shape."""

    name: str
    department: str
    department_evidence: str
    known: Department | None
    mapping: ColumnMapping
    heads: list[TableHead]
    path: Path
    pattern: str | None = None
    settings: dict[str, Setting] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        """The source kind."""
        return self.mapping.kind

    @property
    def head(self) -> TableHead:
        """The first file's table."""
        return self.heads[0]


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


def _relative(path: Path, folders: list[Path]) -> str:
    for folder in folders:
        if path.is_relative_to(folder):
            return str(path.relative_to(folder))
    return str(path)


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


def _names(head: TableHead, folders: list[Path]) -> list[str]:
    """Texts that may name the department, the most telling first."""
    names = [head.path.stem, head.title, head.sheet or ""]
    parent = head.path.parent
    while not any(parent == f for f in folders) and parent != parent.parent:
        names.append(parent.name)
        parent = parent.parent
    return [n for n in names if n]


def _common_prefix(texts: list[str]) -> str:
    """The characters every text starts with.

    >>> _common_prefix(["310112001", "310112002001"])
    '31011200'
    """
    if not texts:
        return ""
    first, last = min(texts), max(texts)
    n = 0
    while n < len(first) and first[n] == last[n]:
        n += 1
    return first[:n]


def _group_pattern(files: list[Path]) -> str | None:
    """A glob that matches exactly ``files`` in their folder, or None."""
    folder, suffix = files[0].parent, files[0].suffix
    stems = [f.stem for f in files]
    for pattern in (f"*{suffix}", f"{glob.escape(_common_prefix(stems))}*{suffix}"):
        matched = sorted(p for p in folder.glob(pattern) if p.is_file())
        if matched == sorted(files):
            return pattern
    return None


def _sources(
    heads: list[tuple[TableHead, ColumnMapping]], folders: list[Path]
) -> list[SourceGuess]:
    groups: dict[tuple[object, ...], list[tuple[TableHead, ColumnMapping]]] = {}
    for head, mapping in heads:
        key = (head.path.parent, head.path.suffix.lower(), head.signature, mapping.kind)
        groups.setdefault(key, []).append((head, mapping))
    sources: list[SourceGuess] = []
    for members in groups.values():
        files = [h.path for h, _ in members]
        pattern = _group_pattern(files) if len(members) > 1 else None
        batches = [members] if len(members) == 1 or pattern else [[m] for m in members]
        for batch in batches:
            head, mapping = batch[0]
            group_names = [head.path.parent.name] if pattern else []
            known, word = department_of(group_names + _names(head, folders), mapping.kind)
            path = head.path.parent if pattern else head.path
            sources.append(
                SourceGuess(
                    known.name if known else "",
                    known.department if known else "",
                    f"the name says {word}" if word else "",
                    known,
                    mapping,
                    [h for h, _ in batch],
                    path,
                    pattern,
                )
            )
    _name_uniquely(sources)
    return sources


def _name_uniquely(sources: list[SourceGuess]) -> None:
    taken: set[str] = set()
    unnamed = 0
    for source in sources:
        base = source.name
        if not base:
            unnamed += 1
            base = f"source_{unnamed}"
        name, n = base, 2
        while name in taken:
            name, n = f"{base}_{n}", n + 1
        source.name = name
        taken.add(name)


def _settings(source: SourceGuess, folders: list[Path]) -> None:
    """Priority, register and presence flags, and the CRS of lon/lat columns."""
    known, mapping = source.known, source.mapping
    if known is not None:
        why = f"default for {known.department}: {known.why}"
        source.settings["priority"] = Setting(known.priority, why)
    else:
        source.settings["priority"] = Setting(50, "the default; rank it against the others")
    if known and known.name == "police_hukou" and mapping.get("hukou_address"):
        why = "only if it is the area's complete household register"
        source.settings["hukou_register"] = Setting(True, why)
    if known and known.name in ("social_security", "operator_presence"):
        why = "an active row says the person is in the city now"
        source.settings["presence"] = Setting(True, why)
    lon, lat = mapping.get("lon"), mapping.get("lat")
    if lon and lat:
        hint = f"{_relative(source.head.path, folders)} {lon.column} {lat.column}"
        x = [float(v) for v in source.head.samples[lon.column] if _is_number(v)]
        y = [float(v) for v in source.head.samples[lat.column] if _is_number(v)]
        bounds = (min(x), min(y), max(x), max(y)) if x and y else None
        head = LayerHead(source.head.path, None, "point", None, bounds, 0, {})
        crs, evidence, asked = layer_crs(head, hint)
        source.settings["crs"] = Setting(crs, evidence, asked)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


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


def _common_code(codes: list[str]) -> str:
    prefix = _common_prefix([c for c in codes if c.isdigit()])
    return next((prefix[:n] for n in _CODE_LENGTHS if len(prefix) >= n), "")


def _region(layers: dict[str, LayerGuess], sources: list[SourceGuess]) -> tuple[str, str]:
    for role in ("divisions", "grids"):
        if role in layers:
            code = _common_code(layers[role].codes)
            if code:
                return code, f"the common prefix of the {role}' codes"
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


def _area_name(code: str, divisions: LayerGuess | None) -> tuple[str, str]:
    name = _bundled_names().get(code, "")
    if name and name != "市辖区":
        return name, f"the NBS name of {code}"
    if divisions is not None and (name_field := divisions.column("name")):
        code_field = divisions.column("code") or ""
        for c, n in zip(
            divisions.head.samples.get(code_field, []), divisions.head.samples[name_field],
            strict=False,
        ):  # fmt: skip
            if c == code and n:
                return n, f"the name of {code} in {divisions.head.path.name}"
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


def _as_of(heads: list[TableHead], files: list[Path], folders: list[Path]) -> tuple[dt.date, str]:
    today = dt.date.today()
    dated = [
        (d, f"{text!r} ({_relative(path, folders)})")
        for path, text in [(h.path, h.title) for h in heads] + [(f, f.name) for f in files]
        for d in _dates(text)
        if d <= today
    ]
    if dated:
        return max(dated)
    if files:
        newest = max(files, key=lambda f: f.stat().st_mtime)
        day = dt.date.fromtimestamp(newest.stat().st_mtime)
        return day, f"the newest file's date ({_relative(newest, folders)})"
    return today, "today"


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
            unplaced.append(Unplaced(path, f"cannot be read ({exc})"))
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
            placed = as_layer and place_layer(as_layer, _relative(path, folders))
            if placed:
                layers.append(placed)
            else:
                where = f" (sheet {head.sheet})" if head.sheet else ""
                shown = ", ".join(head.columns[:8]) + (" …" if len(head.columns) > 8 else "")
                unplaced.append(Unplaced(path, f"no columns of a known source{where}: {shown}"))
        for layer in layer_heads:
            placed = place_layer(layer, _relative(path, folders))
            if placed:
                layers.append(placed)
            else:
                fields = ", ".join(layer.samples) or "no fields"
                unplaced.append(
                    Unplaced(
                        path, f"{layer.count:,} {layer.geometry}s with {fields}: no layer role"
                    )
                )
    if not tables and not layers:
        listed = ", ".join(_relative(f, folders) for f in files[:10]) or "no files"
        raise NothingToGuessError(
            f"{', '.join(map(str, folders))}: no file there is a source or a map layer popbase "
            f"reads (found: {listed}). Fix: point --from at the folder of the delivered CSV, "
            "XLSX or Parquet tables and GeoJSON, GeoPackage or Shapefile layers"
        )
    sources = _sources(tables, folders)
    for source in sources:
        _settings(source, folders)
    chosen, spare = _best_layers(layers)
    code = _region(chosen, sources)
    return ProjectGuess(
        folders,
        _area_name(code[0], chosen.get("divisions")),
        code,
        _as_of(heads, files, folders),
        chosen,
        spare,
        sources,
        unplaced,
    )
