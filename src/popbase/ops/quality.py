"""The quality stage and report: how good each source and each community's data is.

Measured per source at build time (table ``quality_sources``):

``validation_rate``
    Accuracy: the share of its rows not set aside by ingest or validation.
``link_rate``
    Accuracy: the share of its addresses matched to a room.
``completeness``
    The share of filled cells over the fields it maps (each field's share is kept too).
``consistency``
    Agreement with the other departments: the share of its person rows whose sex, birth
    date and residence room equal the person's fused values (where the row gives them).
``age_days``
    Timeliness: days from the delivery's as-of date to the project's.
``ids_unrecognised_area``
    Its valid ID numbers whose area code no bundled table lists (a county created or
    renamed since, or a mistyped area in a number whose check digit still holds): kept,
    and counted here for a look.

and per community (table ``quality_units``): residents; the share of residents whose
departments agree on the residence room (``residence_consistency``); the shares with a
known ethnicity (completeness, flagged) and a register household (shown: those registered
elsewhere have none here); the share living in rooms rebuilt from addresses, not in the
housing table (``rebuilt_share``).

``popbase quality PROJECT`` adds the change in residents since the previous snapshot and
the values the build could not read (per source and field, with examples: see
:mod:`popbase.values.records`), and writes ``quality.json`` and ``quality.html``; every
value beyond its threshold (the ``quality:`` section of ``popbase.yaml``) is flagged.
"""

from __future__ import annotations

import datetime as dt
import html
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pandas as pd

from popbase.context import RECORD_TABLES
from popbase.ops.snapshot import SNAPSHOTS, Snapshot, current_snapshot

if TYPE_CHECKING:
    from popbase.config import Project, QualityConfig, SourceConfig
    from popbase.context import BuildContext


def completeness_sql(source: SourceConfig) -> str:
    """One row per mapped field of ``source``: the share of its rows that fill it."""
    table = RECORD_TABLES[source.kind]
    parts = [
        f"SELECT '{field}' AS field, avg((nullif(trim(CAST(\"{field}\" AS VARCHAR)), '') "
        f"IS NOT NULL)::DOUBLE) AS filled FROM {table} WHERE source = '{source.name}'"
        for field in source.columns
    ]
    return " UNION ALL ".join(parts)


def consistency_sql() -> str:
    """Per source: how its person rows agree with the fused person (where they can)."""
    return """
        WITH rows AS (
            SELECT r.source,
                   CASE WHEN r.sex_norm IS NULL THEN NULL ELSE r.sex_norm = g.sex END AS sex_ok,
                   CASE WHEN r.birth_date_norm IS NULL THEN NULL
                        ELSE r.birth_date_norm = CAST(g.birth_date AS DATE) END AS birth_ok,
                   CASE WHEN k.room_id IS NULL OR l.room_id IS NULL THEN NULL
                        ELSE k.room_id = l.room_id END AS room_ok
            FROM person_records_valid r
            JOIN person_members m USING (record_id)
            JOIN persons_golden g ON g.person_id = m.person_id
            LEFT JOIN record_links k
                ON k.record_id = r.record_id AND k.address_kind = 'residence'
            LEFT JOIN lives_in l ON l.person_id = m.person_id
        )
        SELECT source,
               (count(*) FILTER (WHERE sex_ok) + count(*) FILTER (WHERE birth_ok)
                + count(*) FILTER (WHERE room_ok))::DOUBLE
               / nullif(count(sex_ok) + count(birth_ok) + count(room_ok), 0) AS consistency
        FROM rows GROUP BY source
    """


