"""Run the API and dashboard with uvicorn: ``popbase serve`` calls :func:`serve`.

With more than one worker, that many server processes serve the same port, each on a
listening socket of its own so that the kernel spreads connections evenly over them
(:mod:`popbase.api.workers`; where the system cannot, uvicorn's workers share one
socket). Each builds its own app from the project named in :data:`PROJECT_ENV` (the
audit trail is shared through its file lock, see :mod:`popbase.security.audit`), and
the cores are divided among them for DuckDB's queries (:func:`query_threads`). uvloop
and httptools, when installed, serve the event loop and HTTP parsing.
"""

from __future__ import annotations

import argparse
import os
from multiprocessing.synchronize import Event
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from popbase.api.app import create_app
from popbase.api.gate import Gate
from popbase.api.workers import Workers, serve_process, spreads_connections
from popbase.config import Project, load_project

# The project folder each worker process builds its app from.
PROJECT_ENV = "POPBASE_SERVE_PROJECT"


# DuckDB threads per query in each worker process.
THREADS_ENV = "POPBASE_SERVE_THREADS"


def query_threads(workers: int, cores: int | None = None) -> int:
    """DuckDB threads per query when ``workers`` processes share the machine's cores.

    >>> query_threads(1, cores=2), query_threads(2, cores=2), query_threads(3, cores=8)
    (2, 1, 2)
    """
    return max(1, (cores or os.cpu_count() or 1) // max(1, workers))


def app_of_project() -> FastAPI:
    """The app of the project folder in :data:`PROJECT_ENV` (one per worker process)."""
    project = load_project(Path(os.environ[PROJECT_ENV]))
    threads = int(os.environ[THREADS_ENV])
    return create_app(project.output_dir, Gate.for_project(project), threads)


def _serve_worker(host: str, port: int, ready: Event, parent: int) -> None:
    """One server process of :class:`~popbase.api.workers.Workers`."""
    serve_process(app_of_project(), host, port, ready, parent)


def serve(project: Project, host: str = "127.0.0.1", port: int = 8000, workers: int = 1) -> None:
    """Serve a project's current snapshot until interrupted.

    Parameters
    ----------
    project
        The loaded project: its output folder, users, roles and audit trail.
    host
        Address to listen on; the default keeps the server to this machine.
    port
        TCP port to listen on.
    workers
        Server processes; more than one lets requests use more than one core.

    Raises
    ------
    popbase.api.workers.ServeError
        If the port is taken, or the server processes fail at their start.
    """
    # Made here, once, before any worker starts: keys created by two workers at the same
    # moment could differ, and a token signed by one would fail in the other.
    gate = Gate.for_project(project)
    threads = query_threads(workers)
    if workers <= 1:
        app = create_app(project.output_dir, gate, threads)
        uvicorn.run(app, host=host, port=port, log_level="warning")
        return
    os.environ[PROJECT_ENV] = str(project.root.resolve())
    os.environ[THREADS_ENV] = str(threads)
    if spreads_connections():
        Workers(_serve_worker, workers, host, port).run()
        return
    uvicorn.run(
        f"{__name__}:{app_of_project.__name__}",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
    )


def main(argv: list[str] | None = None) -> None:
    """Command line without the CLI's dependencies: ``python -m popbase.api.server PROJECT``."""
    parser = argparse.ArgumentParser(prog="python -m popbase.api.server")
    parser.add_argument("project", type=Path, help="project folder (holding popbase.yaml)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    serve(load_project(args.project), host=args.host, port=args.port, workers=args.workers)


if __name__ == "__main__":
    main()
