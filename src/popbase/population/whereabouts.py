"""Where presence rows place a person: in a grid of the area, away from it, or nowhere.

A source declared ``presence: true`` that maps ``lon`` and ``lat`` gives, per person, a
point where the person is observed to stay — typically an operator's night-time
residence from real-name mobile signaling (运营商实名信令夜间常驻地). Each such row is
placed once:

``here``
    The point lies in a grid of the basemap (or, without grids, in a committee).
``away``
    The point lies outside every unit and farther than :data:`AWAY_METRES` from all of
    them: the person sleeps somewhere else.
``unsure``
    The coordinates are missing or unreadable, or the point lies just outside the area
    (positioning error at the edge): the row says nothing about where the person is.

Rows of presence sources without coordinates (social-security contributions) are not
placed: they show a person in the city, not where they sleep, and are weighed as weak
evidence (see :mod:`popbase.population.residency_rules`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import shapely

from popbase.space.crs import GEOGRAPHIC, projected_crs_for, to_geographic, transform_geometries

if TYPE_CHECKING:
    from popbase.context import BuildContext

# A point outside the area but closer than this to it may be a positioning error of a
# person living at the edge (cell-based positions are good to a few hundred metres).
AWAY_METRES = 1000.0
PLACES = ("here", "away", "unsure")

# Canonical row statuses (see popbase.values.vocabulary) that say a presence-source row is
# no longer active: 暂停, 停保, 中断 (suspended), 终止, 注销 (ended), 死亡, 迁出.
INACTIVE_STATUSES = ("suspended", "ended", "deceased", "moved_out")


def inactive_sql(status: str) -> str:
    """SQL true when the row status ``status`` (read into canonical form) is no longer active.

    >>> inactive_sql("r.person_status")
    "coalesce(r.person_status IN ('suspended', 'ended', 'deceased', 'moved_out'), false)"
    """
    words = ", ".join(f"'{w}'" for w in INACTIVE_STATUSES)
    return f"coalesce({status} IN ({words}), false)"


def located_rows_sql(sources: list[str]) -> str:
    """Active rows of located presence sources, with their person and coordinates."""
    named = ", ".join(f"'{s}'" for s in sources)
    return f"""
        SELECT m.person_id, r.source, r.record_id, m.as_of, r.priority,
               trim(r.lon) AS lon, trim(r.lat) AS lat
        FROM person_records_valid r JOIN person_members m USING (record_id)
        WHERE r.source IN ({named}) AND NOT ({inactive_sql("r.person_status")})
    """


def place_points(
    lon: np.ndarray,
    lat: np.ndarray,
    units: pd.DataFrame,
    away_metres: float = AWAY_METRES,
) -> pd.DataFrame:
    """Place EPSG:4490 points in units: the unit's code, and ``here``/``away``/``unsure``.

    Parameters
    ----------
    lon, lat
        Coordinates in EPSG:4490; NaN where a row has none.
    units
        ``code, community_code, geometry`` (shapely, EPSG:4490) of the smallest units.
    away_metres
        Distance from every unit beyond which a point outside them is ``away``.

    Returns
    -------
    pandas.DataFrame
        ``place, division_code, community_code`` aligned with the points.

    Examples
    --------
    >>> square = shapely.box(121.0, 31.0, 121.01, 31.01)
    >>> units = pd.DataFrame({"code": ["g1"], "community_code": ["c1"], "geometry": [square]})
    >>> place_points(np.array([121.005, 121.5, 121.0105, np.nan]),
    ...              np.array([31.005, 31.5, 31.005, np.nan]), units)["place"].tolist()
    ['here', 'away', 'unsure', 'unsure']
    """
    n = len(lon)
    place = np.full(n, "unsure", dtype=object)
    code = np.full(n, None, dtype=object)
    community = np.full(n, None, dtype=object)
    known = np.isfinite(lon) & np.isfinite(lat)
    if not known.any() or units.empty:
        return pd.DataFrame({"place": place, "division_code": code, "community_code": community})
    idx = np.flatnonzero(known)
    points = shapely.points(lon[idx], lat[idx])
    geoms = np.asarray(units["geometry"].to_numpy(), dtype=object)
    tree = shapely.STRtree(geoms)
    inside, unit = tree.query(points, predicate="within")
    # A point on the border of two units goes to the first.
    first = pd.Series(unit).groupby(inside).first()
    at = idx[first.index.to_numpy()]
    place[at] = "here"
    code[at] = units["code"].to_numpy()[first.to_numpy()]
    community[at] = units["community_code"].to_numpy()[first.to_numpy()]
    outside = np.setdiff1d(idx, at)
    if len(outside):
        crs = projected_crs_for(float(np.nanmean(lon[idx])))
        flat_units = transform_geometries(geoms, GEOGRAPHIC, crs)
        flat_points = transform_geometries(
            shapely.points(lon[outside], lat[outside]), GEOGRAPHIC, crs
        )
        near, _ = shapely.STRtree(flat_units).query(
            flat_points, predicate="dwithin", distance=away_metres
        )
        far = np.setdiff1d(np.arange(len(outside)), near)
        place[outside[far]] = "away"
    return pd.DataFrame({"place": place, "division_code": code, "community_code": community})


def smallest_units(ctx: BuildContext) -> pd.DataFrame:
    """Grids, or committees where the basemap has no grids, with their geometry."""
    db = ctx.db
    units = db.query_df("SELECT grid_code AS code, community_code, geometry FROM grids")
    if units.empty:
        units = db.query_df(
            "SELECT code, code AS community_code, geometry FROM divisions WHERE level = 'community'"
        )
    units["geometry"] = shapely.from_wkb([bytes(g) for g in units["geometry"]])
    return units


def _coordinates(rows: pd.DataFrame, crs_of: dict[str, str]) -> tuple[np.ndarray, np.ndarray]:
    """Row coordinates in EPSG:4490 (NaN where unreadable), each source from its CRS."""
    lon = pd.to_numeric(rows["lon"], errors="coerce").to_numpy(dtype=float, copy=True)
    lat = pd.to_numeric(rows["lat"], errors="coerce").to_numpy(dtype=float, copy=True)
    for source, crs in crs_of.items():
        sel = np.flatnonzero((rows["source"] == source).to_numpy() & np.isfinite(lon + lat))
        if len(sel) == 0:
            continue
        moved = to_geographic(np.asarray(shapely.points(lon[sel], lat[sel]), dtype=object), crs)
        lon[sel] = shapely.get_x(moved)
        lat[sel] = shapely.get_y(moved)
    return lon, lat


def place_presence(ctx: BuildContext) -> dict[str, Any]:
    """Create ``presence_places``: every active located presence row, placed.

    Returns counts of rows per place (``presence_rows_here`` …).
    """
    config = ctx.project.config
    located = [
        s for s in config.sources if s.presence and "lon" in s.columns and "lat" in s.columns
    ]
    columns = ["person_id", "source", "record_id", "as_of", "priority", "place"]
    if not located:
        ctx.db.put(
            "presence_places",
            pd.DataFrame(columns=[*columns, "division_code", "community_code"], dtype=object),
        )
        return {f"presence_rows_{p}": 0 for p in PLACES}
    rows = ctx.db.query_df(located_rows_sql([s.name for s in located]))
    lon, lat = _coordinates(rows, {s.name: s.crs for s in located})
    placed = place_points(lon, lat, smallest_units(ctx))
    out = pd.concat(
        [rows[columns[:-1]].reset_index(drop=True), placed.reset_index(drop=True)], axis=1
    )
    ctx.db.put("presence_places", out)
    return {f"presence_rows_{p}": int((placed["place"] == p).sum()) for p in PLACES}


def says_away_sql(status: str) -> str:
    """SQL true when the household status ``status`` says the person lives elsewhere.

    The status is read into canonical form by the validate stage: ``absent_registered``
    stands for 人不在户在, 外出, 人户分离（外出） and the other words of the vocabulary.

    >>> says_away_sql("r.household_status")
    "coalesce(r.household_status = 'absent_registered', false)"
    """
    return f"coalesce({status} = 'absent_registered', false)"