def source_rates_sql(as_of: dt.date) -> str:
    """Per source: validation and link rates, newest as-of date and its age in days."""
    dated = " UNION ALL ".join(f"SELECT source, as_of FROM {t}" for t in RECORD_TABLES.values())
    return f"""
        WITH early AS (
            SELECT source, count(DISTINCT record_id) AS set_aside FROM quarantine
            WHERE stage IN ('ingest', 'validate') GROUP BY source
        ),
        links AS (
            -- Matched to a building (and room where it names one), of the addresses in
            -- the region: a hukou elsewhere in China is not this base's to match.
            SELECT source, count(coalesce(room_id, building_id))::DOUBLE / count(*) AS link_rate
            FROM record_links WHERE coalesce(reason, '') <> 'outside_region' GROUP BY source
        ),
        dates AS (SELECT source, max(as_of) AS as_of FROM ({dated}) GROUP BY source),
        areas AS (
            SELECT source, count(*) FILTER (WHERE id_unrecognised_area) AS unrecognised
            FROM person_records_valid GROUP BY source
        )
        SELECT i.source, i.rows_in,
               1 - coalesce(e.set_aside, 0)::DOUBLE / nullif(i.rows_in, 0) AS validation_rate,
               l.link_rate, strftime(CAST(d.as_of AS DATE), '%Y-%m-%d') AS as_of,
               date_diff('day', CAST(d.as_of AS DATE), DATE '{as_of.isoformat()}') AS age_days,
               coalesce(a.unrecognised, 0) AS ids_unrecognised_area
        FROM rows_in i
        LEFT JOIN areas a USING (source)
        LEFT JOIN early e USING (source)
        LEFT JOIN links l USING (source)
        LEFT JOIN dates d USING (source)
    """


def quality_units_sql() -> str:
    """Per community: residents and how complete and consistent their data is."""
    return """
        CREATE OR REPLACE TABLE quality_units AS
        WITH rooms_of AS (
            SELECT m.person_id, count(DISTINCT k.room_id) AS rooms
            FROM record_links k JOIN person_members m USING (record_id)
            WHERE k.address_kind = 'residence' AND k.room_id IS NOT NULL
            GROUP BY m.person_id
        )
        SELECT r.community_code AS code, count(*) AS resident,
               avg((coalesce(o.rooms, 1) = 1)::DOUBLE) AS residence_consistency,
               avg((f.ethnicity IS NOT NULL)::DOUBLE) AS ethnicity_known,
               avg((f.household_relation IS NOT NULL)::DOUBLE) AS household_known,
               avg((f.room_origin = 'rebuilt')::DOUBLE) AS rebuilt_share
        FROM residents r
        LEFT JOIN rooms_of o USING (person_id)
        LEFT JOIN person_facts f USING (person_id)
        GROUP BY r.community_code
    """


def measure_quality(ctx: BuildContext) -> dict[str, Any]:
    """Write ``quality_sources`` and ``quality_units``."""
    db = ctx.db
    config = ctx.project.config
    as_of = config.project.as_of or dt.date.today()
    rates = db.query_df(source_rates_sql(as_of))
    consistency = db.query_df(consistency_sql())
    fields: dict[str, dict[str, float]] = {}
    for source in config.sources:
        filled = db.query_df(completeness_sql(source))
        fields[source.name] = {
            str(f): round(float(v), 4)
            for f, v in zip(filled["field"], filled["filled"], strict=True)
        }
    table = rates.merge(consistency, on="source", how="left")
    table["completeness"] = table["source"].map(
        lambda s: sum(fields.get(s, {}).values()) / max(len(fields.get(s, {})), 1)
    )
    table["fields"] = table["source"].map(
        lambda s: json.dumps(fields.get(s, {}), ensure_ascii=False)
    )
    db.put("quality_sources", table)
    db.execute(quality_units_sql())
    return {
        "sources": len(table),
        "communities": int(db.scalar("SELECT count(*) FROM quality_units") or 0),
    }


# ---- the report ----

SOURCE_CHECKS = (
    # (column, threshold setting, "min" or "max")
    ("validation_rate", "min_validation_rate", "min"),
    ("link_rate", "min_link_rate", "min"),
    ("completeness", "min_completeness", "min"),
    ("consistency", "min_consistency", "min"),
    ("age_days", "max_age_days", "max"),
)
UNIT_CHECKS = (
    ("residence_consistency", "min_consistency", "min"),
    ("ethnicity_known", "min_completeness", "min"),
    ("change_pct", "max_change_pct", "max_abs"),
)


