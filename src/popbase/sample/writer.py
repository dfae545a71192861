"""Writes a sample project folder: basemap, department sources and ground truth.

Rows arrive in chunks (a street at a time) and are appended, so memory stays bounded.
Hidden truth columns (names starting with ``_``) are split off every source chunk into
``truth/records.parquet`` keyed by source and record number.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import shapely

from popbase.io.xlsx import Sheet, write_xlsx
from popbase.space.crs import GEOGRAPHIC

# source name -> (file, encoding, column holding the record number)
CSV_SOURCES: dict[str, tuple[str, str, str]] = {
    "police_hukou": ("sources/police_hukou.csv", "gb18030", "记录号"),
    "health": ("sources/health_records.csv", "utf-8-sig", "记录编号"),
    "civil_affairs": ("sources/civil_affairs.csv", "utf-8", "记录编号"),
    "social_security": ("sources/social_security.csv", "utf-8", "记录编号"),
    "hotline": ("sources/hotline_tickets.csv", "utf-8", "工单编号"),
    "operator_presence": ("sources/operator_night_residence.csv", "utf-8", "序号"),
    "enterprise_registry": ("sources/enterprise_registry.csv", "utf-8", "统一社会信用代码"),
    "housing": ("sources/housing_rooms.csv", "utf-8-sig", "房屋编号"),
    "signaling": ("sources/signaling_grid_hour.csv", "utf-8", ""),
}
LEDGER_DIR = "sources/community_ledgers"
LEDGER_GROUPS = {
    "基本信息": ("姓名", "性别", "公民身份号码", "出生日期", "民族", "联系电话"),
    "居住信息": ("居委会", "居住地址", "居住起始日期", "居住时长（月）"),
    "户籍信息": ("户籍地址", "人户状态"),
}


def _text_column(values: pd.Series) -> pa.Array:
    if values.dtype == object:
        try:
            return pa.array(values.to_numpy(), type=pa.string(), from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            # Mixed text and numbers (counts with blanks for withheld cells).
            return pa.array(["" if v is None else str(v) for v in values], type=pa.string())
    return pa.array(values.astype(str).to_numpy(dtype=object), type=pa.string())


def csv_bytes(df: pd.DataFrame, *, header: bool, encoding: str) -> bytes:
    """Render a frame as CSV bytes in ``encoding`` (a BOM only with the header)."""
    table = pa.table({c: _text_column(df[c]) for c in df.columns})
    sink = io.BytesIO()
    pacsv.write_csv(table, sink, pacsv.WriteOptions(include_header=header, quoting_style="needed"))
    data = sink.getvalue()
    if encoding in ("utf-8", "utf-8-sig"):
        return (b"\xef\xbb\xbf" if header and encoding == "utf-8-sig" else b"") + data
    return data.decode("utf-8").encode(encoding)


def _arrow(df: pd.DataFrame) -> pa.Table:
    return pa.Table.from_pandas(df, preserve_index=False)


class SampleWriter:
    """Appends chunks of a sample city to its project folder.

    Parameters
    ----------
    root
        The project folder to create.
    stamp
        The time written into files that record one (as of the deliveries, not the
        clock), so the same seed gives the same bytes.
    """

    def __init__(self, root: Path, stamp: str = "2026-10-31T00:00:00.000Z") -> None:
        self.root = root
        self.stamp = stamp
        for sub in ("basemap", "sources", LEDGER_DIR, "truth"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        self._parquet: dict[str, pq.ParquetWriter] = {}
        self._started: set[str] = set()
        self._layers: dict[str, list[gpd.GeoDataFrame]] = {}
        self.rows: dict[str, int] = {}

    def __enter__(self) -> SampleWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def truth(self, table: str, df: pd.DataFrame) -> None:
        """Append rows to ``truth/<table>.parquet``."""
        if df.empty and table in self._parquet:
            return
        t = _arrow(df)
        w = self._parquet.get(table)
        if w is None:
            w = pq.ParquetWriter(
                self.root / "truth" / f"{table}.parquet", t.schema, compression="zstd"
            )
            self._parquet[table] = w
        w.write_table(t.cast(w.schema))

    def _split(self, source: str, df: pd.DataFrame, key: str) -> pd.DataFrame:
        hidden = [c for c in df.columns if c.startswith("_")]
        if hidden and key:
            rec = df[[key, *hidden]].rename(columns={key: "record_no"})
            rec.columns = [c.lstrip("_") for c in rec.columns]
            rec.insert(0, "source", source)
            cols = ["person_id", "room_id", "address_kind", "enterprise_id", "building_id"]
            for col in cols:
                if col not in rec:
                    rec[col] = ""
            self.truth("records", rec[["source", "record_no", *cols]].astype(str))
        return df.drop(columns=hidden)

    def source(self, source: str, df: pd.DataFrame) -> None:
        """Append rows to a CSV source in its department's encoding."""
        file, encoding, key = CSV_SOURCES[source]
        out = self._split(source, df, key)
        path = self.root / file
        first = source not in self._started
        self._started.add(source)
        with path.open("wb" if first else "ab") as fh:
            fh.write(csv_bytes(out, header=first, encoding=encoding))
        self.rows[source] = self.rows.get(source, 0) + len(out)

    def ledger(self, street_code: str, street_name: str, as_of: str, df: pd.DataFrame) -> None:
        """Write one street's community ledger workbook (title row + two-row header)."""
        out = self._split("community_ledger", df, "编号")
        top: list[str] = []
        bottom: list[str] = []
        grouped = {c for cols in LEDGER_GROUPS.values() for c in cols}
        for col in out.columns:
            group = next((g for g, cols in LEDGER_GROUPS.items() if col in cols), None)
            if group is None:
                top.append(col)
                bottom.append("")
            else:
                top.append(group if col == LEDGER_GROUPS[group][0] else "")
                bottom.append(col)
        assert grouped <= set(out.columns)

        def rows() -> Iterator[list[str]]:
            values = out.to_numpy(dtype=object)
            for start in range(0, len(values), 50_000):
                yield from values[start : start + 50_000].tolist()

        sheet = Sheet(
            name="居民台账",
            rows=rows(),
            header=[top, bottom],
            title_rows=[f"{street_name}社区居民台账（截至{as_of}）"],
            column_widths=[16, 10, 6, 21, 12, 8, 15, 14, 36, 12, 10, 36, 16, 8],
        )
        write_xlsx(self.root / LEDGER_DIR / f"{street_code}_{street_name}.xlsx", [sheet])
        self.rows["community_ledger"] = self.rows.get("community_ledger", 0) + len(out)

    def layer(self, name: str, gdf: gpd.GeoDataFrame) -> None:
        """Collect a basemap layer chunk (written at close)."""
        self._layers.setdefault(name, []).append(gdf)

    def close(self) -> None:
        """Write basemap layers and finish the Parquet files."""
        for w in self._parquet.values():
            w.close()
        self._parquet.clear()
        for name, parts in self._layers.items():
            gdf = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=parts[0].crs)
            if name == "buildings":
                # The mapping agency delivers buildings in its projected CGCS2000 zone.
                # GDAL stamps GeoPackages with OGR_CURRENT_DATE (else the clock): fixed,
                # the file is the same for the same seed.
                with _gdal_option("OGR_CURRENT_DATE", self.stamp):
                    gdf.to_file(
                        self.root / "basemap" / "buildings.gpkg", driver="GPKG", layer="buildings"
                    )
            else:
                gdf.to_crs(GEOGRAPHIC).to_file(
                    self.root / "basemap" / f"{name}.geojson", driver="GeoJSON"
                )
        self._layers.clear()


@contextmanager
def _gdal_option(name: str, value: str) -> Iterator[None]:
    old = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = old


def as_geoframe(df: pd.DataFrame, crs: str) -> gpd.GeoDataFrame:
    """Wrap a frame with a ``geometry`` column of shapely objects.

    Rings are written in OGC order (exteriors counter-clockwise), as GeoJSON asks.
    """
    geometry = shapely.orient_polygons(np.asarray(df["geometry"]))
    return gpd.GeoDataFrame(df.drop(columns="geometry"), geometry=geometry, crs=crs)
