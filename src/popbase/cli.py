"""The ``popbase`` command line: a thin Typer shell over the public API."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from typer.core import TyperGroup

from popbase.errors import PopbaseError

app = typer.Typer(
    help="popbase: a household-precise population base (精细化人口底数) for a city's digital twin.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True)


@app.callback()
def _private_files() -> None:
    """Files popbase writes (snapshots, users, audit trail) are their owner's alone.

    The build, the server and the users commands all handle residents' identities or
    password hashes: the umask 077 of the process makes every file they create ``0600``.
    """
    import os

    from popbase.ops.snapshot import PRIVATE_UMASK

    os.umask(PRIVATE_UMASK)


def _fail(exc: BaseException) -> typer.Exit:
    notes = "".join(f" {n}" for n in getattr(exc, "__notes__", []))
    console.print(f"[bold red]error:[/] {escape(str(exc) + notes)}", soft_wrap=True)
    return typer.Exit(code=1)


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


@app.command()
def sample(
    out: Annotated[Path, typer.Argument(help="Folder to write the sample project into")],
    persons: Annotated[int, typer.Option(help="Residents in all")] = 50_000,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same city")] = 0,
    district: Annotated[
        str, typer.Option(help="Shanghai district code (e.g. 310112), or 'all' for all 16")
    ] = "310112",
    streets: Annotated[
        int | None, typer.Option(help="Keep only the first N streets (small test cities)")
    ] = None,
    communities_per_street: Annotated[
        int | None, typer.Option(help="Keep only the first N committees of each street")
    ] = None,
    as_of: Annotated[str, typer.Option(help="Date the deliveries describe (YYYY-MM-DD)")] = (
        "2026-10-31"
    ),
    shape: Annotated[
        str,
        typer.Option(
            help="Deliver the city in another shape: 'random' (drawn with the seed), or "
            "settings such as 'columns=pinyin,dates=chinese,encoding=gb18030,header=title,"
            "file_format=xlsx,buildings=points,buildings_crs=GCJ-02,without=grids+hotline'"
        ),
    ] = "as_delivered",
    dirt: Annotated[
        str,
        typer.Option(
            help="How dirty the department records are: 'light', 'default' or 'heavy' "
            "(typos, missing fields, stale rows, informal addresses, missing IDs)"
        ),
    ] = "default",
) -> None:
    """Generate a sample city: basemap, department sources and ground truth."""
    import shutil
    import tempfile

    from popbase.sample.city import SampleOptions, generate_sample
    from popbase.sample.profiles import dirt_profile
    from popbase.sample.shapes import Shape, write_shape

    try:
        dirt_profile(dirt)  # refused before the progress bar starts
        shaped = Shape.draw(seed) if shape == "random" else Shape.parse(shape)
        opts = SampleOptions(
            persons=persons,
            seed=seed,
            district=district,
            streets=streets,
            communities_per_street=communities_per_street,
            as_of=dt.date.fromisoformat(as_of),
            dirt=dirt,
        )
        with _progress() as bar:
            task = bar.add_task("sample", total=None)

            def tick(what: str, done: int, total: int) -> None:
                bar.update(task, description=f"sample · {what}", completed=done, total=total)

            if shaped == Shape():
                summary = generate_sample(out, opts, progress=tick)
            else:
                if out.exists() and any(out.iterdir()):
                    raise FileExistsError(f"{out} is not empty; choose a new folder")
                out.parent.mkdir(parents=True, exist_ok=True)
                with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
                    summary = generate_sample(Path(tmp) / "city", opts, progress=tick)
                    shutil.rmtree(out, ignore_errors=True)
                    write_shape(Path(tmp) / "city", out, shaped)
                console.print(f"delivered as: {shaped.name}")
    except (PopbaseError, FileExistsError, ValueError) as exc:
        raise _fail(exc) from None
    rows = summary["source_rows"]
    assert isinstance(rows, dict)
    console.print(f"[green]wrote[/] {out}: " + ", ".join(f"{k} {v:,}" for k, v in rows.items()))


@app.command()
def init(
    project: Annotated[Path, typer.Argument(help="Project folder to write popbase.yaml into")],
    sources: Annotated[
        list[Path] | None,
        typer.Option(
            "--from",
            help="Folder of delivered files (repeat for several); the project folder by default",
        ),
    ] = None,
    force: Annotated[bool, typer.Option(help="Overwrite an existing popbase.yaml")] = False,
) -> None:
    """Guess popbase.yaml from a folder of delivered tables and map layers.

    Reads the header and first rows of every CSV/TSV/XLSX/Parquet table and every
    GeoJSON/GeoPackage/Shapefile layer, and writes a commented project file whose every
    guess is marked for you to confirm.
    """
    from popbase.guess import init_project

    try:
        written, _, summary = init_project(project, list(sources or []), force=force)
    except PopbaseError as exc:
        raise _fail(exc) from None
    out = Console()
    out.print(f"[green]wrote[/] {escape(str(written))}", soft_wrap=True)
    sections = (
        ("mapped", summary.mapped),
        ("to check (marked CHECK in the file)", summary.to_check),
        ("left out", summary.left_out),
    )
    for title, lines in sections:
        out.print(f"[bold]{title}[/] ({len(lines)})")
        for line in lines[:12]:
            out.print(f"  {escape(line)}", soft_wrap=True)
        if len(lines) > 12:
            out.print(f"  … {len(lines) - 12} more, listed in the file")
    out.print("every other guess is marked [bold]confirm[/] in the file; then run:")
    for command in ("check space", "build"):
        out.print(f"  popbase {command} {escape(str(project))}", soft_wrap=True)


@app.command()
def build(
    project: Annotated[Path, typer.Argument(help="Project folder (with popbase.yaml)")],
    accept_partial: Annotated[
        list[str] | None,
        typer.Option(
            "--accept-partial",
            metavar="SOURCE",
            help="Publish even though SOURCE delivered nothing or far less than the served "
            "snapshot holds (repeat for more sources; `all` for every source)",
        ),
    ] = None,
) -> None:
    """Build a new snapshot of the base and switch `current` to it."""
    from popbase.config import load_project
    from popbase.pipeline import run

    try:
        proj = load_project(project)
        with _progress() as bar:
            tasks: dict[str, TaskID] = {}

            def tick(stage: str, done: int, total: int) -> None:
                if stage not in tasks:
                    tasks[stage] = bar.add_task(stage, total=total)
                bar.update(tasks[stage], completed=done, total=total)

            result = run(proj, progress=tick, accept_partial=accept_partial or ())
    except PopbaseError as exc:
        raise _fail(exc) from None
    _print_accounting(result.report["accounting"])
    _warn_unreadable(result.report)
    _warn_partial(result.report)
    _warn_unprotectable(result.report)
    console.print(f"[green]snapshot[/] {result.snapshot.id} is now current")


def _warn_partial(report: dict[str, Any]) -> None:
    """One warning per source published by ``--accept-partial`` despite its shortfall."""
    for s in report.get("deliveries", {}).get("accepted_partial", []):
        console.print(
            f"[yellow]warning:[/] source {escape(s['source'])!r} published as accepted "
            f"(--accept-partial): {escape(s['problem'])}",
            soft_wrap=True,
        )


def _warn_unprotectable(report: dict[str, Any]) -> None:
    """One warning per disclosure floor with hidden cells a reader could narrow."""
    for floor, figures in report.get("publish", {}).get("disclosure", {}).items():
        if figures.get("unprotectable"):
            named = "; ".join(figures.get("exposed", []))
            console.print(
                f"[yellow]warning:[/] {figures['unprotectable']} hidden count(s) under the "
                f"disclosure floor {floor!r} can be narrowed below 0–11 persons by a reader "
                f"of what is shown ({escape(named)}). Fix: none needed to serve; check the "
                "units named before handing department roles their counts.",
                soft_wrap=True,
            )


def _warn_unreadable(report: dict[str, Any]) -> None:
    """One warning per source and field with values that could not be read."""
    from popbase.values.unreadable import unreadable_in_report, unreadable_warning

    for summary in unreadable_in_report(report):
        console.print(f"[yellow]warning:[/] {escape(unreadable_warning(summary))}", soft_wrap=True)


def _print_unreadable(report: dict[str, Any]) -> None:
    from popbase.values.unreadable import unreadable_in_report

    summaries = unreadable_in_report(report)
    if not summaries:
        return
    table = Table(title="values that could not be read (counted as missing)")
    for col in ("source", "field", "present", "unreadable", "examples"):
        table.add_column(col, justify="right" if col in ("present", "unreadable") else "left")
    for s in summaries:
        examples = ", ".join(f"{e['value']} ({e['rows']:,})" for e in s["examples"])
        table.add_row(
            s["source"], s["field"], f"{s['present']:,}", f"{s['unreadable']:,}", escape(examples)
        )
    console.print(table)


def _print_accounting(accounting: dict[str, dict[str, object]]) -> None:
    table = Table(title="record accounting")
    for col in ("source", "rows in", "accepted", "merged", "quarantined", "unaccounted"):
        table.add_column(col, justify="right" if col != "source" else "left")
    for source, a in accounting.items():
        table.add_row(
            source,
            *(f"{a[k]:,}" for k in ("rows_in", "accepted", "merged", "quarantined", "unaccounted")),
        )
    console.print(table)


@app.command()
def report(
    project: Annotated[Path, typer.Argument(help="Project folder")],
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Also write the report here")
    ] = None,
    quarantine: Annotated[
        Path | None,
        typer.Option(
            "--quarantine",
            help="Write every quarantined row, as delivered, with its reason (.xlsx or .csv)",
        ),
    ] = None,
) -> None:
    """Show the record accounting of the current snapshot and the values it could not read."""
    from popbase.config import load_project
    from popbase.ops.quarantine import work_database, write_quarantine
    from popbase.ops.snapshot import current_snapshot

    try:
        snap = current_snapshot(load_project(project).output_dir)
        work_db = work_database(snap) if quarantine else None
    except PopbaseError as exc:
        raise _fail(exc) from None
    data = snap.report()
    _print_accounting(data["accounting"])
    _print_unreadable(data)
    if json_out:
        json_out.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    if quarantine and work_db:
        try:
            counts = write_quarantine(work_db, quarantine)
        except ValueError as exc:
            raise _fail(exc) from None
        console.print(f"{sum(counts.values()):,} quarantine entries written to {quarantine}")


class _ProjectByDefault(TyperGroup):
    """``popbase eval PROJECT`` scores a project; ``popbase eval address …`` a corpus."""

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["project", *args]
        return super().resolve_command(ctx, args)


eval_app = typer.Typer(
    cls=_ProjectByDefault,
    help="Score the current snapshot (popbase eval PROJECT) or the address parser on a corpus.",
    no_args_is_help=True,
)
app.add_typer(eval_app, name="eval")


@eval_app.command(name="project")
def evaluate(
    project: Annotated[Path, typer.Argument(help="Sample project folder (with truth/)")],
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the scores here")] = None,
) -> None:
    """Score the current snapshot against the sample's ground truth.

    Prints the headline scores; ``--json`` writes every score (per source, status and tag).
    """
    from popbase.config import load_project
    from popbase.ops.evaluate import evaluate_project, headline_scores
    from popbase.ops.evaluate_residency import rule_rows

    try:
        scores = evaluate_project(load_project(project))
    except PopbaseError as exc:
        raise _fail(exc) from None
    if json_out:
        json_out.write_text(json.dumps(scores, ensure_ascii=False, indent=2), encoding="utf-8")
    table = Table(title=f"scores of snapshot {scores['snapshot']} against the sample's truth")
    table.add_column("measure")
    table.add_column("score", justify="right", no_wrap=True)
    for measure, value in headline_scores(scores):
        table.add_row(measure, value)
    rules = Table(title="residency rules: persons each decided, and how often rightly")
    for column in ("rule", "persons", "status precision", "room precision"):
        rules.add_column(column, justify="left" if column == "rule" else "right")
    for row in rule_rows(scores["residency"]):
        rules.add_row(*row)
    if json_out is None:
        rules.caption = "every score: popbase eval PROJECT --json FILE"
    out = Console(width=max(console.width, 100))
    out.print(table)
    out.print(rules)


@app.command()
def serve(
    project: Annotated[Path, typer.Argument(help="Project folder")],
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 8000,
    workers: Annotated[
        int, typer.Option(min=1, help="Server processes (one per core serves the most requests)")
    ] = 1,
) -> None:
    """Serve the API and the map dashboard for the current snapshot."""
    from popbase.api.server import serve as run_server
    from popbase.config import load_project

    try:
        proj = load_project(project)
    except PopbaseError as exc:
        raise _fail(exc) from None
    console.print(
        f"[bold green]popbase[/] serving {proj.config.project.name} on http://{host}:{port}"
    )
    console.print(f"  map: http://{host}:{port}/   API docs: http://{host}:{port}/docs")
    try:
        run_server(proj, host=host, port=port, workers=workers)
    except PopbaseError as exc:
        raise _fail(exc) from None


@app.command()
def cypher(
    project: Annotated[Path, typer.Argument(help="Project folder")],
    query: Annotated[str, typer.Argument(help='Read-only Cypher, e.g. "MATCH (d:Division) …"')],
    param: Annotated[
        list[str] | None,
        typer.Option("--param", "-p", help="Query parameter name=value ($name in the query)"),
    ] = None,
    output: Annotated[str, typer.Option("--format", "-f", help="table, csv or json")] = "table",
) -> None:
    """Run a read-only Cypher query on the current snapshot's graph and print the rows."""
    from popbase.config import load_project
    from popbase.ops.cypher import parse_params, run_cypher

    if output not in ("table", "csv", "json"):
        raise _fail(ValueError(f"--format {output!r}: use table, csv or json"))
    try:
        rows = run_cypher(load_project(project).output_dir, query, parse_params(param or []))
    except (PopbaseError, ValueError) as exc:
        raise _fail(exc) from None
    if output == "csv":
        sys.stdout.write(rows.to_csv(index=False))
    elif output == "json":
        sys.stdout.write(rows.to_json(orient="records", force_ascii=False, date_format="iso"))
        sys.stdout.write("\n")
    else:
        table = Table(*[str(c) for c in rows.columns])
        for values in rows.itertuples(index=False):
            table.add_row(*["" if v is None or v != v else escape(str(v)) for v in values])
        Console().print(table)
        console.print(f"{len(rows):,} rows")


