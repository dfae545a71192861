"""Topology of the division tree and what hangs on it, as pure functions over GeoDataFrames.

The checks (each returns :class:`Finding` objects with an area where it has one, and a
location: a point inside the finding's geometry, in EPSG:4490 lon/lat):

- ``duplicate_code``: two units share a code; ``division_without_parent``: a unit whose
  parent code is not in the layer (the top level of the layer excepted);
- ``child_outside_parent``: the area of a child outside its parent exceeds the tolerance;
- ``gap`` / ``overlap``: children must tile their parent; each polygon of the parent not
  covered by a child, and each polygon covered by two children, above the tolerance;
- buildings placed in committees and grids, rooms checked against their buildings: see
  :mod:`popbase.space.placement`.

Areas are measured in the CGCS2000 Gauss–Krüger zone of the layer (see
:func:`~popbase.space.crs.projected_crs_for`). Gap, overlap and outside polygons at or below
the tolerance are *snapped*: left out of the findings and counted (count and total area)
in :attr:`TopologyReport.snapped`; they include the square-micrometre slivers that floating
point leaves along shared boundaries. Input files are never rewritten. (Overlays are exact:
snapping them to a grid, even of 1 mm, opens slivers of a square metre along kilometre-long
edges.)
"""

from __future__ import annotations

from collections.abc import Iterable

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from popbase.space.crs import GEOGRAPHIC, projected_crs_for
from popbase.space.findings import Finding, TopologyReport
from popbase.space.placement import assign_buildings, check_rooms
from popbase.values.vocabulary import Vocabulary

__all__ = [
    "Finding",
    "TopologyReport",
    "assign_buildings",
    "check_rooms",
    "check_topology",
    "check_tree",
    "units_tree",
]


def _polygons(geom: BaseGeometry | None) -> list[BaseGeometry]:
    """The polygon parts of an overlay result (lines and points where shapes touch dropped)."""
    if geom is None or geom.is_empty:
        return []
    return [p for p in shapely.get_parts(geom) if p.geom_type == "Polygon" and p.area > 0]


class _Snapper:
    """Splits polygons into findings above the tolerance and snapped slivers below it."""

    def __init__(self, tolerance_m2: float, report: TopologyReport) -> None:
        self.tolerance = tolerance_m2
        self.report = report

    def above(self, parts: Iterable[BaseGeometry]) -> list[BaseGeometry]:
        big = []
        for p in parts:
            if p.area > self.tolerance:
                big.append(p)
            else:
                self.report.snapped["count"] += 1
                self.report.snapped["area_m2"] += p.area
        return big


def units_tree(
    divisions: gpd.GeoDataFrame, grids: gpd.GeoDataFrame | None = None
) -> gpd.GeoDataFrame:
    """Divisions and micro-grids as one tree: ``code, name, level, parent_code, geometry``.

    Parameters
    ----------
    divisions
        ``code, name, level, parent_code, geometry`` (see
        :func:`~popbase.space.divisions.division_tree`).
    grids
        ``grid_code, community_code, geometry`` and optionally ``name``; each grid is a
        child of its committee.
    """
    parts = [divisions[["code", "name", "level", "parent_code", "geometry"]]]
    if grids is not None and len(grids):
        parts.append(
            gpd.GeoDataFrame(
                {
                    "code": grids["grid_code"].to_numpy(),
                    "name": grids["name"].to_numpy() if "name" in grids else "",
                    "level": "grid",
                    "parent_code": grids["community_code"].to_numpy(),
                },
                geometry=grids.geometry.values,
                crs=grids.crs,
            )
        )
    tree = pd.concat(parts, ignore_index=True)
    return gpd.GeoDataFrame(tree, geometry="geometry", crs=divisions.crs)


