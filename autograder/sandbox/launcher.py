"""The production `Launcher`: jailed workers forked by a zygote that the judge outlives.

A student's code runs in a worker that the zygote forked; whatever it does to the zygote
(kill it, stop it, make it exit) costs that student and nobody else. When the zygote does not
answer a fork, the launcher kills what is left of it, starts a fresh one (the same prepared
cells and shared covers) and forks again: the student whose worker was running when it died
has that worker restarted, as for any worker death, and every student after is graded as if
nothing happened.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from autograder.sandbox.client import StudentProcess, Worker
from autograder.sandbox.jail import JailSpec, Limits
from autograder.sandbox.process import Zygote, ZygoteLost, jail_spec

log = logging.getLogger(__name__)


class ZygoteLauncher:
    """Sessions in workers forked by a zygote, restarted whenever it is lost."""

    def __init__(self, *, limits: Limits | None = None, start: Callable[[], Zygote] = Zygote) -> None:
        self.limits = limits or Limits()
        self._start = start
        self._zygote = start()
        self._prepared: list[str] = []
        self._shared: list[str] | None = None
        self._serial = 0
        self.restarts = 0  # zygotes started again after one was lost

    @property
    def pid(self) -> int:
        """The current zygote's process id."""
        return self._zygote.pid

    def prepare(self, sources: Sequence[str]) -> None:
        self._prepared += sources
        self._zygote.prepare(sources)

    def share(self, hide: Sequence[str]) -> None:
        self._shared = list(hide)
        self._zygote.share(hide)

    def wait_ready(self) -> None:
        self._zygote.wait_ready()

    def spawn(self, spec: JailSpec) -> Worker:
        """Fork a worker; should the zygote be lost, start a fresh one and fork from it."""
        try:
            return self._zygote.spawn(spec)
        except ZygoteLost as lost:
            log.warning("%s; starting a new one (only the student being graded is affected)", lost)
        self._restart()
        return self._zygote.spawn(spec)

    def _restart(self) -> None:
        self._zygote.kill()
        self.restarts += 1
        self._zygote = self._start()
        if self._prepared:
            self._zygote.prepare(self._prepared)
        if self._shared is not None:
            self._zygote.share(self._shared)
        self._zygote.wait_ready()

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
        self._serial += 1
        return StudentProcess(
            self,
            jail_spec(scratch, hide=hide, limits=self.limits, serial=self._serial),
            cells,
            cell_timeout_s=cell_timeout_s,
            total_timeout_s=total_timeout_s,
            cell_limits=dict(cell_limits or {}),
        )

    def time_cells(
        self,
        cells: Sequence[tuple[int, str]],
        scratch: Path,
        *,
        hide: Sequence[Path],
        cell_timeout_s: float,
        total_timeout_s: float,
    ) -> dict[int, tuple[bool, float]]:
        """Run trusted `cells` (the source solution's) in a fresh worker: index -> (ran without
        error, seconds its code took). Time limits are calibrated from these (`judge.limits`)."""
        self._serial += 1
        worker = self.spawn(jail_spec(scratch, hide=hide, limits=self.limits, serial=self._serial))
        try:
            return {
                index: (ok, seconds)
                for index, ok, _, _, seconds in worker.run_cells(
                    cells, cell_timeout_s=cell_timeout_s, total_timeout_s=total_timeout_s
                )
            }
        finally:
            worker.close()

    def close(self) -> None:
        self._zygote.close()

    def __enter__(self) -> ZygoteLauncher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
