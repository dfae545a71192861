"""``popbase check space``: the topology of a project's basemap, before any build.

Reads the project's layers as the build does (:mod:`.layers`; the divisions, one layer or
several, through :mod:`.division_layers`, with the units they lack dissolved from their
children), runs the checks of :mod:`.topology`, and reports features the reader set aside
as findings of kind ``feature_set_aside``. The report renders as Rich tables, as JSON of a
stable shape::

    {"tolerance_m2": 1.0,
     "parents": [{"code", "name", "level", "area_m2", "gap_m2", "overlap_m2", "children"}],
     "findings": [{"kind", "code", "other", "area_m2", "lon", "lat", "detail"}],
     "summary": {kind: count},
     "snapped": {"count", "area_m2"},
     "layers": {layer: {"read", "loaded", "set_aside", "repaired"}},
     "dissolved": [{"code", "name", "level", "children", "name_from"}]}

A list of divisions layers is counted per file (``divisions.0``, ``divisions.1`` …).

and as a GeoJSON layer of the findings' geometries in EPSG:4490 that QGIS opens.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
from rich.table import Table

from popbase.config import Project
from popbase.space.dissolve import DISSOLVED_COLUMNS
from popbase.space.division_layers import division_units
from popbase.space.layers import LOADED_REASONS, Layer, read_layer
from popbase.space.topology import Finding, TopologyReport, check_topology

__all__ = ["SpaceCheck", "check_space"]

FINDINGS_SHOWN = 40


@dataclass
class SpaceCheck:
    """A topology report, what the layer reader did with each layer, the units dissolved."""

    report: TopologyReport
    layers: dict[str, dict[str, int]]
    dissolved: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=DISSOLVED_COLUMNS))

    @property
    def clean(self) -> bool:
        """No finding above the tolerance."""
        return not self.report.findings

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape (see the module docstring)."""
        dissolved = self.dissolved.to_dict(orient="records")
        return self.report.to_dict() | {"layers": self.layers, "dissolved": dissolved}

    def write_json(self, path: Path) -> None:
        """Write the report as JSON (UTF-8, Chinese names as they are)."""
        text = json.dumps(self.to_dict(), ensure_ascii=False, indent=2)
        path.write_text(text + "\n", encoding="utf-8")

    def write_geojson(self, path: Path) -> None:
        """Write the findings that have a geometry as a GeoJSON layer in EPSG:4490."""
        frame = self.report.findings_frame()
        frame = frame[frame.geometry.notna() & ~frame.geometry.is_empty]
        if path.exists():
            path.unlink()  # GDAL will not overwrite a GeoJSON file
        frame.to_file(path, driver="GeoJSON")

    def tables(self) -> list[Table]:
        """Rich tables: findings per kind, the first findings, the units dissolved."""
        summary = Table(title="space check: findings per kind")
        summary.add_column("kind")
        summary.add_column("count", justify="right")
        for kind, n in self.report.summary().items():
            summary.add_row(kind, f"{n:,}")
        snapped = self.report.snapped
        summary.caption = (
            f"tolerance {self.report.tolerance_m2:g} m²; snapped slivers: "
            f"{int(snapped['count']):,} ({snapped['area_m2']:,.2f} m²)"
        )
        shown = self.report.findings_frame().head(FINDINGS_SHOWN)
        detail = Table(title=f"findings (first {min(len(shown), FINDINGS_SHOWN)})")
        for col in ("kind", "code", "other", "area m²", "lon", "lat", "detail"):
            values = [str(v) for v in shown[_FINDING_FIELDS[col]]] if len(shown) else []
            # Codes, kinds and coordinates are read whole or not at all: only the detail
            # column wraps on a narrow terminal.
            detail.add_column(
                col,
                justify="right" if col in ("area m²", "lon", "lat") else "left",
                no_wrap=col != "detail",
                min_width=max(map(len, values), default=0) if col != "detail" else 30,
            )
        for row in shown.itertuples():
            detail.add_row(
                str(row.kind),
                str(row.code),
                str(row.other),
                "" if pd.isna(row.area_m2) else f"{row.area_m2:,.1f}",
                "" if pd.isna(row.lon) else f"{row.lon:.6f}",
                "" if pd.isna(row.lat) else f"{row.lat:.6f}",
                str(row.detail),
            )
        tables = [summary, detail] if len(shown) else [summary]
        if len(self.dissolved):
            made = Table(title="units no layer gives, dissolved from their children")
            for col in DISSOLVED_COLUMNS:
                made.add_column(col, justify="right" if col == "children" else "left")
            for row in self.dissolved.itertuples(index=False):
                made.add_row(*(str(v) for v in row))
            tables.append(made)
        return tables