@app.command()
def export(
    project: Annotated[Path, typer.Argument(help="Project folder")],
    out: Annotated[Path, typer.Option("--out", help="File to write")],
    level: Annotated[str, typer.Option(help="district, street, community or grid")] = "community",
    fmt: Annotated[str, typer.Option("--format", help="gpkg, geoparquet or csv")] = "gpkg",
    labels: Annotated[
        str, typer.Option(help="Field names: en (code, resident …) or zh (区划代码, 实有人口 …)")
    ] = "en",
) -> None:
    """Write one row per unit of a level, with its counts and boundary (EPSG:4490)."""
    from popbase.config import load_project
    from popbase.ops.export import ExportError, export_units

    if labels not in ("en", "zh"):
        raise _fail(ValueError(f"--labels {labels!r}: use en or zh"))
    try:
        rows = export_units(
            load_project(project).output_dir, level, fmt, out, "zh" if labels == "zh" else "en"
        )
    except (PopbaseError, ExportError) as exc:
        raise _fail(exc) from None
    console.print(f"{rows:,} units ({level}) written to {out}")


@app.command()
def quality(
    project: Annotated[Path, typer.Argument(help="Project folder")],
    out: Annotated[
        Path | None, typer.Option("--out", help="Folder for quality.html and quality.json")
    ] = None,
) -> None:
    """Write the data quality report of the current snapshot (HTML and JSON)."""
    from popbase.config import load_project
    from popbase.ops.quality import write_quality

    try:
        proj = load_project(project)
        folder = out or proj.root / "quality"
        report = write_quality(proj, folder)
    except PopbaseError as exc:
        raise _fail(exc) from None
    flagged = report["flagged"]
    console.print(
        f"quality report written to {folder}: {flagged['sources']} source(s) and "
        f"{flagged['communities']} communit(y/ies) below a threshold"
    )


