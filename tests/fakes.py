"""An in-process `Launcher`: the judge's seam with no process, no jail and no fork.

`InProcessLauncher` gives the judge real `StudentProcess` sessions whose "workers" are threads
of the test's own process running the worker's real `Session` over a socket pair. Everything
the judge, the proxy, the pool and the batch do is exercised as in production (frames, plain
data, time limits, restarts after a worker is lost), but a worker starts in microseconds and
nothing is isolated: only for trusted test notebooks. A hung cell's thread is abandoned when
its time is up (its socket closed), like a killed worker; keep hangs in tests short.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

from autograder.sandbox import protocol
from autograder.sandbox.client import StudentProcess, Worker
from autograder.sandbox.jail import JailSpec, Limits
from autograder.sandbox.worker import Session


class ThreadWorker(Worker):
    """A worker that is a thread: killing it closes its socket, nothing else."""

    def kill(self) -> None:
        if self.alive:
            self.alive = False
            self.sock.close()


def _serve(sock: socket.socket) -> None:
    try:
        protocol.send_frame(sock, {"ev": "ready", "namespaces": True, "notes": [], "in_process": True})
        Session(sock).serve()
    except BaseException:  # the judge closed the socket (a timeout, the end): the "process" ends
        pass
    finally:
        sock.close()


class ThreadSpawner:
    """Spawns thread workers; counts them (tests check restarts)."""

    def __init__(self) -> None:
        self.spawned = 0

    def spawn(self, spec: JailSpec) -> Worker:
        self.spawned += 1
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        threading.Thread(target=_serve, args=(theirs,), daemon=True).start()
        worker = ThreadWorker(mine, 0, spec)
        worker.wait_ready()
        return worker


class InProcessLauncher:
    """The `sandbox.session.Launcher` of the tests: sessions served by threads of this process."""

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self.spawner = ThreadSpawner()
        self.launched: list[StudentProcess] = []
        self.prepared: list[str] = []
        self.shared: list[str] = []
        self.closed = False

    def prepare(self, sources: Sequence[str]) -> None:
        self.prepared += sources

    def share(self, hide: Sequence[str]) -> None:
        self.shared = list(hide)

    def wait_ready(self) -> None:
        pass

    def launch(
        self,
        cells: Sequence[tuple[int, str]],
        scratch: Path,
        *,
        hide: Sequence[Path],
        cell_timeout_s: float,
        total_timeout_s: float,
        cell_limits: Mapping[int, float] | None = None,
    ) -> StudentProcess:
        spec = JailSpec(scratch=str(scratch), limits=self.limits, uid=-1, hide=tuple(str(p) for p in hide))
        session = StudentProcess(
            self.spawner,
            spec,
            cells,
            cell_timeout_s=cell_timeout_s,
            total_timeout_s=total_timeout_s,
            cell_limits=dict(cell_limits or {}),
        )
        self.launched.append(session)
        return session

    def close(self) -> None:
        self.closed = True


def in_process(limits: Limits) -> InProcessLauncher:
    """A `JudgeJob.launcher` for tests."""
    return InProcessLauncher(limits)
