"""The space stage: load the basemap layers a project declares into the build's tables.

Layers are read by :mod:`popbase.space.layers` (any format and CRS, geometry repaired and
stored as WKB in EPSG:4490); the division tree, from one divisions layer or several, by
:mod:`popbase.space.division_layers`, with the units the layers lack between the project's
area and the divisions given dissolved from their children (:mod:`popbase.space.dissolve`);
historical names come from :mod:`popbase.space.divisions`. Each building is placed in the
committee (and micro-grid) its footprint overlaps most (see
:func:`~popbase.space.placement.assign_buildings`; a building given as a point is placed by
that point); ``lon``/``lat`` are a point inside it.
Tables written:

- ``divisions(code, name, level, parent_code, area_km2, geometry)``
- ``grids(grid_code, name, community_code, area_km2, geometry)``
- ``buildings(building_id, address, use, floors, community_code, grid_code,
  division_code, lon, lat, geometry)``; ``use`` is a canonical code of the vocabulary
  (住宅 → ``residential``, 商住 → ``mixed`` …; ``residential`` when the layer has none)
  and ``floors`` a number (12层 → 12); a use, floor count or facility capacity that cannot
  be read is missing and counted in ``unreadable_values``
- ``facilities(facility_id, name, type, capacity, building_id, lon, lat)``
- ``basemap_rooms(room_id, building_id, room_no, floor, area, use)`` when a rooms layer
  is given
- ``division_aliases(alias, code, valid_until, note)``
- ``space_quarantine(layer, feature, reason, detail)``: every repaired feature (still
  loaded) and every feature set aside, so that each feature read is accounted for; a
  list of divisions layers is reported per file (``divisions.0``, ``divisions.1`` …).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from popbase.space.crs import GEOGRAPHIC, projected_crs_for
from popbase.space.division_layers import TREE_COLUMNS, division_units
from popbase.space.divisions import LEVEL_BY_CODE_LENGTH, historical_aliases
from popbase.space.layers import LOADED_REASONS, QUARANTINE_COLUMNS, Layer, read_layer
from popbase.space.placement import assign_buildings, floor_numbers
from popbase.space.room_id import room_ids
from popbase.values.layers import read_layer_values
from popbase.values.unreadable import record_unreadable

if TYPE_CHECKING:
    from popbase.context import BuildContext

__all__ = ["LEVEL_BY_CODE_LENGTH", "load_space"]

REPAIRED: Final = "geometry_repaired"


def _area_km2(geom: npt.NDArray[np.object_]) -> npt.NDArray[np.float64]:
    if len(geom) == 0:
        return np.zeros(0)
    lon = float(np.nanmean(shapely.get_x(shapely.centroid(geom))))
    projected = gpd.GeoSeries(geom, crs=GEOGRAPHIC).to_crs(projected_crs_for(lon))
    return np.asarray(np.round(projected.area.to_numpy() / 1e6, 4))


def _place(buildings: gpd.GeoDataFrame, units: gpd.GeoDataFrame, level: str) -> pd.Series:
    """The code of the unit each building overlaps most (None outside all)."""
    if units.empty or buildings.empty:
        return pd.Series(None, index=buildings.index, dtype=object)
    # Shares of a building's footprint are ratios of areas a few metres apart: lon/lat
    # distortion cancels out, so no projection is needed.
    assigned, _ = assign_buildings(buildings, units, level)
    best = dict(zip(assigned["building_id"], assigned["code"], strict=True))
    placed: pd.Series = buildings["id"].map(best).astype(object)
    return placed


def _set_aside(
    frame: gpd.GeoDataFrame, mask: npt.NDArray[np.bool_], layer: str, reason: str, detail: str
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "layer": layer,
            "feature": frame.loc[mask, "feature"].astype(str).to_numpy(),
            "reason": reason,
            "detail": detail,
        },
        columns=QUARANTINE_COLUMNS,
    )


def _unique(layer: Layer, key: str) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Keep the first feature of each key; set aside later duplicates and blank keys."""
    f = layer.features
    blank = f[key].isna().to_numpy()
    dup = f[key].duplicated(keep="first").to_numpy() & ~blank
    out = [
        _set_aside(f, blank, layer.name, "key_missing", f"the feature has no {key}; fill it in"),
        _set_aside(
            f,
            dup,
            layer.name,
            "duplicate_key",
            f"another feature has the same {key}; the first one is loaded",
        ),
    ]
    return f[~(blank | dup)].reset_index(drop=True), pd.concat(out, ignore_index=True)


def _text_or(frame: pd.DataFrame, column: str, default: object) -> pd.Series | object:
    return frame[column].astype(object) if column in frame else default


