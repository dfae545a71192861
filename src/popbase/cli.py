"""The ``popbase`` command line: a thin Typer shell over the public API."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Annotated

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

from popbase.errors import PopbaseError

app = typer.Typer(
    help="popbase: a household-precise population base (精细化人口底数) for a city's digital twin.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True)


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
) -> None:
    """Generate a sample city: basemap, department sources and ground truth."""
    from popbase.sample.city import SampleOptions, generate_sample

    try:
        opts = SampleOptions(
            persons=persons,
            seed=seed,
            district=district,
            streets=streets,
            communities_per_street=communities_per_street,
            as_of=dt.date.fromisoformat(as_of),
        )
        with _progress() as bar:
            task = bar.add_task("sample", total=None)

            def tick(what: str, done: int, total: int) -> None:
                bar.update(task, description=f"sample · {what}", completed=done, total=total)

            summary = generate_sample(out, opts, progress=tick)
    except (PopbaseError, FileExistsError, ValueError) as exc:
        raise _fail(exc) from None
    rows = summary["source_rows"]
    assert isinstance(rows, dict)
    console.print(f"[green]wrote[/] {out}: " + ", ".join(f"{k} {v:,}" for k, v in rows.items()))


@app.command()
def build(
    project: Annotated[Path, typer.Argument(help="Project folder (with popbase.yaml)")],
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

            result = run(proj, progress=tick)
    except PopbaseError as exc:
        raise _fail(exc) from None
    _print_accounting(result.report["accounting"])
    console.print(f"[green]snapshot[/] {result.snapshot.id} is now current")


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
) -> None:
    """Show the record accounting of the current snapshot."""
    from popbase.config import load_project
    from popbase.ops.snapshot import current_snapshot

    try:
        snap = current_snapshot(load_project(project).output_dir)
    except PopbaseError as exc:
        raise _fail(exc) from None
    data = snap.report()
    _print_accounting(data["accounting"])
    if json_out:
        json_out.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")


@app.command(name="eval")
def evaluate(
    project: Annotated[Path, typer.Argument(help="Sample project folder (with truth/)")],
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the scores here")] = None,
) -> None:
    """Score the current snapshot against the sample's ground truth."""
    from popbase.config import load_project
    from popbase.ops.evaluate import evaluate_project

    try:
        scores = evaluate_project(load_project(project))
    except PopbaseError as exc:
        raise _fail(exc) from None
    text = json.dumps(scores, ensure_ascii=False, indent=2)
    if json_out:
        json_out.write_text(text, encoding="utf-8")
    sys.stdout.write(text + "\n")


@app.command()
def serve(
    project: Annotated[Path, typer.Argument(help="Project folder")],
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 8000,
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
    run_server(proj.output_dir, host=host, port=port)


def main() -> None:
    """Entry point for ``python -m popbase``."""
    app()
