"""Geometry repair: fix what is safe to fix, set aside what is not, and say which is which.

Every feature of a layer gets one outcome in a :class:`FeatureLedger`: loaded as read,
loaded after a repair (reported with reason ``geometry_repaired`` and what was done), or
set aside with a reason and not loaded:

=============================== ==============================================================
reason                          what it means
=============================== ==============================================================
``geometry_missing``            no geometry at all (null, blank WKT or lon/lat cells)
``geometry_empty``              an empty geometry
``geometry_unparsable``         WKT or WKB that cannot be read, even with its rings closed
``geometry_invalid_coordinates`` a vertex is NaN or infinite
``geometry_out_of_range``       lon/lat beyond ±180/±90 in a geographic CRS (swapped columns,
                                or a projected file declared geographic)
``geometry_wrong_type``         e.g. a line in a polygon layer
``geometry_unrepairable``       repair keeps less than 99% of the area, or nothing at all
=============================== ==============================================================

Repairs, in order: unclosed rings are closed when the geometry is parsed (see
:func:`parse_wkb`); invalid polygons (self-intersections such as a bow-tie, rings touching
themselves, holes outside their shell) are rebuilt with GEOS ``make_valid`` using the
``structure`` method, kept when the result keeps at least 99% of the polygon's area as GEOS
computes it for the invalid input (a ring that loops over itself twice counts its area
twice, so such a repair is refused); finally rings are reoriented to the OGC/RFC 7946
convention (exterior counter-clockwise, holes clockwise).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Final, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

__all__ = ["FeatureLedger", "GeometryKind", "check_coordinates", "parse_wkb", "parse_wkt"]

GeometryKind = Literal["polygon", "polygon_or_point", "any"]
Geoms = npt.NDArray[np.object_]
Mask = npt.NDArray[np.bool_]

REPAIRED: Final = "geometry_repaired"
KEEP_AREA: Final = 0.99
_TYPES: Final[dict[GeometryKind, tuple[str, ...]]] = {
    "polygon": ("Polygon", "MultiPolygon"),
    "polygon_or_point": ("Polygon", "MultiPolygon", "Point"),
    "any": ("Point", "MultiPoint", "Polygon", "MultiPolygon", "LineString", "MultiLineString"),
}


_TYPE_NAMES: Final = np.array(
    [
        "Point",
        "LineString",
        "LinearRing",
        "Polygon",
        "MultiPoint",
        "MultiLineString",
        "MultiPolygon",
        "GeometryCollection",
    ],
    dtype=object,
)


class FeatureLedger:
    """The geometries of one layer and what happened to each feature.

    Parameters
    ----------
    geometry
        One shapely geometry (or None) per feature.
    """

    def __init__(self, geometry: Geoms) -> None:
        self.geometry = np.asarray(geometry, dtype=object)
        n = len(self.geometry)
        self.reason = np.full(n, None, dtype=object)
        self.detail = np.full(n, None, dtype=object)
        self.repairs: list[list[str]] = [[] for _ in range(n)]

    @property
    def kept(self) -> Mask:
        """Features not set aside."""
        return np.asarray(pd.isna(self.reason))

    def set_aside(self, mask: Mask, reason: str, detail: str | Sequence[str]) -> None:
        """Set aside the features in ``mask`` that are still kept."""
        mask = mask & self.kept
        self.reason[mask] = reason
        self.detail[mask] = detail if isinstance(detail, str) else np.asarray(detail)[mask]

    def repaired(self, mask: Mask, what: str) -> None:
        """Note a repair done on the features in ``mask``."""
        for i in np.flatnonzero(mask):
            self.repairs[i].append(what)

    def outcomes(self) -> pd.DataFrame:
        """One row per repaired or set-aside feature: ``position, reason, detail``."""
        repaired = np.array([bool(r) for r in self.repairs]) & self.kept
        aside = ~self.kept
        rows = np.flatnonzero(repaired | aside)
        return pd.DataFrame(
            {
                "position": rows,
                "reason": [self.reason[i] if aside[i] else REPAIRED for i in rows],
                "detail": [
                    self.detail[i] if aside[i] else "; ".join(self.repairs[i]) for i in rows
                ],
            }
        )


def _parse(values: npt.NDArray[np.object_], reader: str) -> tuple[Geoms, Mask, Mask]:
    """Parse WKB or WKT; return geometries, which needed their rings closed, which failed."""
    parse = shapely.from_wkb if reader == "wkb" else shapely.from_wkt
    present = np.array([v is not None and v == v and v != "" for v in values], dtype=bool)
    geoms = np.full(len(values), None, dtype=object)
    with warnings.catch_warnings():
        # GEOS warns about NaN coordinates; check_coordinates reports them per feature.
        warnings.simplefilter("ignore", RuntimeWarning)
        geoms[present] = parse(values[present], on_invalid="ignore")
        retry = present & pd.isna(geoms)
        if retry.any():
            geoms[retry] = parse(values[retry], on_invalid="fix")
    closed = retry & ~pd.isna(geoms)
    failed = retry & pd.isna(geoms)
    return geoms, closed, failed


def parse_wkb(values: npt.NDArray[np.object_]) -> FeatureLedger:
    """Read WKB into a ledger, closing unclosed rings and setting aside what cannot be read."""
    geoms, closed, failed = _parse(values, "wkb")
    return _ledger(geoms, closed, failed, "WKB")


def parse_wkt(values: npt.NDArray[np.object_]) -> FeatureLedger:
    """Read WKT text into a ledger, closing unclosed rings and setting aside what cannot be read."""
    geoms, closed, failed = _parse(values, "wkt")
    ledger = _ledger(geoms, closed, failed, "WKT")
    bad = np.flatnonzero(failed)
    ledger.detail[bad] = [f"cannot read the WKT {str(values[i])[:60]!r}" for i in bad]
    return ledger


def _ledger(geoms: Geoms, closed: Mask, failed: Mask, what: str) -> FeatureLedger:
    ledger = FeatureLedger(geoms)
    ledger.repaired(closed, "closed an unclosed ring")
    ledger.set_aside(failed, "geometry_unparsable", f"the {what} geometry cannot be read")
    return ledger


def check_coordinates(ledger: FeatureLedger, *, geographic: bool) -> None:
    """Set aside missing, empty, NaN and (geographic CRS) out-of-range geometries."""
    geoms = ledger.geometry
    missing = np.asarray(pd.isna(geoms))
    ledger.set_aside(missing, "geometry_missing", "the feature has no geometry; draw it or drop it")
    present = ~missing
    empty = np.zeros(len(geoms), dtype=bool)
    empty[present] = shapely.is_empty(geoms[present].astype(object))
    ledger.set_aside(empty, "geometry_empty", "the geometry is empty; draw it or drop it")
    kept = np.flatnonzero(ledger.kept)
    xy, owner = shapely.get_coordinates(geoms[kept].astype(object), return_index=True)
    nonfinite = np.bincount(owner, ~np.isfinite(xy).all(axis=1), len(kept)) > 0
    ledger.set_aside(
        _at(len(geoms), kept[nonfinite]),
        "geometry_invalid_coordinates",
        "a vertex has no number (NaN or infinite); fix the vertex in the source file",
    )
    if not geographic:
        return
    with np.errstate(invalid="ignore"):
        outside = (np.abs(xy[:, 0]) > 180) | (np.abs(xy[:, 1]) > 90)
    at = np.flatnonzero(outside)
    far, first = np.unique(owner[at], return_index=True)
    detail = np.full(len(geoms), "", dtype=object)
    detail[kept[far]] = [
        f"lon {x:g}, lat {y:g} is outside ±180/±90 in a geographic CRS; are lon and lat "
        "swapped, or is the file projected? set `crs:` or fix the field mapping"
        for x, y in xy[at[first]]
    ]
    ledger.set_aside(_at(len(geoms), kept[far]), "geometry_out_of_range", list(detail))


def _at(n: int, positions: npt.NDArray[np.intp]) -> Mask:
    mask = np.zeros(n, dtype=bool)
    mask[positions] = True
    return mask


def repair_geometries(ledger: FeatureLedger, kind: GeometryKind, *, report_winding: bool) -> None:
    """Check geometry types, make invalid polygons valid and reorient rings, in place.

    Parameters
    ----------
    ledger
        Geometries already through :func:`check_coordinates`.
    kind
        Which geometry types the layer accepts.
    report_winding
        Report reoriented rings as repairs (False for Shapefiles, whose own convention is
        a clockwise exterior: reorienting those is not a repair).
    """
    geoms = ledger.geometry
    kept = ledger.kept
    types = np.full(len(geoms), None, dtype=object)
    types[kept] = _TYPE_NAMES[shapely.get_type_id(geoms[kept].astype(object))]
    wrong = kept & ~np.isin(types, _TYPES[kind])
    ledger.set_aside(
        wrong,
        "geometry_wrong_type",
        [f"a {t} where the layer takes {' or '.join(_TYPES[kind])}" for t in types],
    )
    polygonal = ledger.kept & np.isin(types, ("Polygon", "MultiPolygon"))
    invalid = np.zeros(len(geoms), dtype=bool)
    invalid[polygonal] = ~shapely.is_valid(geoms[polygonal])
    if invalid.any():
        _make_valid(ledger, invalid)
    polygonal &= ledger.kept
    if polygonal.any():
        oriented = shapely.orient_polygons(geoms[polygonal], exterior_cw=False)
        changed = np.zeros(len(geoms), dtype=bool)
        changed[polygonal] = ~shapely.equals_exact(geoms[polygonal], oriented, tolerance=0)
        geoms[polygonal] = oriented
        if report_winding:
            # make_valid's own ring order is no fault of the source: not reported again.
            ledger.repaired(
                changed & ~invalid, "reoriented rings (exterior counter-clockwise, holes clockwise)"
            )


def _make_valid(ledger: FeatureLedger, invalid: Mask) -> None:
    geoms = ledger.geometry
    before = shapely.area(geoms[invalid])
    reasons = [shapely.is_valid_reason(g) for g in geoms[invalid]]
    fixed = shapely.make_valid(geoms[invalid], method="structure", keep_collapsed=False)
    # Keep the polygonal parts: a collapsed spike becomes a line, which a polygon layer drops.
    fixed = np.array(
        [
            shapely.union_all([p for p in shapely.get_parts(g) if p.geom_type == "Polygon"])
            for g in fixed
        ],
        dtype=object,
    )
    after = shapely.area(fixed)
    share = np.divide(after, before, out=np.ones_like(after), where=before > 0)
    nothing = (after == 0) | shapely.is_empty(fixed)
    lost = ~nothing & (share < KEEP_AREA)
    n = len(geoms)
    positions = np.flatnonzero(invalid)
    ledger.set_aside(
        _at(n, positions[nothing]),
        "geometry_unrepairable",
        _spread(n, positions, [f"{r}; nothing is left once made valid" for r in reasons]),
    )
    ledger.set_aside(
        _at(n, positions[lost]),
        "geometry_unrepairable",
        _spread(
            n,
            positions,
            [
                f"{r}; made valid it keeps only {k:.1%} of its area; redraw it in the source"
                for r, k in zip(reasons, share, strict=True)
            ],
        ),
    )
    good = ~nothing & ~lost
    geoms[positions[good]] = fixed[good]
    for pos, reason in zip(positions[good], np.asarray(reasons, dtype=object)[good], strict=True):
        ledger.repairs[pos].append(f"made valid ({reason})")


def _spread(n: int, positions: npt.NDArray[np.intp], values: list[str]) -> list[str]:
    """``values`` given for ``positions``, as a list over all ``n`` features."""
    out = np.full(n, "", dtype=object)
    out[positions] = values
    return list(out)
