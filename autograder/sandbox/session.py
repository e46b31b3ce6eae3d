"""The seam between the judge and a student's running notebook.

The judge never builds a process itself: it asks a `Launcher` for a `StudentSession` (one
submission's notebook, run and kept callable) and talks to it through this small interface,
as httpx's client talks to a transport. Behind it in production is the jailed process
(`launcher.ZygoteLauncher`, `client.StudentProcess`); the project's tests put an in-process
fake beside it (`tests/fakes.py`), so the judge, proxy, pool and batch are testable without
forking anything. Everything that crosses is plain data (`CallReply`, `CellResult`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from autograder.models import CellResult
from autograder.sandbox.client import CallReply

Call = tuple[str, Sequence[Any], dict[str, Any]]


class Answers(Protocol):
    """The answers to calls sent ahead in one message, read one at a time."""

    pending: int

    def next(self, name: str, *, timeout_s: float) -> CallReply:
        """The answer to the next call (of function `name`), within `timeout_s`."""
        ...

    def stop(self) -> None:
        """Done reading: answers still owed are dropped."""
        ...


class StudentSession(Protocol):
    """One submission's notebook, run once and then called into by the judge."""

    cells: Sequence[tuple[int, str]]  # (index, source) of the cells it runs, in order
    student_s: float  # the student code's own run time so far, cells and calls

    def start(self) -> None:
        """Run the notebook's cells; `WorkerLost` when no worker could run them at all."""
        ...

    def results(self) -> list[CellResult]:
        """How each cell ended, in notebook order (grade ids left for the judge to fill)."""
        ...

    def call(self, name: str, args: Sequence[Any], kwargs: dict[str, Any], *, timeout_s: float) -> CallReply:
        """Call the student's function `name`; a lost worker is a reply, never an exception."""
        ...

    def send_ahead(self, calls: Sequence[Call], limits: Sequence[float] | None = None) -> Answers | None:
        """Send `calls` in one message, the i-th within `limits[i]` s; None if none was sent."""
        ...

    def get(self, name: str, *, timeout_s: float) -> CallReply:
        """Read the student's global variable `name`."""
        ...

    def isolation(self) -> dict[str, Any]:
        """What the jail achieved for this session's worker, as it reported (never trusted)."""
        ...

    def close(self) -> None: ...


class Launcher(Protocol):
    """Starts sessions: one per submission, each in a scratch folder of its own."""

    def prepare(self, sources: Sequence[str]) -> None:
        """Public cell sources (the released notebook's) that sessions may compile once."""
        ...

    def share(self, hide: Sequence[str]) -> None:
        """Paths that every session must not see."""
        ...

    def wait_ready(self) -> None:
        """Block until sessions can start; RuntimeError when they never will."""
        ...

    def launch(
        self,
        cells: Sequence[tuple[int, str]],
        scratch: Path,
        *,
        hide: Sequence[Path],
        cell_timeout_s: float,
        total_timeout_s: float,
        cell_limits: Mapping[int, float] | None = None,
    ) -> StudentSession:
        """A session for one notebook's `cells`, not yet started; each cell's time limit is
        `cell_limits[index]` if given, else `cell_timeout_s`."""
        ...

    def close(self) -> None: ...