def previous_snapshot(output_dir: Path, current: Snapshot) -> Snapshot | None:
    """The finished snapshot just before ``current``, if one is kept."""
    folder = output_dir / SNAPSHOTS
    older = sorted(
        p for p in folder.iterdir() if p.is_dir() and "." not in p.name and p.name < current.id
    )
    return Snapshot(older[-1]) if older else None


def _flags(
    row: pd.Series, checks: tuple[tuple[str, str, str], ...], limits: QualityConfig
) -> list[str]:
    out = []
    for column, setting, kind in checks:
        value, limit = row.get(column), getattr(limits, setting)
        if value is None or pd.isna(value):
            continue
        if (
            (kind == "min" and value < limit)
            or (kind == "max" and value > limit)
            or (kind == "max_abs" and abs(value) > limit)
        ):
            out.append(column)
    return out


def quality_report(project: Project) -> dict[str, Any]:
    """The quality report of the current snapshot, with flags and the change since the last."""
    snap = current_snapshot(project.output_dir)
    limits = project.config.quality
    with duckdb.connect(str(snap.base_db), read_only=True) as con:
        sources = con.execute("SELECT * FROM quality_sources ORDER BY source").df()
        units = con.execute(
            "SELECT q.*, u.name FROM quality_units q JOIN units u USING (code) ORDER BY code"
        ).df()
        unreadable = _unreadable(con)
    before = previous_snapshot(project.output_dir, snap)
    units["previous_resident"] = None
    if before is not None:
        with duckdb.connect(str(before.base_db), read_only=True) as con:
            old = con.execute("SELECT code, resident FROM units").df()
        units["previous_resident"] = units["code"].map(old.set_index("code")["resident"])
    previous = pd.to_numeric(units["previous_resident"], errors="coerce")
    units["change_pct"] = (units["resident"] - previous) / previous.where(previous > 0) * 100
    sources["flags"] = [_flags(r, SOURCE_CHECKS, limits) for _, r in sources.iterrows()]
    units["flags"] = [_flags(r, UNIT_CHECKS, limits) for _, r in units.iterrows()]
    return {
        "snapshot": snap.id,
        "previous_snapshot": before.id if before else None,
        "thresholds": limits.model_dump(),
        "sources": _records(sources, fields_json=True),
        "communities": _records(units),
        "unreadable": unreadable,
        "flagged": {
            "sources": int(sum(bool(f) for f in sources["flags"])),
            "communities": int(sum(bool(f) for f in units["flags"])),
        },
    }


