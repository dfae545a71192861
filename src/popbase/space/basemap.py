"""The space stage: read the basemap layers a project declares into the build's tables.

Layers come in any format GDAL reads (GeoJSON, GeoPackage, Shapefile), GeoParquet, or
CSV/XLSX with lon/lat or WKT columns, in any CRS; fields are mapped to canonical names in
``popbase.yaml``. Geometry is stored as WKB in EPSG:4490. A division's level follows from
the length of its statistical code (6 district, 9 street/town, 12 committee) unless a
``level`` field is mapped. Each building is placed in the committee (and micro-grid) that
contains its representative point; features without usable geometry are quarantined.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from popbase.config import LayerConfig, Project
from popbase.errors import SourceFileError
from popbase.space.crs import GEOGRAPHIC, projected_crs_for

if TYPE_CHECKING:
    from popbase.pipeline import BuildContext

LEVEL_BY_CODE_LENGTH = {2: "province", 4: "city", 6: "district", 9: "street", 12: "community"}
LAYER_FIELDS: dict[str, dict[str, str]] = {
    "divisions": {"code": "code", "name": "name", "level": "", "parent": ""},
    "grids": {"code": "grid_code", "name": "name", "community": ""},
    "buildings": {"id": "building_id", "address": "address", "use": "use", "floors": "floors"},
    "facilities": {
        "id": "facility_id",
        "name": "name",
        "type": "type",
        "capacity": "capacity",
        "building": "building_id",
        "lon": "lon",
        "lat": "lat",
    },
}


def read_layer(project: Project, name: str, layer: LayerConfig) -> gpd.GeoDataFrame:
    """Read one basemap layer in EPSG:4490 with canonical field names.

    Parameters
    ----------
    project
        The project.
    name
        Layer name (``divisions``, ``grids``, ``buildings``, ``facilities``).
    layer
        Its configuration.

    Returns
    -------
    geopandas.GeoDataFrame
        Canonical fields plus ``geometry``.
    """
    path = project.path(layer.path)
    suffix = path.suffix.lower()
    fields = {**{k: v for k, v in LAYER_FIELDS[name].items() if v}, **layer.fields}
    try:
        if suffix in (".csv", ".xlsx"):
            table = (
                pd.read_csv(path, dtype=str) if suffix == ".csv" else pd.read_excel(path, dtype=str)
            )
            if "wkt" in fields:
                geom = gpd.GeoSeries.from_wkt(table[fields["wkt"]])
            else:
                geom = gpd.points_from_xy(
                    table[fields["lon"]].astype(float), table[fields["lat"]].astype(float)
                )
            gdf = gpd.GeoDataFrame(table, geometry=geom, crs=layer.crs or GEOGRAPHIC)
        elif suffix == ".parquet":
            gdf = gpd.read_parquet(path)
        else:
            gdf = gpd.read_file(path)
    except (OSError, ValueError) as exc:
        raise SourceFileError(
            path,
            f"cannot be read as the {name} layer ({exc})",
            "check the file and its `path:` under space in popbase.yaml",
        ) from exc
    if gdf.crs is None:
        if layer.crs is None:
            raise SourceFileError(
                path,
                f"the {name} layer has no CRS",
                f"set `crs:` (e.g. EPSG:4490) under space.{name} in popbase.yaml",
            )
        gdf = gdf.set_crs(layer.crs)
    missing = [
        col
        for col in fields.values()
        if col not in gdf.columns and col not in ("lon", "lat", "wkt")
    ]
    if missing:
        raise SourceFileError(
            path,
            f"the {name} layer has no field(s) {missing}; it has {list(gdf.columns)}",
            f"map the right field names under space.{name}.fields in popbase.yaml",
        )
    out = gpd.GeoDataFrame(
        {
            canon: gdf[col].astype(str) if canon in ("code", "id", "name", "address") else gdf[col]
            for canon, col in fields.items()
            if col in gdf.columns
        },
        geometry=gdf.geometry.to_crs(GEOGRAPHIC).values,
        crs=GEOGRAPHIC,
    )
    return out


def _repair(gdf: gpd.GeoDataFrame, layer: str, key: str) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Repair invalid geometries where safe; set aside empty or missing ones."""
    geom = gdf.geometry.values
    missing = shapely.is_missing(geom) | shapely.is_empty(geom)
    invalid = ~missing & ~shapely.is_valid(geom)
    repaired = gdf.copy()
    if invalid.any():
        repaired.loc[invalid, "geometry"] = shapely.make_valid(geom[invalid])
    bad = pd.DataFrame(
        {
            "layer": layer,
            "feature": gdf.loc[missing, key].astype(str).to_numpy() if key in gdf else "",
            "reason": "geometry_missing",
            "detail": "the feature has no geometry; draw it or remove it from the layer",
        }
    )
    fixed = pd.DataFrame(
        {
            "layer": layer,
            "feature": gdf.loc[invalid, key].astype(str).to_numpy() if key in gdf else "",
            "reason": "geometry_repaired",
            "detail": "invalid geometry (self-intersection or bad ring) repaired with make_valid",
        }
    )
    return repaired[~missing], pd.concat([bad, fixed], ignore_index=True)