_FINDING_FIELDS = {
    "kind": "kind",
    "code": "code",
    "other": "other",
    "area m²": "area_m2",
    "lon": "lon",
    "lat": "lat",
    "detail": "detail",
}


def _counts(layer: Layer) -> dict[str, int]:
    return {
        "read": layer.read,
        "loaded": len(layer.features),
        "set_aside": layer.set_aside,
        "repaired": layer.repaired,
    }


def check_space(project: Project, tolerance_m2: float = 1.0) -> SpaceCheck:
    """Check the topology of a project's basemap layers.

    Parameters
    ----------
    project
        The project; its layers are read, nothing is built.
    tolerance_m2
        Gaps, overlaps and parts outside a parent up to this area are snapped (counted,
        not reported).

    Returns
    -------
    SpaceCheck
        ``clean`` when there is no finding.

    Raises
    ------
    SourceFileError
        A layer cannot be read.
    """
    space = project.config.space
    division_layers = division_units(project)
    read: dict[str, Layer] = {}
    if space.grids is not None:
        read["grids"] = read_layer(project, "grids", space.grids)
    read["buildings"] = read_layer(project, "buildings", space.buildings)
    if space.rooms is not None:
        read["rooms"] = read_layer(project, "rooms", space.rooms)
    counts = division_layers.counts() | {name: _counts(layer) for name, layer in read.items()}
    blank: list[Finding] = []
    if "grids" in read:
        f = read["grids"].features
        missing = f["code"].isna()
        blank += [
            Finding("feature_set_aside", str(label), "grids", None, "key_missing: it has no code")
            for label in f.loc[missing, "feature"]
        ]
        read["grids"] = replace(read["grids"], features=f[~missing])
    divisions = division_layers.units
    grids = None
    if "grids" in read:
        g = read["grids"].features
        community = g["community"] if "community" in g else g["code"].str[:12]
        grids = gpd.GeoDataFrame(
            {"grid_code": g["code"], "community_code": community, "name": g.get("name", "")},
            geometry=g.geometry.values,
            crs=g.crs,
        )
    rooms = read["rooms"].features if "rooms" in read else None
    report = check_topology(
        divisions, grids, read["buildings"].features, rooms, tolerance_m2, project.vocabulary
    )
    report.findings.extend(blank)
    for layer in (*division_layers.layers, *read.values()):
        name = layer.name
        q = layer.quarantine
        aside = q[~q["reason"].isin(LOADED_REASONS)]
        report.findings.extend(
            Finding("feature_set_aside", str(f), name, None, f"{r}: {d}")
            for f, r, d in zip(aside["feature"], aside["reason"], aside["detail"], strict=True)
        )
        # Loaded with a note the data team should see (a parent field that disagrees).
        noted = q[q["reason"].isin(LOADED_REASONS - {"geometry_repaired"})]
        report.findings.extend(
            Finding(str(r), str(f), name, None, str(d))
            for f, r, d in zip(noted["feature"], noted["reason"], noted["detail"], strict=True)
        )
    return SpaceCheck(report, counts, division_layers.dissolved)
