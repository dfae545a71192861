"""What a department role sees, audited: no hidden count can be narrowed, no list counts one.

Everything a role subject to suppression can read through the API is collected — units
of every level and measure, tag counts, map layers, buildings and their occupancy, the
quality report — and, with every relation a reader knows between those counts (worked
out here from the served base, not from the suppression's own code), each hidden cell
of 1–10 persons is bounded by linear programming.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pytest

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

from popbase.analysis.measures import MEASURES as UNIT_MEASURES
from popbase.api.people import MAX_TAGS
from popbase.config import load_project
from popbase.ops.snapshot import current_snapshot
from popbase.security.access import load_roles
from popbase.security.disclosure import LARGEST_SUPPRESSED, Cells, Relation
from popbase.security.disclosure_audit import audit

SUPPRESSED = [r.id for r in load_roles().roles if r.suppress_below == "street"]
MEASURES = (*UNIT_MEASURES, "households")
EVERYWHERE = "-180,-90,180,90"
Key = tuple[str, str, str]


def _see(seen: dict[Key, int | None], key: Key, value: int | None) -> None:
    """Record one observation; the same cell must read the same everywhere."""
    if key in seen:
        assert seen[key] == value, (key, seen[key], value)
    seen[key] = value


def collect(client: TestClient, units: pd.DataFrame) -> dict[Key, int | None]:
    """Every count the client's role can read, by cell (None: suppressed)."""
    seen: dict[Key, int | None] = {}
    for level in ("district", "street", "community", "grid"):
        layer = client.get("/api/units", params={"level": level}).json()
        for f in layer["features"]:
            p = f["properties"]
            for m in ("resident", "households"):
                _see(seen, ("unit", p["code"], m), p[m])
    parents = units.loc[units["level"].isin(["district", "street", "community"]), "code"]
    tags = [t["tag"] for t in client.get("/api/tags").json()]
    for code in parents:
        body = client.get("/api/residency", params={"unit": code}).json()
        for row in [body["unit"], *body["children"]]:
            for m in MEASURES:
                _see(seen, ("unit", row["code"], m), row[m])
        detail = client.get(f"/api/units/{code}").json()
        for child in detail["children"]:
            _see(seen, ("unit", child["code"], "resident"), child["resident"])
        for tag in tags:
            crossed = client.get("/api/tags/cross", params={"unit": code, "tags": tag}).json()
            for row in [crossed["unit"], *crossed["children"]]:
                _see(seen, ("unit", row["code"], f"tag:{tag}"), row["persons"])
    layer = client.get("/api/buildings", params={"bbox": EVERYWHERE, "limit": 50000}).json()
    for f in layer["features"]:
        p = f["properties"]
        _see(seen, ("building", p["building_id"], "resident"), p["resident"])
        rooms = client.get(f"/api/buildings/{p['building_id']}/rooms").json()
        for m in ("resident", "households"):
            _see(seen, ("building", p["building_id"], m), rooms[m])
        assert all(r["resident"] is None and r["households"] is None for r in rooms["rooms"])
    for row in client.get("/api/quality").json()["units"]:
        _see(seen, ("unit", row["code"], "resident"), row["resident"])
        # A share times the residents would be a count no suppression decided on.
        assert row["rebuilt_share"] is None and row["household_known"] is None, row
    return seen


def _relate(rels: list[Relation], truth: np.ndarray, total: int, parts: list[int]) -> None:
    """A relation a reader may use: equality where it holds, else ``<=`` where that holds."""
    whole, summed = int(truth[total]), int(truth[parts].sum())
    if parts and summed <= whole:
        rels.append(Relation(total, tuple(parts), equal=summed == whole))


