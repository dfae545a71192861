"""Units the division layers lack, made by dissolving their children.

A project's own area (``project.region_code``, e.g. the district 310112) is the top of
every roll-up, the map's outline and the scope of a district officer; yet departments
often deliver only its streets, or only its committees. The roll-ups, the API and the
exports assume the tree district > street > committee > grid, so each unit missing between
the area and the divisions given is made here:

- its **code** is the prefix its children share (a committee 310112001001 lies in the
  street 310112001 and the district 310112), down from the area's own code;
- its **boundary** is the union of its children's: of the streets for the district, or of
  the committees where the streets are missing too (a street dissolved from its committees
  first, then the district from its streets);
- its **name** comes from the bundled NBS tables (统计用区划代码: every county of China,
  Shanghai's streets), else from the name the children give their parent (a committees
  layer's 所属街道), else — for the area itself — from ``project.name``; a street no table
  names keeps its code as its name.

Only units at or below the area are made; divisions outside it are left as they are.
"""

from __future__ import annotations

from typing import Final

import geopandas as gpd
import pandas as pd
import shapely

from popbase.space.divisions import LEVEL_BY_CODE_LENGTH, bundled_division_names, parent_code

__all__ = ["DISSOLVED_COLUMNS", "dissolve_missing", "missing_ancestors"]

DISSOLVED_COLUMNS: Final = ["code", "name", "level", "children", "name_from"]


def missing_ancestors(codes: pd.Series, region: str) -> list[str]:
    """Codes between ``region`` and the divisions ``codes`` that are not among them.

    Deepest first, so that a unit is made before its parent needs it.

    Examples
    --------
    >>> codes = pd.Series(["310112001001", "310112001002", "310112006001", "310112006"])
    >>> missing_ancestors(codes, "310112")
    ['310112001', '310112']
    >>> missing_ancestors(pd.Series(["310112", "310112001"]), "310112")
    []
    """
    have = set(codes)
    lengths = [n for n in sorted(LEVEL_BY_CODE_LENGTH) if n >= len(region)]
    wanted: set[str] = set()
    for code in have:
        if not code.isdigit() or not code.startswith(region):
            continue
        wanted.update(code[:n] for n in lengths if n < len(code))
    return sorted(wanted - have, key=lambda c: (-len(c), c))


def _name_of(code: str, region: str, project_name: str, given: dict[str, str]) -> tuple[str, str]:
    bundled = bundled_division_names()
    found = bundled.loc[bundled["code"] == code, "name"]
    if len(found):
        return str(found.iloc[0]), "bundled"
    if code in given:
        return given[code], "children"
    if code == region and project_name:
        return project_name, "project"
    return code, "code"


def dissolve_missing(
    units: gpd.GeoDataFrame,
    region: str,
    project_name: str = "",
    parent_names: dict[str, str] | None = None,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Add the units missing between ``region`` and the divisions, dissolved from children.

    Parameters
    ----------
    units
        ``code, name, level, parent_code, geometry``, parents by code prefix.
    region
        The project's ``region_code``.
    project_name
        The project's name: the area's own name when no table knows its code.
    parent_names
        Names the divisions give their parents (所属街道), by the parent's code.

    Returns
    -------
    tuple
        The units with the dissolved ones appended, and ``code, name, level, children,
        name_from`` of each dissolved unit (``name_from``: ``bundled``, ``children``,
        ``project`` or ``code``).

    Examples
    --------
    >>> committees = gpd.GeoDataFrame(
    ...     {"code": ["310112001001", "310112001002"], "name": ["北街居委会", "河东居委会"],
    ...      "level": "community", "parent_code": "310112001"},
    ...     geometry=[shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)], crs="EPSG:4490")
    >>> units, made = dissolve_missing(committees, "310112", "闵行区样例")
    >>> made[["code", "name", "level", "children"]].values.tolist()
    [['310112001', '江川路街道', 'street', 2], ['310112', '闵行区', 'district', 1]]
    >>> units.set_index("code").geometry["310112"].area
    2.0
    """
    missing = missing_ancestors(units["code"].astype(str), region)
    if not missing:
        return units, pd.DataFrame(columns=DISSOLVED_COLUMNS)
    given = parent_names or {}
    geometry = dict(zip(units["code"].astype(str), units.geometry.values, strict=True))
    children: dict[str, list[str]] = {}
    for code, parent in zip(units["code"].astype(str), units["parent_code"], strict=True):
        children.setdefault(str(parent), []).append(code)
    rows = []
    for code in missing:  # deepest first: a street is made before its district
        kids = children.get(code, [])
        shape = shapely.union_all([geometry[k] for k in kids])
        geometry[code] = shapely.make_valid(shape) if not shape.is_valid else shape
        up = parent_code(code)
        children.setdefault(str(up), []).append(code)
        name, name_from = _name_of(code, region, project_name, given)
        rows.append((code, name, LEVEL_BY_CODE_LENGTH[len(code)], up, len(kids), name_from))
    made = pd.DataFrame(rows, columns=["code", "name", "level", "parent_code", "children", "from"])
    new = gpd.GeoDataFrame(
        made[["code", "name", "level", "parent_code"]],
        geometry=[geometry[c] for c in made["code"]],
        crs=units.crs,
    )
    report = made.rename(columns={"from": "name_from"})[DISSOLVED_COLUMNS]
    return pd.concat([units, new], ignore_index=True), report
