"""The same sample city in the shapes real projects come in.

A city's departments deliver what they have, as they keep it: one project has no
micro-grids, another no operator data; one police bureau exports GBK CSV with pinyin
column names, a street office keeps workbooks with a title row and grouped headers, a
surveying bureau gives buildings as GCJ-02 points. :func:`write_shape` copies a generated
sample project into a new folder in another shape and writes its ``popbase.yaml``, so the
same city — and the same ground truth, keyed by record number — can be built in each
shape and the scores compared.

A :class:`Shape` says:

``omit``
    optional parts left out (:data:`OPTIONAL_PARTS`): the basemap layers ``grids``,
    ``facilities``, ``roads``; the sources ``housing``, ``signaling``,
    ``enterprise_registry``, ``civil_affairs``, ``health``, ``hotline``; and
    ``located_presence`` (presence sources with coordinates) or ``presence`` (every
    presence source);
``columns``
    column names as delivered, or Chinese synonyms, English, or pinyin initials;
``dates``
    every date rewritten in one form (:data:`~popbase.sample.shape_tables.DateStyle`);
``encoding``, ``header``, ``file_format``
    how each department's file is laid out;
``buildings``, ``buildings_crs``
    footprints as delivered, or points in a CRS (an EPSG code, ``GCJ-02``, ``BD-09``);
``divisions``
    one layer as delivered, two layers (streets and committees) with no district
    feature, or committees alone with short codes under their streets' names;
``words``
    values as delivered, or building use and floors in Chinese words (住宅, 商住两用,
    12层), or that and sex as GB/T 2261.1 codes (1 男, 2 女);
``events``
    an event type per row as delivered, or health and civil-affairs files with a column
    per programme instead (:mod:`popbase.sample.shape_events`).
"""

from __future__ import annotations

import random
import shutil
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Final, Literal, get_args

import geopandas as gpd
import pandas as pd
import yaml

from popbase.config import PROJECT_FILE, Project, SourceConfig, load_project
from popbase.io.headers import SEPARATOR, unique_names
from popbase.io.sources import source_files
from popbase.io.tables import read_table
from popbase.sample.shape_events import events_in_columns
from popbase.sample.shape_space import (
    DivisionStyle,
    WordStyle,
    building_words,
    buildings_as_points,
    divisions_in_layers,
)
from popbase.sample.shape_tables import (
    DATE_FIELDS,
    ColumnStyle,
    DateStyle,
    FileFormat,
    HeaderStyle,
    TableLayout,
    column_name,
    rewrite_dates,
    write_table,
)
from popbase.space.offsets import offset_crs_name

__all__ = ["OPTIONAL_PARTS", "Shape", "write_shape"]

EventStyle = Literal["as_delivered", "columns"]
# Basemap layers a project may lack.
OPTIONAL_LAYERS: Final = ("grids", "facilities", "roads")
# Department sources a project may lack, by the sample's source names.
OPTIONAL_SOURCES: Final = (
    "housing",
    "signaling",
    "enterprise_registry",
    "civil_affairs",
    "health",
    "hotline",
)
OPTIONAL_PARTS: Final = (*OPTIONAL_LAYERS, *OPTIONAL_SOURCES, "located_presence", "presence")
ENCODINGS: Final = ("utf-8", "utf-8-sig", "gb18030")
BUILDING_CRS: Final = ("EPSG:4490", "EPSG:4326", "EPSG:4549", "GCJ-02", "BD-09")
# Point tables from an internet map carry its name, as people export and name them.
_POINT_FILES: Final = {"GCJ-02": "高德_楼栋点位.csv", "BD-09": "百度_楼栋点位.csv"}
# GB/T 2261.1 sex codes; a word that is no sex is kept as written.
_SEX_CODES: Final = {"男": "1", "女": "2", "男性": "1", "女性": "2"}