check_app = typer.Typer(help="Check a project's inputs before a build.", no_args_is_help=True)
app.add_typer(check_app, name="check")


@check_app.command("space")
def check_space(
    project: Annotated[Path, typer.Argument(help="Project folder (with popbase.yaml)")],
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the report as JSON here")
    ] = None,
    geojson_out: Annotated[
        Path | None,
        typer.Option("--geojson", help="Write the findings' geometries here (EPSG:4490)"),
    ] = None,
    tolerance_m2: Annotated[
        float,
        typer.Option("--tolerance-m2", min=0, help="Gaps/overlaps up to this area are snapped"),
    ] = 1.0,
) -> None:
    """Check the basemap's topology, reading the layers as a build would (no build needed).

    Children lie within and tile their parents (gaps and overlaps above the tolerance,
    located and measured), each building lies in one committee/grid, rooms are in
    residential or mixed buildings on floors the building has.

    Exit status: 0 when there is no finding above the tolerance, 1 when there are
    findings (so it can gate a pipeline), 2 when the project or a layer cannot be read.
    """
    from popbase.config import load_project
    from popbase.space.check import check_space as run_check

    try:
        result = run_check(load_project(project), tolerance_m2)
    except PopbaseError as exc:
        _fail(exc)
        raise typer.Exit(code=2) from None
    # Wider than a narrow terminal rather than codes cut short ("3101040…").
    wide = Console(stderr=True, width=max(console.width, 150))
    for table in result.tables():
        wide.print(table)
    if json_out is not None:
        result.write_json(json_out)
    if geojson_out is not None:
        result.write_geojson(geojson_out)
    if not result.clean:
        raise typer.Exit(code=1)
    console.print("[green]no findings above the tolerance[/]")