def load_space(ctx: BuildContext) -> dict[str, Any]:
    """Load divisions, grids, buildings, facilities and rooms into the build's tables."""
    space = ctx.project.config.space
    project = ctx.project
    counts: dict[str, dict[str, int]] = {}
    quarantine: list[pd.DataFrame] = []

    def take(layer: Layer, key: str | None) -> gpd.GeoDataFrame:
        quarantine.append(layer.quarantine)
        features = layer.features
        if key is not None:
            features, q = _unique(layer, key)
            quarantine.append(q)
        counts[layer.name] = {"read": layer.read}
        return features

    read = division_units(project)
    quarantine.append(read.quarantine)
    counts.update(read.counts())
    units = read.units
    div = pd.DataFrame(units[TREE_COLUMNS]).assign(
        area_km2=_area_km2(units.geometry.values),
        geometry=shapely.to_wkb(units.geometry.values),
    )
    ctx.db.put("divisions", div)
    ctx.db.put("division_aliases", historical_aliases())
    communities = units.loc[units["level"] == "community", ["code", "geometry"]]
    grids = gpd.GeoDataFrame({"code": []}, geometry=[], crs=GEOGRAPHIC)
    grids_out = pd.DataFrame(
        columns=["grid_code", "name", "community_code", "area_km2", "geometry"]
    )
    if space.grids is not None:
        g = take(read_layer(project, "grids", space.grids), "code")
        grids = gpd.GeoDataFrame({"code": g["code"]}, geometry=g.geometry.values, crs=GEOGRAPHIC)
        grids_out = pd.DataFrame(
            {
                "grid_code": g["code"],
                "name": _text_or(g, "name", ""),
                "community_code": g["community"] if "community" in g else g["code"].str[:12],
                "area_km2": _area_km2(g.geometry.values),
                "geometry": shapely.to_wkb(g.geometry.values),
            }
        )
    ctx.db.put("grids", grids_out)

    b = take(read_layer(project, "buildings", space.buildings), "id")
    points = gpd.GeoDataFrame(
        geometry=b.geometry.representative_point(), crs=GEOGRAPHIC, index=b.index
    )
    community = _place(b, communities, "community").to_numpy()
    grid = _place(b, grids, "grid").to_numpy()
    outside = np.asarray(pd.isna(community))
    # Use and floors as canonical text (住宅 → residential, 12层 → 12); unreadable: missing.
    b, unreadable = read_layer_values("buildings", b, "id", ctx.project.vocabulary)
    quarantine.append(
        _set_aside(
            b,
            outside,
            "buildings",
            "building_outside_divisions",
            "the building lies in no committee of the divisions layer; check its position and CRS",
        )
    )
    buildings = pd.DataFrame(
        {
            "building_id": b["id"],
            "address": _text_or(b, "address", ""),
            "use": _text_or(b, "use", "residential"),
            "floors": pd.to_numeric(b["floors"], errors="coerce").astype("Int64")
            if "floors" in b
            else pd.NA,
            "compound": _text_or(b, "compound", ""),
            "community_code": community,
            "grid_code": grid,
            "division_code": np.where(pd.isna(grid), community, grid),
            "lon": shapely.get_x(points.geometry.values),
            "lat": shapely.get_y(points.geometry.values),
            "geometry": shapely.to_wkb(b.geometry.values),
        }
    )[~outside]
    ctx.db.put("buildings", buildings)

    n_fac = 0
    if space.facilities is not None:
        f = take(read_layer(project, "facilities", space.facilities), None)
        f, unread = read_layer_values("facilities", f, "feature", ctx.project.vocabulary)
        unreadable += unread
        at = shapely.point_on_surface(f.geometry.values)
        fac = pd.DataFrame(
            {
                "facility_id": f["id"],
                "name": _text_or(f, "name", ""),
                "type": _text_or(f, "type", ""),
                "capacity": pd.to_numeric(f["capacity"], errors="coerce")
                if "capacity" in f
                else np.nan,
                "building_id": _text_or(f, "building", None),
                "lon": shapely.get_x(at),
                "lat": shapely.get_y(at),
            }
        )
        ctx.db.put("facilities", fac)
        n_fac = len(fac)
    n_rooms = 0
    if space.rooms is not None:
        r = take(read_layer(project, "rooms", space.rooms), None)
        room_id = room_ids(r["building"].astype(str), r["room_no"].astype(str))
        rooms = pd.DataFrame(
            {
                "room_id": r["id"].where(r["id"].notna(), room_id) if "id" in r else room_id,
                "building_id": r["building"],
                "room_no": r["room_no"],
                "floor": floor_numbers(r["floor"]) if "floor" in r else pd.NA,
                "area": pd.to_numeric(r["area"], errors="coerce") if "area" in r else np.nan,
                "use": _text_or(r, "use", None),
            }
        )
        ctx.db.put("basemap_rooms", rooms)
        n_rooms = len(rooms)

    record_unreadable(ctx.db, "space", unreadable)
    q = pd.concat(quarantine, ignore_index=True).astype(object)
    ctx.db.put("space_quarantine", q)
    loaded = {
        "grids": len(grids_out),
        "buildings": len(buildings),
        "facilities": n_fac,
        "rooms": n_rooms,
    }
    for name, n in loaded.items():
        if name in counts:
            mine = q[q["layer"] == name]
            counts[name]["loaded"] = n
            counts[name]["set_aside"] = int((~mine["reason"].isin(LOADED_REASONS)).sum())
            counts[name]["repaired"] = int(mine["reason"].isin(LOADED_REASONS).sum())
    return {
        "divisions": len(div),
        "divisions_dissolved": read.dissolved.to_dict(orient="records"),
        "grids": len(grids_out),
        "buildings": len(buildings),
        "facilities": n_fac,
        "rooms": n_rooms,
        "division_aliases": len(historical_aliases()),
        "features_quarantined": int((~q["reason"].isin(LOADED_REASONS)).sum()),
        "geometries_repaired": int((q["reason"] == REPAIRED).sum()),
        "features_noted": int((q["reason"].isin(LOADED_REASONS - {REPAIRED})).sum()),
        "layers": counts,
        "unreadable": [{k: v for k, v in s.items() if k != "stage"} for s in unreadable],
    }