def _area_km2(geom: np.ndarray) -> np.ndarray:
    if len(geom) == 0:
        return np.zeros(0)
    lon = float(np.nanmean(shapely.get_x(shapely.centroid(geom))))
    projected = gpd.GeoSeries(geom, crs=GEOGRAPHIC).to_crs(projected_crs_for(lon))
    return np.asarray(np.round(projected.area.to_numpy() / 1e6, 4))


def _place(points: gpd.GeoDataFrame, areas: gpd.GeoDataFrame, key: str) -> np.ndarray:
    """The ``key`` of the polygon containing each point (None outside all)."""
    if areas.empty or points.empty:
        return np.full(len(points), None, dtype=object)
    joined = gpd.sjoin(
        points[["geometry"]], areas[[key, "geometry"]], how="left", predicate="within"
    )
    joined = joined[~joined.index.duplicated(keep="first")]
    return np.asarray(joined[key].reindex(points.index).to_numpy(dtype=object))


def load_space(ctx: BuildContext) -> dict[str, Any]:
    """Load divisions, grids, buildings and facilities into the build's tables."""
    space = ctx.project.config.space
    divisions, q_div = _repair(
        read_layer(ctx.project, "divisions", space.divisions), "divisions", "code"
    )
    codes = divisions["code"].astype(str)
    level = (
        divisions["level"].astype(str)
        if "level" in divisions
        else codes.str.len().map(LEVEL_BY_CODE_LENGTH)
    )
    parent = (
        divisions["parent"].astype(str)
        if "parent" in divisions
        else codes.str[:-3].where(codes.str.len() > 6, codes.str[:4])
    )
    div = pd.DataFrame(
        {
            "code": codes,
            "name": divisions["name"].astype(str),
            "level": level.fillna("unknown"),
            "parent_code": parent,
            "area_km2": _area_km2(divisions.geometry.values),
            "geometry": shapely.to_wkb(divisions.geometry.values),
        }
    )
    ctx.db.put("divisions", div)
    quarantine = [q_div]
    communities = divisions[level == "community"].rename(columns={"code": "community_code"})
    grids_out = pd.DataFrame(
        columns=["grid_code", "name", "community_code", "area_km2", "geometry"]
    )
    grids = gpd.GeoDataFrame(columns=["grid_code", "geometry"], geometry="geometry", crs=GEOGRAPHIC)
    if space.grids is not None:
        g, q_grid = _repair(read_layer(ctx.project, "grids", space.grids), "grids", "code")
        quarantine.append(q_grid)
        grids = g.rename(columns={"code": "grid_code"})
        community = g["community"].astype(str) if "community" in g else g["code"].str[:12]
        grids_out = pd.DataFrame(
            {
                "grid_code": grids["grid_code"],
                "name": g["name"].astype(str),
                "community_code": community,
                "area_km2": _area_km2(g.geometry.values),
                "geometry": shapely.to_wkb(g.geometry.values),
            }
        )
    ctx.db.put("grids", grids_out)
    b, q_b = _repair(read_layer(ctx.project, "buildings", space.buildings), "buildings", "id")
    quarantine.append(q_b)
    points = gpd.GeoDataFrame(
        geometry=b.geometry.representative_point(), crs=GEOGRAPHIC, index=b.index
    )
    community = _place(points, communities, "community_code")
    grid = _place(points, grids, "grid_code")
    outside = pd.isna(community)
    quarantine.append(
        pd.DataFrame(
            {
                "layer": "buildings",
                "feature": b.loc[outside, "id"].astype(str).to_numpy(),
                "reason": "building_outside_divisions",
                "detail": "the building lies in no committee of the divisions layer; "
                "check its position and CRS",
            }
        )
    )
    buildings = pd.DataFrame(
        {
            "building_id": b["id"].astype(str),
            "address": b["address"].astype(str) if "address" in b else "",
            "use": b["use"].astype(str) if "use" in b else "residential",
            "floors": pd.to_numeric(b["floors"], errors="coerce").astype("Int64")
            if "floors" in b
            else pd.NA,
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
        f = read_layer(ctx.project, "facilities", space.facilities)
        fac = pd.DataFrame(
            {
                "facility_id": f["id"].astype(str),
                "name": f["name"].astype(str),
                "type": f["type"].astype(str) if "type" in f else "",
                "capacity": pd.to_numeric(f["capacity"], errors="coerce")
                if "capacity" in f
                else np.nan,
                "building_id": f["building"].astype(str) if "building" in f else None,
                "lon": shapely.get_x(f.geometry.values),
                "lat": shapely.get_y(f.geometry.values),
            }
        )
        ctx.db.put("facilities", fac)
        n_fac = len(fac)
    q = pd.concat(quarantine, ignore_index=True)
    ctx.db.put("space_quarantine", q)
    return {
        "divisions": len(div),
        "grids": len(grids_out),
        "buildings": int((~outside).sum()),
        "facilities": n_fac,
        "features_quarantined": int((q["reason"] != "geometry_repaired").sum()),
        "geometries_repaired": int((q["reason"] == "geometry_repaired").sum()),
    }
