"""District-wide deliveries: the enterprise registry, the housing table and signaling.

The enterprise registry (市场监管) lists every firm registered here; the housing table
(房屋管理) lists rooms, but only for the streets whose housing survey is finished; the
mobile-signaling aggregates count residents, workers and visitors per grid and hour.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from popbase.sample.addresses import FORMAL, AddressStyle
from popbase.sample.departments import AddressWriter
from popbase.sample.dirt import mask

REGISTRY_STYLE = AddressStyle(
    no_city=0.1, no_district=0.05, with_town=0.2, full_width=0.02, spaces=0.01
)
HOURLY_HOME = np.array(
    [
        0.97,
        0.98,
        0.98,
        0.98,
        0.97,
        0.95,
        0.9,
        0.8,
        0.65,
        0.55,
        0.52,
        0.55,
        0.58,
        0.55,
        0.52,
        0.53,
        0.58,
        0.68,
        0.8,
        0.88,
        0.92,
        0.94,
        0.96,
        0.97,
    ]
)
HOURLY_WORK = np.array(
    [
        0.02,
        0.01,
        0.01,
        0.01,
        0.01,
        0.03,
        0.08,
        0.3,
        0.75,
        0.92,
        0.95,
        0.9,
        0.8,
        0.9,
        0.95,
        0.93,
        0.85,
        0.6,
        0.3,
        0.15,
        0.08,
        0.05,
        0.03,
        0.02,
    ]
)
HOURLY_VISIT = np.array(
    [
        0.05,
        0.03,
        0.02,
        0.02,
        0.02,
        0.03,
        0.08,
        0.2,
        0.35,
        0.5,
        0.7,
        0.85,
        0.9,
        0.85,
        0.8,
        0.8,
        0.85,
        0.9,
        1.0,
        0.95,
        0.8,
        0.5,
        0.25,
        0.1,
    ]
)


def enterprise_registry(
    enterprises: pd.DataFrame,
    district: str,
    write_building: AddressWriter,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """The registry's rows: credit code, name, registered address, legal person, status."""
    n = len(enterprises)
    codes = pd.Series(enterprises["credit_code"].to_numpy(), dtype=object)
    last = np.where(codes.str[-1] == "3", "4", "3")
    addr = write_building(enterprises["building_id"].to_numpy(), REGISTRY_STYLE)
    floor = rng.integers(1, 20, n)
    suffix = np.where(mask(n, 0.4, rng), pd.Series(floor.astype(str)) + "层", "")
    return pd.DataFrame(
        {
            "统一社会信用代码": np.where(mask(n, 0.01, rng), codes.str[:-1] + last, codes),
            "企业名称": enterprises["name"].to_numpy(),
            "住所": addr + suffix,
            "法定代表人": enterprises["legal_person"].to_numpy(),
            "成立日期": enterprises["founded"].to_numpy(),
            "所属行业": enterprises["industry"].to_numpy(),
            "登记状态": np.where(mask(n, 0.05, rng), "注销", "存续"),
            "_enterprise_id": enterprises["enterprise_id"].to_numpy(),
            "_building_id": enterprises["building_id"].to_numpy(),
        }
    )


def housing_table(
    rooms: pd.DataFrame,
    streets: list[str],
    write_room: AddressWriter,
    write_building: AddressWriter,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Rooms of the surveyed streets, as the housing department lists them."""
    r = rooms[rooms["community_code"].str[:9].isin(streets)]
    n = len(r)
    return pd.DataFrame(
        {
            "房屋编号": [f"FW{i:09d}" for i in range(1, n + 1)],
            "房屋坐落": write_room(r["room_id"].to_numpy(), FORMAL),
            "楼栋地址": write_building(r["building_id"].to_numpy(), FORMAL),
            "室号": r["room_no"].to_numpy(),
            "所在层": r["floor"].astype(str).to_numpy(),
            "建筑面积": np.round(rng.normal(72, 22, n).clip(18, 260), 2).astype(str),
            "房屋用途": "住宅",
            "_room_id": r["room_id"].to_numpy(),
        }
    )


def signaling(
    grids: pd.Index,
    grid_residents: pd.Series,
    grid_workers: pd.Series,
    grid_visitors: pd.Series,
    day: dt.date,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Grid × hour counts of residents, workers and visitors seen in mobile networks.

    Counts are what an operator's aggregate shows: scaled by market share and phone
    ownership, rounded, and cells under 5 withheld (reported as blank) for privacy.
    """
    # The operator reports every grid, also those where almost no one is seen.
    grids = grids.union(grid_residents.index).union(grid_workers.index).union(grid_visitors.index)
    res = grid_residents.reindex(grids, fill_value=0).to_numpy()
    wrk = grid_workers.reindex(grids, fill_value=0).to_numpy()
    vis = grid_visitors.reindex(grids, fill_value=0).to_numpy()
    g = np.repeat(np.asarray(grids), 24)
    hour = np.tile(np.arange(24), len(grids))
    share = 0.9

    def count(base: np.ndarray, curve: np.ndarray) -> np.ndarray:
        mean = np.repeat(base, 24) * np.tile(curve, len(grids)) * share
        return np.asarray(rng.poisson(mean))

    out = pd.DataFrame(
        {
            "网格编码": g,
            "日期": day.isoformat(),
            "小时": hour,
            "居住人口": count(res, HOURLY_HOME),
            "工作人口": count(wrk, HOURLY_WORK),
            "访客人口": count(vis, HOURLY_VISIT),
        }
    )
    for col in ("居住人口", "工作人口", "访客人口"):
        out[col] = out[col].astype(object).where(out[col] >= 5, "")
    return out
