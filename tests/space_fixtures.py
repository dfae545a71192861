"""Hand-made basemap layers with known defects, and a project file around them.

Coordinates are metres in EPSG:4549 (CGCS2000 Gauss–Krüger, CM 120°E) near Shanghai,
relative to ``ORIGIN``, so every defect's area is known exactly:

- district 310112 = [0, 2000] × [0, 1000]; streets 310112001 (west) and 310112002 (east);
- a **gap**: a 20 m × 30 m notch (600 m²) cut from street 002's north-east corner;
- an **overlap**: street 001 reaches 50 m × 20 m (1,000 m²) into street 002;
- a **stray child**: street 310112003 lies 150 m × 200 m (30,000 m²) east of the district;
- a **sliver**: committee 310112002001 starts 0.5 mm east of its street (0.25 m² gap);
- a building **straddling** committees 310112001001/002 (600 m² / 400 m² of 1,000 m²).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

PROJECTED = "EPSG:4549"
ORIGIN = (620_000.0, 3_450_000.0)


def box(x0: float, y0: float, x1: float, y1: float) -> BaseGeometry:
    """A rectangle in metres from ``ORIGIN``."""
    ox, oy = ORIGIN
    return shapely.box(ox + x0, oy + y0, ox + x1, oy + y1)


NOTCH = box(1980, 970, 2000, 1000)
OVERLAP = box(1000, 0, 1050, 20)
STRAY = box(2000, 400, 2150, 600)
SLIVER = box(1000, 0, 1000.0005, 500)
STRADDLER = box(470, 100, 520, 120)


def divisions() -> gpd.GeoDataFrame:
    east = box(1000, 0, 2000, 1000).difference(NOTCH)
    rows = [
        ("310112", "闵行区", box(0, 0, 2000, 1000)),
        ("310112001", "江川路街道", box(0, 0, 1000, 1000).union(OVERLAP)),
        ("310112002", "古美街道", east),
        ("310112003", "飞地街道", STRAY),
        ("310112001001", "北街居委会", box(0, 0, 500, 1000)),
        ("310112001002", "河东居委会", box(500, 0, 1000, 1000).union(OVERLAP)),
        ("310112002001", "古美一村居委会", box(1000.0005, 0, 2000, 500)),
        ("310112002002", "古美三村居委会", box(1000, 500, 2000, 1000).difference(NOTCH)),
    ]
    return gpd.GeoDataFrame(
        {"code": [r[0] for r in rows], "name": [r[1] for r in rows]},
        geometry=[r[2] for r in rows],
        crs=PROJECTED,
    )


def buildings() -> gpd.GeoDataFrame:
    rows = [
        ("B1", "residential", 6, box(100, 100, 120, 120)),
        ("B2", "residential", 18, STRADDLER),
        ("B3", "school", 4, box(1200, 100, 1240, 140)),
        ("B4", "mixed", 3, shapely.centroid(box(1500, 700, 1510, 710))),  # a point
    ]
    return gpd.GeoDataFrame(
        {
            "building_id": [r[0] for r in rows],
            "use": [r[1] for r in rows],
            "floors": [r[2] for r in rows],
        },
        geometry=[r[3] for r in rows],
        crs=PROJECTED,
    )


def rooms() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "楼栋": ["B1", "B1", "B1", "B3", "ZZ"],
            "室号": ["101", "601", "701", "101", "101"],
            "楼层": ["1", "6", "7层", "1", "1"],
        }
    )


def write_project(folder: Path, space_yaml: str) -> Path:
    """Write ``popbase.yaml`` with the given ``space:`` block and no sources."""
    folder.mkdir(parents=True, exist_ok=True)
    text = f"project:\n  name: 测试\n  region_code: '310112'\nspace:\n{space_yaml}sources: []\n"
    (folder / "popbase.yaml").write_text(text, encoding="utf-8")
    return folder


def broken_city(folder: Path) -> Path:
    """The defective layers written as GPKG/GeoJSON/CSV, with a project file."""
    folder.mkdir(parents=True, exist_ok=True)
    divisions().to_file(folder / "divisions.gpkg", layer="divisions", driver="GPKG")
    buildings().to_crs("EPSG:4326").to_file(folder / "buildings.geojson", driver="GeoJSON")
    rooms().to_csv(folder / "rooms.csv", index=False)
    return write_project(
        folder,
        "  divisions:\n    path: divisions.gpkg\n"
        "  buildings:\n    path: buildings.geojson\n"
        "  rooms:\n    path: rooms.csv\n"
        "    fields: {building: 楼栋, room_no: 室号, floor: 楼层}\n",
    )