def reader_cells(
    seen: dict[Key, int | None], sql: Callable[[str], pd.DataFrame]
) -> tuple[Cells, np.ndarray, list[Key]]:
    """The seen cells with their true values, what a reader knows of them, and the mask
    of those it sees hidden."""
    keys = sorted(seen)
    at = {k: i for i, k in enumerate(keys)}
    units = sql(f"SELECT code, level, parent_code, {', '.join(MEASURES)} FROM units")
    truth_of: dict[Key, int] = {}
    for row in units.itertuples(index=False):
        for m in MEASURES:
            truth_of[("unit", row.code, m)] = int(getattr(row, m))
    tagged = sql(
        "SELECT u.code, t.tag, count(DISTINCT p.person_id) AS n FROM units u "
        "JOIN persons p ON starts_with(p.division_code, u.code) "
        "JOIN person_tags t USING (person_id) WHERE p.residency_status LIKE 'present%' "
        "GROUP BY ALL"
    )
    for code, tag, n in tagged.itertuples(index=False):
        truth_of[("unit", code, f"tag:{tag}")] = int(n)
    buildings = sql(
        "SELECT building_id, community_code, grid_code, resident, households FROM buildings"
    )
    for row in buildings.itertuples(index=False):
        for m in ("resident", "households"):
            truth_of[("building", row.building_id, m)] = int(getattr(row, m) or 0)
    truth = np.array([truth_of.get(k, 0) for k in keys], dtype=np.int64)
    shown = {k: v for k, v in seen.items() if v is not None}
    assert all(truth[at[k]] == v for k, v in shown.items())  # shown counts are exact
    rels: list[Relation] = []
    measures = sorted({k[2] for k in keys if k[0] == "unit"})
    kids = units.groupby("parent_code")["code"].apply(list).to_dict()
    for parent, children in kids.items():
        for m in measures:
            if ("unit", parent, m) in at:
                parts = [at[("unit", c, m)] for c in children if ("unit", c, m) in at]
                _relate(rels, truth, at[("unit", parent, m)], parts)
    for code in units["code"]:
        row = {m: at.get(("unit", code, m)) for m in measures}
        if row.get("resident") is None:
            continue
        pairs = [("resident", ["usual_resident", "floating"]), ("resident", ["households"])]
        pairs += [("registered", ["absent", "unknown"])]
        pairs += [("resident", [m]) for m in measures if m.startswith("tag:")]
        for total, parts in pairs:
            if row.get(total) is not None and all(row.get(p) is not None for p in parts):
                _relate(rels, truth, row[total], [row[p] for p in parts])  # type: ignore[misc]
    for m in ("resident", "households"):
        for column in ("community_code", "grid_code"):
            for unit, group in buildings.groupby(column):
                parts = [at[("building", b, m)] for b in group["building_id"]]
                if ("unit", unit, m) in at:
                    _relate(rels, truth, at[("unit", unit, m)], parts)
    for b in buildings["building_id"]:
        _relate(rels, truth, at[("building", b, "resident")], [at[("building", b, "households")]])
    # A reader sees each street's count of a measure: no cell inside can hold more.
    street_of = dict(
        zip(buildings["building_id"], buildings["community_code"].str[:9], strict=True)
    )
    ceiling = np.full(len(keys), np.inf)
    for i, (kind, code, m) in enumerate(keys):
        street = code[:9] if kind == "unit" else street_of.get(code, "")
        top = seen.get(("unit", street, m))
        if top is not None and len(code) > 9:
            ceiling[i] = top
    hidden = np.array([seen[k] is None for k in keys])
    return Cells(truth, np.ones(len(keys), dtype=bool), rels, ceiling), hidden, keys


@pytest.fixture(scope="module")
def units(served_sql: Callable[[str], pd.DataFrame]) -> pd.DataFrame:
    return served_sql("SELECT code, level, parent_code FROM units ORDER BY code")


@pytest.mark.parametrize("role", SUPPRESSED)
def test_no_hidden_count_can_be_narrowed_from_what_a_department_sees(
    role: str,
    served_project: Path,
    served_sql: Callable[[str], pd.DataFrame],
    signed_in_client: Callable[..., TestClient],
    units: pd.DataFrame,
    tmp_path: Path,
) -> None:
    with signed_in_client(served_project, tmp_path, role, "3101") as client:
        seen = collect(client, units)
    cells, hidden, keys = reader_cells(seen, served_sql)
    below = np.array([k[0] == "building" or len(k[1]) > 9 for k in keys])
    small = (cells.values >= 1) & (cells.values <= LARGEST_SUPPRESSED)
    assert not (below & small & ~hidden).any()  # no count of 1-10 shown below the floor
    assert not (hidden & ~below).any()  # streets and the district stay whole
    primary = int((hidden & small).sum())
    assert primary > 20
    # Hiding the small cells alone would give some away: the audit has work to do here.
    assert audit(cells, below & small).exposures
    exposed = {keys[e.cell] for e in audit(cells, hidden).exposures}
    # Only what no suppression could hide: cells whose street's count gives them away.
    everything = audit(cells, below.copy()).exposures
    assert exposed <= {keys[e.cell] for e in everything}, sorted(exposed)[:5]
    assert len(exposed) <= len(everything)


