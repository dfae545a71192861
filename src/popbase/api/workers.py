"""Several server processes on one port, each listening on a socket of its own.

When every process accepts from one shared listening socket (uvicorn's own
``--workers``), the process that wakes first takes every connection waiting: a burst
of keep-alive connections — a street office's dashboards opening at the start of the
day, or a load test — can land 46 on one process and 4 on the other, which then idles
while the first answers at twice the latency. Here each process binds a socket of its
own with ``SO_REUSEPORT``, and the kernel spreads new connections over them by a hash
of their addresses.

The parent process first binds the port alone, without that option: if anything
listens there already, the start fails at once with the port named, instead of
sharing the port with it. It then starts the server processes, starts a new one for
any that dies, and stops them all on SIGINT or SIGTERM.

Linux is needed (elsewhere ``SO_REUSEPORT`` does not spread connections);
:func:`spreads_connections` says whether this system does.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable
from multiprocessing.process import BaseProcess
from multiprocessing.synchronize import Event
from types import FrameType

import uvicorn
from fastapi import FastAPI

from popbase.errors import PopbaseError

log = logging.getLogger(__name__)

# Connections the kernel queues for a process before it accepts them.
BACKLOG = 2048
# prctl(2) option: the signal a process receives when its parent ends.
PR_SET_PDEATHSIG = 1


class ServeError(PopbaseError):
    """The server cannot start: its port is taken, or its processes fail at start."""


def spreads_connections() -> bool:
    """Whether the kernel spreads connections over sockets sharing a port (Linux)."""
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def check_port_free(host: str, port: int) -> None:
    """Fail with the fix if something listens on ``host:port`` already.

    Raises
    ------
    ServeError
        If the address cannot be bound (taken, or not an address of this machine).
    """
    with socket.socket(_family(host), socket.SOCK_STREAM) as probe:
        # Connections of an earlier server left waiting to close do not hold the port.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise ServeError(
                f"cannot listen on {host}:{port}: {exc.strerror}. Fix: stop what serves "
                "that port, or give another with --port (and a local address with --host)."
            ) from None


def listening_socket(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` that other server processes may share."""
    sock = socket.socket(_family(host), socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(BACKLOG)
    return sock


class _Server(uvicorn.Server):
    """A uvicorn server that tells its parent when it has started."""

    def __init__(self, config: uvicorn.Config, ready: Event) -> None:
        super().__init__(config)
        self.ready = ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if not self.should_exit:  # uvicorn sets it when the app's start-up failed
            self.ready.set()


def _end_with_parent(parent: int) -> None:
    """Have the kernel stop this process (SIGTERM) when its parent ends, even if killed.

    A server process left behind would keep answering on the port, from a snapshot and
    with users that no running server stands for.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
        log.warning("cannot tie this server process to its parent (errno %d)", ctypes.get_errno())
    if os.getppid() != parent:  # the parent ended before the request took effect
        os.kill(os.getpid(), signal.SIGTERM)


def serve_process(app: FastAPI, host: str, port: int, ready: Event, parent: int) -> None:
    """Serve ``app`` in this process on a socket of its own until told to stop.

    ``ready`` is set once the app has started and the socket listens; the process ends
    when its ``parent`` (the :class:`Workers` process) does.
    """
    _end_with_parent(parent)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning")
    _Server(config, ready).run(sockets=[listening_socket(host, port)])


class Workers:
    """Server processes that each run ``target(host, port, ready, parent)``, kept running.

    Parameters
    ----------
    target
        A module-level function (it is pickled into each process) that builds the app
        and calls :func:`serve_process` with its arguments ``(host, port, ready,
        parent)``.
    count
        How many processes.
    host, port
        The address they all listen on.
    """

    def __init__(
        self,
        target: Callable[[str, int, Event, int], None],
        count: int,
        host: str,
        port: int,
    ) -> None:
        self.target = target
        self.count = count
        self.host = host
        self.port = port
        self._context = multiprocessing.get_context("spawn")
        self._stop = threading.Event()

    def _start(self) -> tuple[BaseProcess, Event]:
        ready = self._context.Event()
        process = self._context.Process(
            target=self.target,
            args=(self.host, self.port, ready, os.getpid()),
            name="popbase-server",
        )
        process.start()
        return process, ready

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self._stop.set()

    def run(self) -> None:
        """Start the processes and keep them running until SIGINT or SIGTERM.

        Raises
        ------
        ServeError
            If the port is taken, or a process ends before it has started to serve
            (a broken project would fail the same way at each restart).
        """
        check_port_free(self.host, self.port)
        previous = {s: signal.signal(s, self._on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        running = [self._start() for _ in range(self.count)]
        try:
            while not self._stop.wait(0.5):
                for i, (process, ready) in enumerate(running):
                    if process.is_alive():
                        continue
                    if not ready.is_set():
                        raise ServeError(
                            f"a server process ended at its start (exit code "
                            f"{process.exitcode}); its error is above. Fix that, then serve "
                            "again."
                        )
                    log.warning(
                        "server process %s ended (exit code %s); starting another",
                        process.pid,
                        process.exitcode,
                    )
                    running[i] = self._start()
        finally:
            for process, _ in running:
                process.terminate()  # uvicorn finishes the requests in hand, then exits
            for process, _ in running:
                process.join(timeout=30)
                if process.is_alive():
                    process.kill()
            for s, handler in previous.items():
                signal.signal(s, handler)