address_app = typer.Typer(
    help="Chinese addresses: parse them into components.", no_args_is_help=True
)
app.add_typer(address_app, name="address")


@address_app.command("parse")
def address_parse(
    project: Annotated[
        Path | None,
        typer.Option("--project", help="Use the project's divisions and its buildings' roads"),
    ] = None,
) -> None:
    """Read addresses from stdin, one a line; write one JSON object a line to stdout.

    Each distinct line is parsed once. Nothing but the JSON lines goes to stdout.
    """
    from popbase.address.gazetteer import Gazetteer, bundled_places, project_places
    from popbase.address.parse import AddressParser

    try:
        if project is None:
            places = bundled_places()
        else:
            from popbase.config import load_project

            places = project_places(load_project(project))
    except PopbaseError as exc:
        raise _fail(exc) from None
    parser = AddressParser(Gazetteer(places))
    seen: dict[str, str] = {}
    for line in sys.stdin:
        text = line.rstrip("\r\n")
        if text not in seen:
            seen[text] = json.dumps(parser.parse(text).as_json(), ensure_ascii=False)
        sys.stdout.write(seen[text] + "\n")


@eval_app.command(name="address")
def evaluate_address(
    corpus: Annotated[Path, typer.Option("--corpus", help="An annotated address corpus file")],
    corpus_format: Annotated[
        str, typer.Option("--format", help="Its format: naacl, bmes or ccks")
    ] = "naacl",
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the scores here")] = None,
) -> None:
    """Score the address parser, and cpca, on a public corpus (read, never copied)."""
    from popbase.address.corpus import FORMATS
    from popbase.address.evaluate import evaluate_corpus

    if corpus_format not in FORMATS:
        raise _fail(ValueError(f"--format was {corpus_format!r}, expected one of {FORMATS}"))
    try:
        result = evaluate_corpus(corpus, corpus_format)
    except PopbaseError as exc:
        raise _fail(exc) from None
    out = Console()
    out.width = max(out.width, 110)  # the table's columns, even in a pipe
    out.print(_address_scores(result))
    if json_out:
        json_out.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")