def check_tree(units: gpd.GeoDataFrame, tolerance_m2: float, report: TopologyReport) -> None:
    """Duplicates, orphans, children outside parents, gaps and overlaps, into ``report``."""
    snap = _Snapper(tolerance_m2, report)
    codes = units["code"].astype(str)
    for code, n in codes.value_counts().items():
        if n > 1:
            where = units.geometry[codes == code].iloc[0]
            report.findings.append(
                Finding(
                    "duplicate_code", str(code), detail=f"{n} units have this code", geometry=where
                )
            )
    first = units[~codes.duplicated()].set_index("code")
    top = codes.str.len().min() if len(codes) else 0
    parent_of = units["parent_code"].astype("string")
    orphan = ~parent_of.isin(first.index) & (codes.str.len() > top)
    for _, row in units[orphan.to_numpy()].iterrows():
        report.findings.append(
            Finding(
                "division_without_parent",
                str(row["code"]),
                str(row["parent_code"]),
                detail=f"its parent {row['parent_code']} is not in the layer",
                geometry=row.geometry,
            )
        )
    children = units[parent_of.isin(first.index).to_numpy()]
    for parent, kids in children.groupby("parent_code", sort=True):
        shell = first.loc[parent]
        whole = shell.geometry
        outside = shapely.difference(kids.geometry.values, whole)
        for code, part in zip(kids["code"], outside, strict=True):
            big = snap.above(_polygons(part))
            if big:
                area = float(sum(p.area for p in big))
                report.findings.append(
                    Finding(
                        "child_outside_parent",
                        str(code),
                        str(parent),
                        area,
                        f"{area:,.1f} m² of it lies outside its parent",
                        shapely.union_all(big),
                    )
                )
        union = shapely.union_all(kids.geometry.values)
        gaps = _polygons(shapely.difference(whole, union))
        for gap in snap.above(gaps):
            report.findings.append(
                Finding("gap", str(parent), "", gap.area, "covered by none of its children", gap)
            )
        overlap_m2 = _overlaps(kids, snap, report)
        report.parents.append(
            {
                "code": str(parent),
                "name": str(shell["name"]),
                "level": str(shell["level"]),
                "area_m2": round(whole.area, 2),
                "gap_m2": round(sum(g.area for g in gaps), 2),
                "overlap_m2": round(overlap_m2, 2),
                "children": len(kids),
            }
        )


def _overlaps(kids: gpd.GeoDataFrame, snap: _Snapper, report: TopologyReport) -> float:
    geoms = kids.geometry.values
    left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    keep = left < right
    total = 0.0
    for i, j in zip(left[keep], right[keep], strict=True):
        parts = _polygons(shapely.intersection(geoms[i], geoms[j]))
        total += sum(p.area for p in parts)
        a, b = str(kids["code"].iloc[i]), str(kids["code"].iloc[j])
        for part in snap.above(parts):
            report.findings.append(
                Finding("overlap", a, b, part.area, f"covered by both {a} and {b}", part)
            )
    return total


def check_topology(
    divisions: gpd.GeoDataFrame,
    grids: gpd.GeoDataFrame | None,
    buildings: gpd.GeoDataFrame,
    rooms: pd.DataFrame | None,
    tolerance_m2: float = 1.0,
    vocabulary: Vocabulary | None = None,
) -> TopologyReport:
    """Run every check on layers in any CRS (measured in the layer's projected zone).

    Parameters
    ----------
    divisions
        ``code, name, level, parent_code, geometry``.
    grids
        ``grid_code, community_code, geometry`` (optional ``name``), or None.
    buildings
        ``id``, optional ``use`` and ``floors``, and ``geometry``.
    rooms
        ``building, room_no`` and optional ``floor``, or None to skip the room checks.
    tolerance_m2
        Gaps, overlaps and outside parts up to this area are snapped, not reported.
    vocabulary
        Reads building uses (the shipped vocabulary by default).

    Returns
    -------
    TopologyReport
        Its findings are empty when the layers are clean.
    """
    lon = float(np.nanmean(divisions.to_crs(GEOGRAPHIC).geometry.representative_point().x))
    crs = projected_crs_for(lon if np.isfinite(lon) else 121.0)
    report = TopologyReport(tolerance_m2, crs)
    div = divisions.to_crs(crs)
    grid = None if grids is None else grids.to_crs(crs)
    check_tree(units_tree(div, grid), tolerance_m2, report)
    blds = buildings.to_crs(crs)
    communities = div[div["level"] == "community"]
    for level, units in (("community", communities), ("grid", grid)):
        if units is None or not len(units):
            continue
        units = units.rename(columns={"grid_code": "code"}) if level == "grid" else units
        report.findings.extend(assign_buildings(blds, units, level)[1])
    if rooms is not None:
        report.findings.extend(check_rooms(rooms, blds, vocabulary))
    return report
