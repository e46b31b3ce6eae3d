"""Grade one assignment for a class: choose what to grade, run it, record each result.

The steps of DESIGN.md in order: course -> submissions -> pool (judges and workers) ->
gradebook -> scores.csv. A submission whose notebook and suite are unchanged since it was
last recorded is skipped unless `force`; a changed suite regrades everyone.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from autograder.course.layout import AssignmentSpec, Course
from autograder.course.notebook import notebook_sha256
from autograder.errors import UsageError
from autograder.models import GradeResult
from autograder.pool import JudgeJob, LocalPool, run_dask
from autograder.sandbox import layers
from autograder.sandbox.jail import Limits
from autograder.store import scores
from autograder.store.gradebook import GradeStore, grade_lock

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
    """One tick of progress: done of total, and the student just finished."""

    done: int
    total: int
    student_id: str
    elapsed_s: float


class _Recorder:
    """Stores results in small batches: one transaction for many costs what one for each did.

    The first result is stored at once; later ones wait at most `wait_s` (or until `size` have
    gathered). A grader killed in between loses only those, and the next run grades them
    again: the journal does not name them.
    """

    def __init__(
        self, store: GradeStore, spec: AssignmentSpec, *, size: int = 32, wait_s: float = 1.0
    ) -> None:
        self.store = store
        self.spec = spec
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
            self.store.record_many(self.pending, self.spec)
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
    isolation: str = "best",
) -> BatchSummary:
    """Grade every (or each named) submission of `assignment_id` and record it.

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
        job = JudgeJob(str(course.root), assignment_id, backend, limits or Limits())
        # Judges start now and warm up while the gradebook says what is left to grade.
        with LocalPool(job, 0 if scheduler else min(workers, len(found))) as local:
            store = GradeStore(course)
            try:
                store.check_released(spec)
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

                recorder = _Recorder(store, spec)

                def record(result: GradeResult) -> None:
                    recorder.add(result)
                    summary.graded += 1
                    summary.errors += result.status == "error"
                    summary.results.append(result)
                    if on_progress is not None:
                        elapsed = time.monotonic() - start
                        on_progress(Progress(summary.graded, summary.total, result.student_id, elapsed))

                try:
                    if scheduler:
                        run_dask(job, todo, scheduler=scheduler, on_result=record)
                    else:
                        local.run(todo, record)
                finally:
                    recorder.flush()  # what was graded is recorded, however the batch ended
                summary.scores_csv = scores.write_scores_csv(course, store, assignment_id)
            finally:
                store.close()
    summary.seconds = time.monotonic() - start
    return summary
