"""Grade one assignment for a class: choose what to grade, run it, record each result.

The steps of DESIGN.md in order: course -> submissions -> pool (judges and workers) ->
gradebook -> scores.csv. A submission whose notebook and suite are unchanged since it was
last recorded is skipped unless `force`; a changed suite regrades everyone.

Progress goes to `on_progress` as each result comes in, and once a second while none does,
naming the students being graded and how long each has taken so far: judges take
submissions in order from one queue, so the ones in flight are the first not yet returned.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from autograder.course import release
from autograder.course.layout import AssignmentSpec, Course
from autograder.course.notebook import notebook_sha256
from autograder.course.timestamps import read_timestamp
from autograder.errors import CourseError, UsageError
from autograder.models import GradeResult
from autograder.pool import JudgeJob, LocalPool, jailed, run_dask
from autograder.sandbox import layers
from autograder.sandbox.jail import Limits
from autograder.sandbox.session import Launcher
from autograder.store import scores
from autograder.store.gradebook import GradeStore
from autograder.store.lock import grade_lock
from autograder.views import autograded

log = logging.getLogger(__name__)


@dataclass
class BatchSummary:
    """What a grade run did, for the command line to print."""

    assignment_id: str
    total: int = 0
    graded: int = 0
    skipped: int = 0
    errors: int = 0
    seconds: float = 0.0
    isolation: str = ""  # the layers in force (`layers.Layers.describe`)
    scores_csv: Path | None = None
    results: list[GradeResult] = field(default_factory=list)


@dataclass(frozen=True)
class Progress:
    """One tick of progress: done of total, and the student just finished (none on a tick
    while waiting), how long they took and how it ended; `waiting` names the students being
    graded now with how long each has taken so far, longest first."""

    done: int
    total: int
    student_id: str
    elapsed_s: float
    duration_s: float = 0.0
    outcome: str = ""
    waiting: tuple[tuple[str, float], ...] = ()


def outcome_text(result: GradeResult) -> str:
    """A student's result in a few words: points, and the items that timed out or the error."""
    if result.status == "error":
        return f"error: {result.message}"
    text = f"{result.score:g}/{result.max_score:g} points"
    timeouts = [i.item for i in result.items if i.status == "timeout"]
    return text + (f", timed out: {', '.join(timeouts)}" if timeouts else "")


class _InFlight:
    """Who is being graded now, inferred from the order judges take submissions in.

    `judges` take submissions one at a time, in `order`, from one queue, each taking the next
    as soon as it hands a result back: the k-th submission was taken when the (k - judges)-th
    result came back (or when grading began, for the first `judges`).
    """

    def __init__(self, order: list[str], judges: int) -> None:
        self.order = order
        self.judges = max(1, judges)
        self.returned: set[str] = set()
        self.arrivals: list[float] = []
        self.began = time.monotonic()
        self.lock = threading.Lock()

    def done(self, student: str) -> None:
        with self.lock:
            self.returned.add(student)
            self.arrivals.append(time.monotonic())

    def waiting(self) -> tuple[tuple[str, float], ...]:
        now = time.monotonic()
        with self.lock:
            taken = min(len(self.order), len(self.arrivals) + self.judges)
            out = []
            for k in range(taken):
                student = self.order[k]
                if student in self.returned:
                    continue
                since = self.began if k < self.judges else self.arrivals[k - self.judges]
                out.append((student, now - since))
        return tuple(sorted(out, key=lambda w: -w[1]))


@contextlib.contextmanager
def _ticking(every_s: float, tick: Callable[[], None]) -> Iterator[None]:
    """Call `tick` every `every_s` seconds from a background thread while inside."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(every_s):
            tick()

    thread = threading.Thread(target=loop, name="progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=2 * every_s)


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    """Processes forked inside ignore Ctrl-C: the parent stops them itself and records what
    they finished, and none of them prints a traceback on the way out."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


class _Recorder:
    """Stores results in small batches: one transaction for many costs what one for each did.

    The first result is stored at once; later ones wait at most `wait_s` (or until `size` have
    gathered). A grader killed in between loses only those, and the next run grades them
    again: the journal does not name them.
    """

    def __init__(
        self,
        store: GradeStore,
        spec: AssignmentSpec,
        timestamps: dict[str, datetime | None],
        *,
        size: int = 32,
        wait_s: float = 1.0,
    ) -> None:
        self.store = store
        self.spec = spec
        self.timestamps = timestamps
        self.size = size
        self.wait_s = wait_s
        self.pending: list[GradeResult] = []
        self.since = -math.inf

    def add(self, result: GradeResult) -> None:
        self.pending.append(result)
        if len(self.pending) >= self.size or time.monotonic() - self.since >= self.wait_s:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            self.store.record_many(self.pending, self.spec, timestamps=self.timestamps)
            self.pending = []
        self.since = time.monotonic()


def check_isolation(isolation: str) -> str:
    """Probe the jail's layers and log them (the batch's first line, shown by default);
    UsageError if `isolation` is "strict" and a layer is missing. Returns the line."""
    if isolation not in ("best", "strict"):
        raise UsageError(f"--isolation must be best or strict, not {isolation!r}.")
    found = layers.probe()
    line = found.describe()
    if isolation == "strict" and not found.full():
        raise UsageError(
            f"--isolation strict: this machine lacks {', '.join(found.missing())}; "
            "grade without --isolation strict to accept that (see `autograder doctor`)."
        )
    # At warning level, shown by default: the first line of every batch says what holds.
    log.warning("%s", line)
    return line


