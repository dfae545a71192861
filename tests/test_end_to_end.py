"""From nothing to a served base: sample, build, eval, then the API, in one go.

Not marked ``slow``: it runs in ``make test`` and takes well under 30 s.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from pathlib import Path

from popbase.config import load_project
from popbase.ops.evaluate import evaluate_project
from popbase.pipeline import run
from popbase.sample.city import SampleOptions, generate_sample

with warnings.catch_warnings():
    # Starlette's TestClient asks for httpx2 and still works with httpx.
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

# Another district than the shared tiny city's (310112), so a second real frame is built.
CITY = SampleOptions(persons=600, seed=11, district="310104", streets=2, communities_per_street=2)
BUDGET_S = 30


def test_sample_build_eval_and_serve(
    tmp_path: Path, signed_in_client: Callable[..., TestClient]
) -> None:
    start = time.perf_counter()
    folder = tmp_path / "xuhui"
    generate_sample(folder, CITY)
    build = run(load_project(folder))
    assert all(a["unaccounted"] == 0 for a in build.report["accounting"].values())
    scores = evaluate_project(load_project(folder))
    assert scores["snapshot"] == build.snapshot.id
    residents = scores["community_residents"]

    output = load_project(folder).output_dir
    with signed_in_client(output, tmp_path / "access", "city_officer", "3101") as client:
        summary = client.get("/api/summary").json()
        levels = {
            level: client.get("/api/units", params={"level": level}).json()["features"]
            for level in ("district", "street", "community")
        }

    assert summary["snapshot"] == build.snapshot.id
    assert summary["region"]["code"] == "310104"
    communities = levels["community"]
    assert len(communities) == residents["communities"] == 4
    served = sum(f["properties"]["resident"] for f in communities)
    assert served == residents["resident_total"] > 0
    assert sum(f["properties"]["resident"] for f in levels["street"]) == served
    [district] = levels["district"]
    assert district["properties"]["code"] == "310104"
    assert district["properties"]["resident"] == served == summary["totals"]["resident"]
    # Every community has its residents from the build and a name from the real frame.
    assert all(f["properties"]["code"].startswith("310104") for f in communities)
    assert all(f["properties"]["name"] for f in communities)

    # The thin build's quality, as a floor that later stages may only raise.
    assert scores["person"]["precision"] >= 0.99
    assert scores["link"]["precision"] >= 0.95
    assert residents["max_abs_pct_error"] < 35
    assert residents["truth_total"] == CITY.persons
    assert time.perf_counter() - start < BUDGET_S