def _address_scores(result: dict[str, Any]) -> Table:
    sh = result["shanghai"]
    table = Table(
        title=f"{result['corpus']} ({result['format']}): {result['lines']:,} lines, exact "
        f"{result['exact_match']:.3f}; Shanghai: {sh['lines']:,}, exact {sh['exact_match']:.3f}"
    )
    # By text: the parser's prov/city/district scored as cpca's are (no spans), then cpca's.
    for col in ("tag", "P", "R", "F1", "n", "SH F1", "SH n", "text F1 us/cpca", "SH us/cpca"):
        table.add_column(col, justify="left" if col == "tag" else "right")

    def versus(ours: dict[str, Any], cpca: dict[str, Any], tag: str) -> str:
        if tag not in cpca:
            return ""
        return f"{ours[tag]['f1']:.3f}/{cpca[tag]['f1']:.3f}"

    for tag in dict.fromkeys([*result["tags"], *sh["tags"]]):
        a, b = result["tags"].get(tag), sh["tags"].get(tag)
        table.add_row(
            tag,
            *(f"{a[k]:.3f}" for k in ("precision", "recall", "f1")) if a else ("",) * 3,
            f"{a['support']:,}" if a else "",
            f"{b['f1']:.3f}" if b else "",
            f"{b['support']:,}" if b else "",
            versus(result["parser_by_text"], result["cpca"], tag),
            versus(result["shanghai_parser_by_text"], result["shanghai_cpca"], tag),
        )
    return table


