"""Run the API and dashboard with uvicorn: ``popbase serve`` calls :func:`serve`."""

from __future__ import annotations

import argparse
from pathlib import Path

import uvicorn

from popbase.api.app import create_app
from popbase.api.gate import Gate


def serve(
    output_dir: Path, host: str = "127.0.0.1", port: int = 8000, gate: Gate | None = None
) -> None:
    """Serve the base under ``output_dir`` until interrupted.

    Parameters
    ----------
    output_dir
        The project's output folder (holding ``snapshots/`` and ``current``).
    host
        Address to listen on; the default keeps the server to this machine.
    port
        TCP port to listen on.
    gate
        Users, roles and the audit trail of the project (defaults under ``output_dir``).
    """
    uvicorn.run(create_app(output_dir, gate), host=host, port=port, log_level="warning")


def main(argv: list[str] | None = None) -> None:
    """Command line without the CLI's dependencies: ``python -m popbase.api.server DIR``."""
    parser = argparse.ArgumentParser(prog="python -m popbase.api.server")
    parser.add_argument("output_dir", type=Path, help="folder holding snapshots/ and current")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    serve(args.output_dir, host=args.host, port=args.port)


if __name__ == "__main__":
    main()
