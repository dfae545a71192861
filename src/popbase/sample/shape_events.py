"""Health and civil-affairs files as departments keep them without a 业务类型 column.

A health bureau's 健康档案 has a column per programme rather than an event type per row:
diseases in 慢病类型 (高血压、糖尿病 in one cell), pregnancy as a 孕产妇 flag (是, or the
registration date written in the cell), births in 服务项目, family doctors as a tick
(√). A civil-affairs bureau writes what a row is about in 人员类别 (新婚, 持证残疾人, 低保对象
…). :func:`events_in_columns` rewrites the sample's two files so, every row where it was,
and the project file's sources to read them (``events:`` and ``tags:``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd
import pyarrow as pa

from popbase.io.tables import read_table
from popbase.sample.writer import csv_bytes
from popbase.values.dates import read_dates

# The civil-affairs event types as a 人员类别 column words them.
CATEGORIES: Final = {
    "婚姻登记": "新婚",
    "残疾人证": "持证残疾人",
    "最低生活保障": "低保对象",
    "养老服务补贴": "养老补贴对象",
    "殡葬服务": "已故",
}


def _source(config: dict[str, Any], name: str) -> dict[str, Any] | None:
    return next((s for s in config["sources"] if s["name"] == name), None)


def _rewrite(path: Path, change: Any) -> None:
    raw = read_table(path)
    frame = raw.frame.astype(object).where(raw.frame.notna(), "")
    frame = change(frame)
    encoding = raw.encoding or "utf-8"
    # Written back as delivered: the same encoding, a byte-order mark if it had one.
    bom = encoding == "utf-8" and path.read_bytes().startswith(b"\xef\xbb\xbf")
    path.write_bytes(csv_bytes(frame, header=True, encoding="utf-8-sig" if bom else encoding))


def _health(frame: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
    kind = frame.pop(columns["event_type"])
    detail, day = columns["event_detail"], columns["event_date"]
    chronic, pregnant = kind == "慢病管理", kind == "孕产妇建册"
    doctor, birth = kind == "家庭医生签约", kind == "出生登记"
    frame["慢病类型"] = np.where(chronic, frame[detail].str.replace(";", "、"), "")
    frame.loc[chronic, detail] = ""
    # Half the pregnancies carry their registration date in the flag cell itself.
    iso = pd.Series(read_dates(pa.array(frame[day], pa.string())).values.to_pylist())
    known = iso.notna().to_numpy()
    dated = pregnant.to_numpy() & (np.arange(len(frame)) % 2 == 0) & known
    parts = iso.fillna("2000-01-01").str.split("-", expand=True).astype(int)
    written = (
        parts[0].astype(str) + "年" + parts[1].astype(str) + "月" + parts[2].astype(str) + "日"
    )
    frame["孕产妇"] = np.where(dated, written.to_numpy(), np.where(pregnant, "是", "否"))
    frame.loc[dated, day] = ""
    frame["服务项目"] = np.where(birth, "出生医学证明", np.where(doctor, "健康体检", ""))
    frame["家庭医生"] = np.where(doctor, "√", "")
    return frame


def events_in_columns(folder: Path, config: dict[str, Any]) -> None:
    """Rewrite ``folder``'s health and civil-affairs files without an event-type column.

    ``config`` (the project file's content) is changed to read their columns instead.
    """
    health = _source(config, "health")
    if health is not None and "event_type" in health["columns"]:
        columns = dict(health["columns"])
        _rewrite(folder / health["path"], lambda f: _health(f, columns))
        del health["columns"]["event_type"]
        health["events"] = [
            {"column": "慢病类型", "event_type": "慢病管理", "values": ["高血压", "糖尿病"]},
            {"column": "孕产妇", "event_type": "孕产妇建册"},
            {"column": "服务项目", "values": {"出生医学证明": "出生登记", "健康体检": None}},
        ]
        health["tags"] = [{"column": "家庭医生", "tag": "family_doctor"}]
    civil = _source(config, "civil_affairs")
    if civil is not None and "event_type" in civil["columns"]:
        column = civil["columns"].pop("event_type")

        def categories(frame: pd.DataFrame) -> pd.DataFrame:
            words = frame.pop(column).map(CATEGORIES).fillna("")
            frame.insert(1, "人员类别", words)
            return frame

        _rewrite(folder / civil["path"], categories)
        civil["events"] = [{"column": "人员类别", "values": {v: k for k, v in CATEGORIES.items()}}]