def main() -> None:
    """Entry point for ``python -m popbase``."""
    app()


users_app = typer.Typer(
    help="Manage the API's users (roles, scopes, passwords).", no_args_is_help=True
)
app.add_typer(users_app, name="users")


def _user_store(project: Path) -> Any:
    from popbase.config import load_project
    from popbase.security.access import load_roles
    from popbase.security.users import UserStore, hasher_for

    proj = load_project(project)
    access = proj.config.access
    roles = load_roles(proj.path(access.roles) if access.roles else None)
    cost = access.password_hash
    hasher = hasher_for(cost.time_cost, cost.memory_kib, cost.parallelism)
    return UserStore(proj.path(access.users), roles, hasher)


def _show_generated(password: str, generated: bool) -> None:
    """Print a generated password, the one time it can be seen."""
    if generated:
        sys.stdout.write(f"password: {password}\n")


def _new_password(from_stdin: bool) -> tuple[str, bool]:
    """The password to set: from standard input, or a generated one (shown once)."""
    import secrets

    if from_stdin:
        return sys.stdin.readline().rstrip("\n"), False
    return secrets.token_urlsafe(12), True


@users_app.command("add")
def users_add(
    project: Annotated[Path, typer.Argument(help="Project folder")],
    name: Annotated[str, typer.Argument(help="User name")],
    role: Annotated[str, typer.Option(help="Role id (see `popbase users roles`)")],
    scope: Annotated[str, typer.Option(help="Division-code prefix the user serves")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input")
    ] = False,
) -> None:
    """Add a user; without --password-stdin a password is generated and shown once."""
    try:
        store = _user_store(project)
        password, generated = _new_password(password_stdin)
        user = store.add(name, role, scope, password)
    except PopbaseError as exc:
        raise _fail(exc) from None
    console.print(f"added {user.name}: role {user.role}, scope {user.scope}")
    _show_generated(password, generated)


@users_app.command("passwd")
def users_passwd(
    project: Annotated[Path, typer.Argument(help="Project folder")],
    name: Annotated[str, typer.Argument(help="User name")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input")
    ] = False,
) -> None:
    """Give a user a new password (shown once if generated); older tokens stop working."""
    try:
        store = _user_store(project)
        password, generated = _new_password(password_stdin)
        store.set_password(name, password)
    except PopbaseError as exc:
        raise _fail(exc) from None
    console.print(f"new password set for {name}")
    _show_generated(password, generated)


@users_app.command("remove")
def users_remove(
    project: Annotated[Path, typer.Argument(help="Project folder")],
    name: Annotated[str, typer.Argument(help="User name")],
) -> None:
    """Remove a user; their tokens stop working at once."""
    try:
        _user_store(project).remove(name)
    except PopbaseError as exc:
        raise _fail(exc) from None
    console.print(f"removed {name}")


@users_app.command("revoke")
def users_revoke(
    project: Annotated[Path, typer.Argument(help="Project folder")],
    name: Annotated[str, typer.Argument(help="User name")],
) -> None:
    """End every token a user holds; they sign in again with the same password."""
    try:
        _user_store(project).revoke(name)
    except PopbaseError as exc:
        raise _fail(exc) from None
    console.print(f"revoked the tokens of {name}")


@users_app.command("list")
def users_list(project: Annotated[Path, typer.Argument(help="Project folder")]) -> None:
    """List users with their role and scope (never their password hashes)."""
    try:
        users = _user_store(project).users()
    except PopbaseError as exc:
        raise _fail(exc) from None
    for user in sorted(users.values(), key=lambda u: u.name):
        sys.stdout.write(f"{user.name}\t{user.role}\t{user.scope}\t{user.created}\n")