def test_departments_get_no_list_below_the_floor_and_residences_only_down_to_it(
    served_project: Path,
    signed_in_client: Callable[..., TestClient],
    units: pd.DataFrame,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("POPBASE_EXPORT_KEY", "k" * 64)
    committee = units.loc[units["level"] == "community", "code"].iloc[0]
    street = committee[:9]
    with signed_in_client(served_project, tmp_path, "civil_affairs", "3101") as client:
        for path, params in (
            ("/api/persons", {"unit": committee}),
            ("/api/persons", {"unit": committee, "tags": "elderly"}),
            ("/api/persons", {"unit": street + "0"}),  # any prefix finer than a street
            ("/api/extracts", {"unit": committee, "purpose": "高龄老人走访"}),
        ):
            r = client.get(path, params=params)
            assert r.status_code == 403, (path, params, r.text)
            assert "below street level" in r.json()["detail"]
        listed = client.get("/api/persons", params={"unit": street, "limit": 1000}).json()
        assert listed["count"] > 0
        persons: list[dict[str, Any]] = listed["persons"]
        one = client.get(f"/api/persons/{persons[0]['person_id']}").json()
        for p in [*persons, one]:
            assert p["division_code"] is None or len(p["division_code"]) <= 9, p
            assert p["room_id"] is None, p
        extract = client.get("/api/extracts", params={"unit": street, "purpose": "高龄老人走访"})
        assert extract.status_code == 200
        rows = extract.content.decode("utf-8-sig").splitlines()
        header = rows[0].split(",")
        codes = [r.split(",")[header.index("division_code")] for r in rows[1:]]
        assert codes and all(len(c) <= 9 for c in codes)
    with signed_in_client(served_project, tmp_path, "community_worker", committee) as client:
        # A committee's own officer is not suppressed: its list and codes stay whole.
        mine = client.get("/api/persons", params={"unit": committee}).json()["persons"]
        assert mine and all(len(p["division_code"]) > 12 for p in mine if p["division_code"])


def test_too_many_tags_are_refused_with_a_clear_message(
    served_project: Path, signed_in_client: Callable[..., TestClient], tmp_path: Path
) -> None:
    many = ",".join(["elderly"] * 1000)
    with signed_in_client(served_project, tmp_path, "city_officer", "3101") as client:
        for path, params in (
            ("/api/persons", {"tags": many}),
            ("/api/tags/cross", {"unit": "3101", "tags": many}),
        ):
            r = client.get(path, params=params)
            assert r.status_code == 422, r.text
            assert f"more than the {MAX_TAGS}" in r.json()["detail"]
        enough = ",".join(["elderly"] * MAX_TAGS)
        assert client.get("/api/persons", params={"tags": enough}).status_code == 200


def test_the_api_reads_the_suppression_the_snapshot_published(
    copy_city: Callable[..., Path],
    signed_in_client: Callable[..., TestClient],
    tmp_path: Path,
) -> None:
    output = load_project(copy_city()).output_dir
    db = current_snapshot(output).base_db
    with duckdb.connect(str(db)) as con:
        figures = con.execute(
            "SELECT count(*) FILTER (WHERE hidden), count(*) FROM disclosure_cells "
            "WHERE floor = 'street'"
        ).fetchone()
        assert figures is not None and 0 < figures[0] < figures[1]
        # A committee the decision shows: hide it in the published decision.
        [(code, value)] = con.execute(
            "SELECT code, value FROM disclosure_cells WHERE floor = 'street' AND kind = 'unit' "
            "AND measure = 'resident' AND NOT hidden AND length(code) = 12 ORDER BY code LIMIT 1"
        ).fetchall()
        con.execute(
            "UPDATE disclosure_cells SET hidden = true WHERE floor = 'street' AND code = ? "
            "AND measure = 'resident'",
            [code],
        )
    with signed_in_client(output, tmp_path, "health", "3101") as client:
        layer = client.get("/api/units", params={"level": "community"}).json()
        shown = {f["properties"]["code"]: f["properties"]["resident"] for f in layer["features"]}
        assert value > 0 and shown[code] is None
    with duckdb.connect(str(db)) as con:
        con.execute("DROP TABLE disclosure_cells")
    # Without a published decision nothing below the floor is shown; streets still are.
    with signed_in_client(output, tmp_path / "again", "health", "3101") as client:
        for level, whole in (("community", False), ("grid", False), ("street", True)):
            layer = client.get("/api/units", params={"level": level}).json()
            values = [f["properties"]["resident"] for f in layer["features"]]
            assert values and all((v is not None) == whole for v in values), level