@dataclass(frozen=True)
class Shape:
    """How a project delivers its city (see the module's description)."""

    omit: frozenset[str] = field(default_factory=frozenset)
    columns: ColumnStyle = "as_delivered"
    dates: DateStyle = "as_delivered"
    encoding: str | None = None
    header: HeaderStyle | None = None
    file_format: FileFormat | None = None
    buildings: str = "footprints"
    buildings_crs: str = "EPSG:4490"
    divisions: DivisionStyle = "one_layer"
    words: WordStyle = "as_delivered"
    events: EventStyle = "as_delivered"

    def __post_init__(self) -> None:
        unknown = sorted(set(self.omit) - set(OPTIONAL_PARTS))
        if unknown:
            raise ValueError(
                f"unknown optional parts {unknown}; choose among {', '.join(OPTIONAL_PARTS)}"
            )
        if self.buildings not in ("footprints", "points"):
            raise ValueError(f"buildings was {self.buildings!r}, expected footprints or points")

    @property
    def rewrites_tables(self) -> bool:
        """Whether the department files are written again (not copied as delivered)."""
        return (self.columns, self.dates, self.encoding, self.header, self.file_format) != (
            "as_delivered",
            "as_delivered",
            None,
            None,
            None,
        ) or (self.words == "codes")

    @property
    def name(self) -> str:
        """A short name for reports and test ids: what differs from the sample."""
        parts = [
            f"{f.name}={getattr(self, f.name)}"
            for f in fields(self)
            if f.name != "omit" and getattr(self, f.name) != f.default
        ]
        if self.omit:
            parts.append("without=" + "+".join(sorted(self.omit)))
        return ",".join(parts) or "as_delivered"

    @classmethod
    def parse(cls, text: str) -> Shape:
        """A shape from its name, e.g. ``columns=pinyin,dates=chinese,without=grids+hotline``.

        >>> Shape.parse("columns=pinyin,without=grids").omit
        frozenset({'grids'})
        """
        if text in ("", "as_delivered"):
            return cls()
        settings: dict[str, Any] = {}
        for part in text.split(","):
            key, _, value = part.partition("=")
            if key == "without":
                settings["omit"] = frozenset(value.split("+"))
            elif key in {f.name for f in fields(cls)} - {"omit"}:
                settings[key] = value
            else:
                raise ValueError(f"unknown shape setting {key!r} in {text!r}")
        return cls(**settings)

    @classmethod
    def draw(cls, seed: int) -> Shape:
        """A shape drawn at random (the same seed gives the same shape)."""
        rng = random.Random(seed)
        omit = frozenset(p for p in OPTIONAL_PARTS if rng.random() < 0.25)
        buildings = rng.choice(("footprints", "points"))
        return cls(
            omit=omit,
            columns=rng.choice(get_args(ColumnStyle)),
            dates=rng.choice(get_args(DateStyle)),
            encoding=rng.choice(ENCODINGS),
            header=rng.choice(get_args(HeaderStyle)),
            file_format=rng.choice(get_args(FileFormat)),
            buildings=buildings,
            buildings_crs=rng.choice(BUILDING_CRS) if buildings == "points" else "EPSG:4490",
            divisions=rng.choice(get_args(DivisionStyle)),
            words=rng.choice(get_args(WordStyle)),
            events=rng.choice(get_args(EventStyle)),
        )


def _drops_source(source: dict[str, Any], omit: frozenset[str]) -> bool:
    if source["name"] in omit:
        return True
    if not source.get("presence"):
        return False
    located = "lon" in source.get("columns", {})
    return "presence" in omit or ("located_presence" in omit and located)


def _layout(source: SourceConfig, shape: Shape, path: Path) -> TableLayout:
    """The shape's layout for a source's file; what the shape leaves open stays as it was."""
    suffix = path.suffix.lower().lstrip(".")
    given: FileFormat = (
        "xlsx" if suffix.startswith("xls") else "parquet" if suffix == "parquet" else "csv"
    )
    return TableLayout(
        file_format=shape.file_format or given,
        encoding=shape.encoding or "utf-8",
        header=shape.header or ("grouped" if source.header_rows > 1 else "plain"),
    )


def _rewrite_source(
    project: Project, out: Path, source: SourceConfig, shape: Shape
) -> dict[str, Any]:
    """Write every file of ``source`` again in ``shape``; return its new configuration."""
    renamed: dict[str, str] = {}
    layout: TableLayout | None = None
    for path in source_files(project, source):
        raw = read_table(
            path,
            format=source.format,
            encoding=source.encoding,
            sheet=source.sheet,
            skip_rows=source.skip_rows,
            header_rows=source.header_rows,
        )
        frame = raw.frame
        headers = {f: raw.column(c) for f, c in source.columns.items()}
        names = {
            h: column_name(f, h.rsplit(SEPARATOR, 1)[-1], shape.columns, source.kind)
            for f, h in headers.items()
        }
        others = [c for c in frame.columns if c not in names]
        new = unique_names(
            [*(names[h] for h in headers.values()), *(c.rsplit(SEPARATOR, 1)[-1] for c in others)]
        )
        rename = dict(zip([*headers.values(), *others], new, strict=True))
        out_frame = pd.DataFrame({rename[c]: frame[c] for c in frame.columns})
        for f, h in headers.items():
            if f in DATE_FIELDS:
                out_frame[rename[h]] = rewrite_dates(frame[h], shape.dates, f)
            if f == "sex" and shape.words == "codes":
                out_frame[rename[h]] = frame[h].map(_SEX_CODES).where(frame[h].notna(), None)
        renamed = {f: rename[h] for f, h in headers.items()}
        layout = _layout(source, shape, path)
        target = out / path.relative_to(project.root)
        target.unlink()
        write_table(
            out_frame, target, layout, f"{source.department}数据（导出）", set(renamed.values())
        )
    assert layout is not None
    config = source.model_dump(mode="json", exclude_defaults=True)
    path = Path(config["path"])
    if project.path(source.path).is_dir():
        config["pattern"] = f"*{layout.suffix}"
    else:
        config["path"] = str(path.with_suffix(layout.suffix))
    for key in ("format", "encoding", "sheet", "skip_rows", "header_rows"):
        config.pop(key, None)
    if layout.skip_rows:
        config["skip_rows"] = layout.skip_rows
    if layout.header_rows > 1:
        config["header_rows"] = layout.header_rows
    config["columns"] = renamed
    return config