def grade(
    course: Course,
    assignment_id: str,
    *,
    students: list[str] | None = None,
    workers: int | None = None,
    force: bool = False,
    scheduler: str | None = None,
    backend: str = "numpy",
    limits: Limits | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    launcher: Callable[[Limits], Launcher] = jailed,
    isolation: str = "best",
) -> BatchSummary:
    """Grade every (or each named) submission of `assignment_id` and record it.

    `launcher` starts the student sessions (the jail; tests pass an in-process fake).
    `isolation` "best" grades with whatever layers of the jail this machine offers and logs
    which guarantees do not hold; "strict" refuses to grade without all of them.
    """
    spec = course.assignment(assignment_id)
    workers = workers or os.cpu_count() or 1
    if workers < 1:
        raise UsageError(f"--workers must be at least 1, not {workers}.")
    summary = BatchSummary(assignment_id, isolation=check_isolation(isolation))
    start = time.monotonic()
    with grade_lock(course):
        found = course.submissions(assignment_id, students)
        if students:
            missing = sorted(set(students) - {s for s, _ in found})
            if missing:
                raise UsageError(f"no submission of {assignment_id} for: {', '.join(missing)}.")
        job = JudgeJob(str(course.root), assignment_id, backend, limits or Limits(), launcher)
        judges = 0 if scheduler else min(workers, len(found))
        # Judges start now and warm up while the gradebook says what is left to grade.
        with _sigint_ignored():
            local = LocalPool(job, judges)
        with local:
            store = GradeStore(course)
            try:
                _ensure_registered(course, store, spec)
                done = store.runs(assignment_id)
                todo = []
                for student, path in found:
                    if not force and student in done and done[student].suite_sha256 == spec.suite_sha256:
                        # Hash the bytes only: parsing happens once, in the judge, if it is graded.
                        sha = notebook_sha256(path)
                        if sha and sha == done[student].notebook_sha256:
                            summary.skipped += 1
                            continue
                    todo.append((student, str(path)))
                summary.total = len(todo)
                # Each submission's time, as nbgrader reads it from its timestamp.txt.
                timestamps = {student: read_timestamp(Path(path).parent) for student, path in todo}
                template = autograded.load_template(course, spec)

                recorder = _Recorder(store, spec, timestamps)
                flight = _InFlight([s for s, _ in todo], max(1, judges))
                say = threading.Lock()  # progress comes from this thread and the ticker's

                def record(result: GradeResult) -> None:
                    recorder.add(result)
                    flight.done(result.student_id)
                    # What formgrader and generate_feedback read; it is written again on a regrade.
                    # Rows shallow: an item's fields are plain values (asdict: ~0.15 ms more).
                    rows = [dict(vars(i)) for i in result.items]
                    autograded.autograded_notebook(course, template, result.student_id, rows)
                    summary.graded += 1
                    summary.errors += result.status == "error"
                    summary.results.append(result)
                    outcome = outcome_text(result)
                    log.info("%s: graded in %.1f s, %s", result.student_id, result.duration_s, outcome)
                    if on_progress is not None:
                        elapsed = time.monotonic() - start
                        tick = Progress(
                            summary.graded,
                            summary.total,
                            result.student_id,
                            elapsed,
                            result.duration_s,
                            outcome,
                            () if scheduler else flight.waiting(),
                        )
                        with say:
                            on_progress(tick)

                def waiting() -> None:
                    if on_progress is None or scheduler or summary.graded >= summary.total:
                        return
                    tick = Progress(
                        summary.graded, summary.total, "", time.monotonic() - start, waiting=flight.waiting()
                    )
                    with say:
                        on_progress(tick)

                try:
                    with _ticking(1.0, waiting):
                        if scheduler:
                            run_dask(job, todo, scheduler=scheduler, on_result=record)
                        else:
                            local.run(todo, record)
                finally:
                    recorder.flush()  # what was graded is recorded, however the batch ended
                store.apply_late_penalties(spec)
                summary.scores_csv = scores.write_scores_csv(course, store, assignment_id)
                scores.write_runs_csv(course, store, assignment_id)
            finally:
                store.close()
    summary.seconds = time.monotonic() - start
    return summary


def _ensure_registered(course: Course, store: GradeStore, spec: AssignmentSpec) -> None:
    """The gradebook holds the release's grade cells, registered from release/ if need be.

    A fresh clone has release/ but no gradebook, and nbgrader's `db assignment add` makes an
    assignment with no notebooks: both are registered as `release` would, without it.
    """
    problem = store.release_problem(spec)
    if problem is None:
        return
    log.info("%s; registering release/%s in the gradebook", problem, spec.assignment_id)
    release.register(course, spec.assignment_id)
    problem = store.release_problem(spec)
    if problem is not None:
        raise CourseError(
            f"{problem}; make source/{spec.assignment_id} and {spec.folder} agree, "
            f"then run `autograder release {spec.assignment_id}`."
        )