@users_app.command("roles")
def users_roles(
    project: Annotated[Path, typer.Argument(help="Project folder")],
    table: Annotated[
        bool, typer.Option(help="Print the whole decision table (role × field class × action)")
    ] = False,
    masks: Annotated[
        bool,
        typer.Option(help="Print each role's masks and the candidates they leave, as CSV"),
    ] = False,
) -> None:
    """List the roles, print the decision table, or each role's masks, as CSV."""
    from popbase.config import load_project
    from popbase.security.access import decision_table
    from popbase.security.candidates import mask_shape, plan_masks

    try:
        roles = _user_store(project).roles
        minimum = load_project(project).config.access.mask_candidates
    except PopbaseError as exc:
        raise _fail(exc) from None
    if table:
        sys.stdout.write("role,field_class,action,decision,audit\n")
        for cell in decision_table(roles):
            sys.stdout.write(",".join(cell.values()) + "\n")
        return
    if masks:
        # What a masked value leaves given all else the role sees (popbase.security.candidates).
        sys.stdout.write("role,id_mask,id_candidates,below_minimum,phone_mask,name_mask\n")
        for role in roles.roles:
            plan = plan_masks(role, minimum)
            name = "王*明" if plan.name_keeps_last else "王**"
            sys.stdout.write(
                f"{role.id},{mask_shape('310112199001011234', plan.id_shown)},"
                f"{plan.id_candidates},{'yes' if plan.id_floor else 'no'},"
                f"{mask_shape('13812345678', plan.phone_shown)},{name}\n"
            )
        return
    for role in roles.roles:
        sys.stdout.write(f"{role.id}\t{role.level}\t{','.join(role.actions)}\t{role.label}\n")


audit_app = typer.Typer(help="The API's keyed, chained audit trail.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def audit_verify(
    project: Annotated[
        Path | None, typer.Argument(help="Project folder (or give --log and --key-file)")
    ] = None,
    log: Annotated[Path | None, typer.Option(help="The audit log, without a project")] = None,
    key_file: Annotated[
        Path | None, typer.Option(help="The audit key file (else POPBASE_AUDIT_KEY)")
    ] = None,
    checkpoint: Annotated[
        Path | None,
        typer.Option(help="The log's checkpoint; by default found beside the key file"),
    ] = None,
) -> None:
    """Check the audit log under its key; exit 1 and say where if any entry was changed.

    With --log and --key-file it needs only the audit folder and the key's folder.
    """
    import os

    from popbase.security.audit_check import report, verify_chain
    from popbase.security.audit_key import (
        CHECKPOINTS,
        KEY_ENV,
        KEY_FILE,
        audit_key_for,
        checkpoint_file,
        read_key_file,
    )

    secret: bytes | None
    try:
        if project is not None:
            from popbase.config import load_project

            proj = load_project(project)
            access = proj.config.access
            path = log or proj.path(access.audit_log)
            configured = proj.path(access.audit_key) if access.audit_key else None
            if key_file is not None:
                configured = key_file
            key_path = configured or proj.output_dir / KEY_FILE
            if not key_path.exists() and not os.environ.get(KEY_ENV, "").strip():
                secret = None  # a log written before the audit was keyed
                folder = key_path.parent / CHECKPOINTS
            else:
                key = audit_key_for(proj.output_dir, configured, path)
                secret, folder = key.secret, key.checkpoints
        elif log is not None:
            path = log
            env = os.environ.get(KEY_ENV, "").strip()
            if key_file is not None:
                secret, folder = read_key_file(key_file), key_file.parent / CHECKPOINTS
            elif env and checkpoint is not None:
                secret, folder = env.encode(), checkpoint.parent
            else:
                raise typer.BadParameter(
                    f"give --key-file (or {KEY_ENV} with --checkpoint)", param_hint="--key-file"
                )
        else:
            raise typer.BadParameter("give a project folder, or --log and --key-file")
    except PopbaseError as exc:
        raise _fail(exc) from None
    verdict = verify_chain(path, secret, checkpoint or checkpoint_file(folder, path))
    sys.stdout.write("".join(line + "\n" for line in report(path, verdict)))
    if not verdict.intact:
        raise typer.Exit(code=1)
