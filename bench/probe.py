"""Measuring instruments: a timed command with its process tree's peak memory, and an
instrumented in-process grade that learns how long the student code itself ran.
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import subprocess
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PAGE = os.sysconf("SC_PAGE_SIZE")


def _parents() -> dict[int, int]:
    """pid -> parent pid for every process now visible in /proc."""
    out: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        # the command name may hold spaces and parentheses: fields resume after the last ')'
        fields = stat[stat.rfind(b")") + 2 :].split()
        out[int(entry)] = int(fields[1])
    return out


def tree(root: int) -> list[int]:
    """`root` and all its descendants."""
    children: dict[int, list[int]] = defaultdict(list)
    for pid, ppid in _parents().items():
        children[ppid].append(pid)
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def rss_bytes(pid: int) -> int:
    """Resident set size of one process (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as f:
            return int(f.read().split()[1]) * PAGE
    except (OSError, IndexError, ValueError):
        return 0


class TreeMemory(threading.Thread):
    """Polls the summed RSS of a process tree every `interval` seconds; keeps the peak."""

    def __init__(self, root: int, interval: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.root = root
        self.interval = interval
        self.peak = 0
        self.peak_procs = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            pids = tree(self.root)
            total = sum(rss_bytes(p) for p in pids)
            if total > self.peak:
                self.peak, self.peak_procs = total, len(pids)
            self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


@dataclass(frozen=True)
class CommandRun:
    """One timed command: wall seconds, peak summed RSS of its process tree, exit status."""

    label: str
    wall_s: float
    peak_rss: int
    peak_procs: int
    returncode: int
    log: Path
    cpu_s: float = 0.0  # user + system seconds of the command and all it waited for


def run_command(label: str, argv: Sequence[str], *, cwd: Path, env: dict[str, str], log: Path) -> CommandRun:
    """Run `argv` to completion, output to `log`, timing it and sampling its memory."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(list(argv), cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
        probe = TreeMemory(proc.pid)
        probe.start()
        # wait4: the CPU time of the command and of every process under it that was waited for
        # (judges, zygotes, workers), wherever it ran.
        _, status, usage = os.wait4(proc.pid, 0)
        code = proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - start
        probe.stop()
    return CommandRun(label, wall, probe.peak, probe.peak_procs, code, log, usage.ru_utime + usage.ru_stime)


@dataclass
class StudentTimes:
    """Per-submission seconds from an instrumented, in-process `batch.grade(workers=1)`."""

    wall_s: float = 0.0
    student_s: dict[str, float] = field(default_factory=dict)  # the student code's own run time
    judged_s: dict[str, float] = field(default_factory=dict)  # the judge's duration_s per submission
    profile: str = ""
    stats: pstats.Stats | None = None


def instrumented_grade(
    course: Any, assignment_id: str, *, profile: bool = False, top: int = 25
) -> StudentTimes:
    """Grade in this process with one judge; each result carries the student code's own time.

    `GradeResult.student_s` is what the workers measured around the student's code itself:
    every cell's exec and every call of a student function (not the transform and compile of
    cells, the fork, the jail or the traffic, which are the grader's overhead).
    """
    from autograder import batch

    times = StudentTimes()
    profiler = cProfile.Profile() if profile else None
    t0 = time.perf_counter()
    if profiler is not None:
        profiler.enable()
    try:
        summary = batch.grade(course, assignment_id, workers=1, force=True)
    finally:
        if profiler is not None:
            profiler.disable()
    times.wall_s = time.perf_counter() - t0
    for result in summary.results:
        times.student_s[result.student_id] = result.student_s
        times.judged_s[result.student_id] = result.duration_s
    if profiler is not None:
        times.profile = _profile_text(profiler, top)
        times.stats = pstats.Stats(profiler)
    return times


def _profile_text(profiler: cProfile.Profile, top: int) -> str:
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
    return out.getvalue()


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    """fn's result and its wall seconds."""
    t0 = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - t0