def shaped_config(project: Project, out: Path, shape: Shape) -> dict[str, Any]:
    """Write the shape's files into ``out`` and return its project file's content."""
    config: dict[str, Any] = project.config.model_dump(mode="json", exclude_defaults=True)
    config["space"] = {k: v for k, v in config["space"].items() if k not in shape.omit}
    kept = [s for s in project.config.sources if not _drops_source(s.model_dump(), shape.omit)]
    _remove_omitted(project, out, shape, kept)
    if shape.rewrites_tables:
        config["sources"] = [_rewrite_source(project, out, s, shape) for s in kept]
    else:
        config["sources"] = [s.model_dump(mode="json", exclude_defaults=True) for s in kept]
    if shape.divisions != "one_layer":
        [divisions] = project.config.space.divisions
        config["space"]["divisions"] = divisions_in_layers(
            project.path(divisions.path), out / "basemap", shape.divisions, dict(divisions.fields)
        )
        (out / divisions.path).unlink()
    if shape.buildings == "footprints" and shape.words != "as_delivered":
        layer = project.config.space.buildings
        footprints = gpd.read_file(project.path(layer.path))
        worded = gpd.GeoDataFrame(building_words(footprints, dict(layer.fields)))
        worded.to_file(out / layer.path, layer=layer.layer or Path(layer.path).stem)
    if shape.buildings == "points":
        buildings = project.config.space.buildings
        target = (
            out
            / "basemap"
            / _POINT_FILES.get(str(offset_crs_name(shape.buildings_crs)), "楼栋点位.csv")
        )
        mapping = buildings_as_points(
            project.path(buildings.path),
            target,
            shape.buildings_crs,
            dict(buildings.fields),
            shape.words,
        )
        config["space"]["buildings"] = {
            "path": str(target.relative_to(out)),
            "crs": shape.buildings_crs,
            "fields": mapping,
        }
        (out / buildings.path).unlink()
    return config


def _remove_omitted(project: Project, out: Path, shape: Shape, kept: list[SourceConfig]) -> None:
    """Delete the copied files of the parts ``shape`` leaves out (a delivery has none)."""
    for name in OPTIONAL_LAYERS:
        layer = getattr(project.config.space, name)
        if name in shape.omit and layer is not None:
            (out / layer.path).unlink()
    for source in project.config.sources:
        path = out / source.path
        if source in kept:
            continue
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()


def write_shape(sample: Path | str, out: Path | str, shape: Shape) -> Path:
    """Copy the sample project ``sample`` into ``out`` in ``shape``.

    Parameters
    ----------
    sample
        A project written by ``popbase sample`` (its builds are not copied).
    out
        The folder to create; it must not exist.
    shape
        The shape to deliver the city in.

    Returns
    -------
    pathlib.Path
        The new project's ``popbase.yaml``.
    """
    sample, out = Path(sample), Path(out)
    shutil.copytree(
        sample, out, ignore=shutil.ignore_patterns("snapshots", "work", "current", "users.json")
    )
    path = out / PROJECT_FILE
    if shape.events == "columns":
        delivered = yaml.safe_load(path.read_text(encoding="utf-8"))
        events_in_columns(out, delivered)
        path.write_text(yaml.safe_dump(delivered, allow_unicode=True), encoding="utf-8")
    # Files are rewritten where they lie in the copy, each read before it is replaced.
    project = load_project(out)
    config = shaped_config(project, out, shape)
    config.setdefault("output", {})
    header = f"# The sample city of {project.config.project.name}, delivered as: {shape.name}\n"
    path.write_text(
        header + yaml.safe_dump(config, allow_unicode=True, sort_keys=False, width=100),
        encoding="utf-8",
    )
    return path
