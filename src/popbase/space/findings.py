"""What a topology check finds: located, measured findings and the report that holds them.

See :mod:`popbase.space.topology` for the checks and :mod:`popbase.space.check` for the
command that runs them on a project.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
from shapely.geometry.base import BaseGeometry

from popbase.space.crs import GEOGRAPHIC

__all__ = ["Finding", "TopologyReport"]


@dataclass(frozen=True)
class Finding:
    """One problem, located: ``geometry`` in the projected CRS of the check."""

    kind: str
    code: str
    other: str = ""
    area_m2: float | None = None
    detail: str = ""
    geometry: BaseGeometry | None = None


@dataclass
class TopologyReport:
    """Findings of a topology check, per-parent tiling figures, and snapped slivers."""

    tolerance_m2: float
    crs: str
    parents: list[dict[str, Any]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    snapped: dict[str, float] = field(default_factory=lambda: {"count": 0, "area_m2": 0.0})

    def summary(self) -> dict[str, int]:
        """Findings per kind."""
        counts: dict[str, int] = {}
        for f in self.findings:
            counts[f.kind] = counts.get(f.kind, 0) + 1
        return dict(sorted(counts.items()))

    def findings_frame(self) -> gpd.GeoDataFrame:
        """The findings with their geometry and location, in EPSG:4490."""
        geoms = gpd.GeoSeries([f.geometry for f in self.findings], crs=self.crs).to_crs(GEOGRAPHIC)
        at = geoms.representative_point()
        present = geoms.notna() & ~geoms.is_empty
        return gpd.GeoDataFrame(
            {
                "kind": [f.kind for f in self.findings],
                "code": [f.code for f in self.findings],
                "other": [f.other for f in self.findings],
                "area_m2": [
                    None if f.area_m2 is None else round(f.area_m2, 2) for f in self.findings
                ],
                "lon": np.where(present, np.round(at.x, 7), np.nan),
                "lat": np.where(present, np.round(at.y, 7), np.nan),
                "detail": [f.detail for f in self.findings],
            },
            geometry=geoms.values,
            crs=GEOGRAPHIC,
        )

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON shape: tolerance, parents, findings, summary, snapped."""
        frame = self.findings_frame().drop(columns="geometry")
        findings = [
            {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in row.items()}
            for row in frame.to_dict(orient="records")
        ]
        return {
            "tolerance_m2": self.tolerance_m2,
            "parents": self.parents,
            "findings": findings,
            "summary": self.summary(),
            "snapped": {
                "count": int(self.snapped["count"]),
                "area_m2": round(self.snapped["area_m2"], 4),
            },
        }