def _unreadable(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Values the build could not read, per source (or layer) and field, with examples."""
    known = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'unreadable_values'"
    ).fetchone()
    if not known or not known[0]:
        return []  # a snapshot built before values were counted
    rows = con.execute(
        "SELECT source, field, present, unreadable, examples FROM unreadable_values "
        "ORDER BY stage, source, field"
    ).df()
    out = _records(rows)
    for row in out:
        row["examples"] = json.loads(row["examples"])
        row["share"] = row["unreadable"] / row["present"] if row["present"] else None
    return out


def _records(frame: pd.DataFrame, fields_json: bool = False) -> list[dict[str, Any]]:
    rows = json.loads(frame.to_json(orient="records", force_ascii=False, date_format="iso"))
    if fields_json:
        for row in rows:
            row["fields"] = json.loads(row["fields"])
    return list(rows)


_SOURCE_COLUMNS = (
    ("source", "来源 source"),
    ("rows_in", "行数 rows"),
    ("validation_rate", "校验通过率 validation"),
    ("link_rate", "地址匹配率 link rate"),
    ("completeness", "完整性 completeness"),
    ("consistency", "一致性 consistency"),
    ("as_of", "数据日期 as of"),
    ("age_days", "时效(天) age, days"),
    ("ids_unrecognised_area", "未识别地区码 IDs of unknown area"),
)
_UNIT_COLUMNS = (
    ("code", "代码 code"),
    ("name", "名称 name"),
    ("resident", "实有人口 residents"),
    ("previous_resident", "上期 previous"),
    ("change_pct", "变化% change"),
    ("residence_consistency", "居住地一致性 consistency"),
    ("ethnicity_known", "民族完整性 ethnicity known"),
    ("household_known", "户籍户完整性 household known"),
    ("rebuilt_share", "无房屋台账 rebuilt rooms"),
)


def _cell(value: Any, flagged: bool) -> str:
    if value is None or (isinstance(value, float) and value != value):
        text = "—"
    elif isinstance(value, float):
        text = f"{value:.4f}" if abs(value) <= 1.5 else f"{value:.1f}"
    else:
        text = str(value)
    style = ' class="flag"' if flagged else ""
    return f"<td{style}>{html.escape(text)}</td>"


def _table(rows: list[dict[str, Any]], columns: tuple[tuple[str, str], ...]) -> str:
    head = "".join(f"<th>{html.escape(label)}</th>" for _, label in columns)
    body = "".join(
        "<tr>" + "".join(_cell(r.get(c), c in r.get("flags", [])) for c, _ in columns) + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


_UNREADABLE_COLUMNS = (
    ("source", "来源 source"),
    ("field", "字段 field"),
    ("present", "有值行数 values"),
    ("unreadable", "无法识别 unreadable"),
    ("share", "占比 share"),
    ("examples", "示例 examples"),
)


def _unreadable_html(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "<p>全部可识别 every value was read.</p>"
    shown = [
        {
            **r,
            "examples": "; ".join(
                f"{e['value']} ×{e['rows']} ({e['first']})" for e in r["examples"]
            ),
        }
        for r in rows
    ]
    return (
        "<p>无法识别的值按缺失处理，行仍被接收 (values that could not be read count as "
        "missing; their rows are kept). Fix: correct them in the source, or add the words "
        "to the project's vocabulary file.</p>" + _table(shown, _UNREADABLE_COLUMNS)
    )


def quality_html(report: dict[str, Any], title: str) -> str:
    """The report as one self-contained HTML page (flagged values marked)."""
    thresholds = ", ".join(f"{k} = {v}" for k, v in report["thresholds"].items())
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<title>{html.escape(title)} 数据质量报告 quality report</title>
<style>
body {{ font-family: system-ui, "Noto Sans CJK SC", sans-serif; margin: 2em; }}
table {{ border-collapse: collapse; margin-bottom: 2em; }}
th, td {{ border: 1px solid #ccc; padding: 4px 8px; text-align: right; }}
th {{ background: #f4f4f4; }} td:first-child, td:nth-child(2) {{ text-align: left; }}
td.flag {{ background: #fde0dc; color: #a00; font-weight: bold; }}
</style></head><body>
<h1>{html.escape(title)} 数据质量报告 <small>quality report</small></h1>
<p>快照 snapshot {html.escape(report["snapshot"])}; 上期 previous
{html.escape(str(report["previous_snapshot"] or "—"))}.
标红为低于阈值 (flagged below threshold): {report["flagged"]["sources"]} 个来源 sources,
{report["flagged"]["communities"]} 个社区 communities.
阈值 thresholds: {html.escape(thresholds)}.</p>
<h2>来源 Sources</h2>
{_table(report["sources"], _SOURCE_COLUMNS)}
<h2>无法识别的值 Unreadable values</h2>
{_unreadable_html(report.get("unreadable", []))}
<h2>社区 Communities</h2>
{_table(report["communities"], _UNIT_COLUMNS)}
</body></html>
"""


def write_quality(project: Project, out: Path) -> dict[str, Any]:
    """Write ``quality.json`` and ``quality.html`` into folder ``out``; return the report."""
    report = quality_report(project)
    out.mkdir(parents=True, exist_ok=True)
    (out / "quality.json").write_text(
        json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    (out / "quality.html").write_text(
        quality_html(report, project.config.project.name), encoding="utf-8"
    )
    return report
