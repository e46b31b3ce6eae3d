"""The only module that reads or writes stored grades (with `nbgrader_rows`, its SQL helper).

Two stores in one database (SQLite by default, any SQLAlchemy URL): nbgrader's gradebook,
where each item's score is the `auto_score` of its grade cell (so `nbgrader formgrader`,
`export` and `generate_feedback` see our grades), and our journal, which keeps what nbgrader
has no column for: status, diagnosis, message, time taken, the notebook's and the suite's
hashes, and how nbgrader's own test cells ran. Submissions are recorded in one transaction,
nbgrader's rows and the journal's together: a grader killed at any moment is re-run and finds
exactly the submissions that were fully recorded, so nothing is lost and nothing is counted
twice. nbgrader's rows are written in SQL on its own tables (`nbgrader_rows`), exactly as its
`Gradebook` API and `nbgrader autograde` would write them.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from autograder.course.layout import AssignmentSpec, Course
from autograder.errors import CourseError, UsageError
from autograder.models import GradeResult
from autograder.store import nbgrader_rows

_meta = sa.MetaData()

items_table = sa.Table(
    "autograder_items",
    _meta,
    sa.Column("student", sa.String(128), primary_key=True),
    sa.Column("assignment", sa.String(128), primary_key=True),
    sa.Column("item", sa.String(128), primary_key=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("max_score", sa.Float, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("diagnosis", sa.String(128), nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("duration_s", sa.Float, nullable=False),
    sa.Column("failing_input", sa.Text, nullable=False),
)

runs_table = sa.Table(
    "autograder_runs",
    _meta,
    sa.Column("student", sa.String(128), primary_key=True),
    sa.Column("assignment", sa.String(128), primary_key=True),
    sa.Column("notebook_sha256", sa.String(64), nullable=False),
    sa.Column("suite_sha256", sa.String(64), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("duration_s", sa.Float, nullable=False),
    sa.Column("graded_at", sa.Float, nullable=False),
)

cells_table = sa.Table(
    "autograder_cells",
    _meta,
    sa.Column("student", sa.String(128), primary_key=True),
    sa.Column("assignment", sa.String(128), primary_key=True),
    sa.Column("grade_id", sa.String(128), primary_key=True),
    sa.Column("nbgrader_score", sa.Float, nullable=False),
    sa.Column("ok", sa.Boolean, nullable=False),
    sa.Column("error", sa.Text, nullable=False),
)


@dataclass(frozen=True)
class RunRecord:
    """What the journal knows of one graded submission."""

    student: str
    notebook_sha256: str
    suite_sha256: str


def ensure_scripts_on_path() -> None:
    """nbgrader runs `alembic` as a command: make this interpreter's scripts findable."""
    scripts = os.path.dirname(sys.executable)
    path = os.environ.get("PATH", "")
    if scripts not in path.split(os.pathsep):
        os.environ["PATH"] = scripts + os.pathsep + path


class GradeStore:
    """nbgrader's gradebook plus our journal, for one course."""

    def __init__(self, course: Course) -> None:
        self.course = course
        self._gb: Any = None
        self.engine = sa.create_engine(course.db_url)
        if not sa.inspect(self.engine).has_table(nbgrader_rows.assignment.name):
            self._gradebook()  # a new database: nbgrader's tables (and its alembic stamp) first
        _meta.create_all(self.engine)

    def close(self) -> None:
        if self._gb is not None:
            self._gb.close()
            self._gb = None
        self.engine.dispose()

    def _gradebook(self) -> Any:
        """nbgrader's Gradebook, opened once per store."""
        if self._gb is None:
            from nbgrader.api import Gradebook

            ensure_scripts_on_path()
            self._gb = Gradebook(self.course.db_url, course_id=self.course.course_id)
        return self._gb

    def check_released(self, spec: AssignmentSpec) -> None:
        """The assignment and its grade cells must be in nbgrader's gradebook (from release)."""
        with self.engine.connect() as conn:
            cells = nbgrader_rows.grade_cell_points(conn, spec.assignment_id)
        if cells is None:
            raise CourseError(
                f"{spec.assignment_id} is not in the gradebook ({self.course.db_url}); "
                f"run `autograder release {spec.assignment_id}` first."
            )
        expected = spec.grade_ids()
        for grade_id, points in expected.items():
            if grade_id not in cells:
                raise CourseError(
                    f"the gradebook has no grade cell '{grade_id}' for {spec.assignment_id}; "
                    f"run `autograder release {spec.assignment_id}` again."
                )
            if abs(cells[grade_id] - points) > 1e-9:
                raise CourseError(
                    f"{grade_id} is worth {cells[grade_id]:g} in the gradebook but {points:g} in "
                    f"{spec.folder}; make them agree and release again."
                )

    def runs(self, assignment_id: str) -> dict[str, RunRecord]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(runs_table).where(runs_table.c.assignment == assignment_id))
            return {r.student: RunRecord(r.student, r.notebook_sha256, r.suite_sha256) for r in rows}

    def record_many(self, results: Iterable[GradeResult], spec: AssignmentSpec) -> None:
        """Store submissions' grades durably, all in one transaction (nbgrader's rows, then the journal).

        Either every submission is recorded in both, or none is: the journal never names a
        submission whose nbgrader rows are missing. A student given twice is recorded once, with
        the later result, as if they were recorded in turn.
        """
        latest = {r.student_id: r for r in results}
        if not latest:
            return
        strays = sorted({r.assignment_id for r in latest.values()} - {spec.assignment_id})
        if strays:
            raise ValueError(f"results of {', '.join(strays)} recorded with the spec of {spec.assignment_id}")
        batch = list(latest.values())
        with self.engine.begin() as conn:
            nbgrader_rows.record_nbgrader(conn, batch, spec, self.course.db_url)
            _record_journal(conn, batch)

    def item_rows(self, assignment_id: str | None = None) -> list[dict[str, Any]]:
        """Journal rows (one a student and item) in student, then item order."""
        query = sa.select(items_table).order_by(
            items_table.c.assignment, items_table.c.student, items_table.c.position
        )
        if assignment_id is not None:
            query = query.where(items_table.c.assignment == assignment_id)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]

    def run_rows(self, assignment_id: str) -> list[dict[str, Any]]:
        """Journal rows, one a graded submission (its status, time and when), in student order."""
        query = (
            sa.select(runs_table)
            .where(runs_table.c.assignment == assignment_id)
            .order_by(runs_table.c.student)
        )
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]

    def cell_rows(self, assignment_id: str) -> list[dict[str, Any]]:
        query = sa.select(cells_table).where(cells_table.c.assignment == assignment_id)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]

    def nbgrader_totals(self, assignment_id: str) -> dict[str, float]:
        """Each student's total as nbgrader computes it (what `nbgrader export` prints)."""
        gb = self._gradebook()
        return {s["student"]: float(s["score"]) for s in gb.submission_dicts(assignment_id)}


def _record_journal(conn: sa.Connection, results: list[GradeResult]) -> None:
    """Replace the journal's rows (items, nbgrader's cells, the run) of each result's submission."""
    keys = [{"key_student": r.student_id, "key_assignment": r.assignment_id} for r in results]
    for table in (items_table, cells_table, runs_table):
        conn.execute(
            sa.delete(table).where(
                table.c.student == sa.bindparam("key_student"),
                table.c.assignment == sa.bindparam("key_assignment"),
            ),
            keys,
        )
    graded_at = time.time()
    items: list[dict[str, Any]] = []
    cells: list[dict[str, Any]] = []
    runs: list[dict[str, Any]] = []
    for r in results:
        key = {"student": r.student_id, "assignment": r.assignment_id}
        items.extend(
            {
                **key,
                "item": i.item,
                "position": n,
                "score": i.score,
                "max_score": i.max_score,
                "status": i.status,
                "diagnosis": i.diagnosis,
                "message": i.message,
                "duration_s": i.duration_s,
                "failing_input": i.failing_input,
            }
            for n, i in enumerate(r.items)
        )
        ran = {c.grade_id: c for c in r.cells if c.grade_id}
        cells.extend(
            {
                **key,
                "grade_id": g,
                "nbgrader_score": s,
                "ok": bool(ran[g].ok) if g in ran else False,
                "error": (
                    f"{ran[g].ename}: {ran[g].evalue}"
                    if g in ran and not ran[g].ok
                    else ("" if g in ran else "cell did not run")
                ),
            }
            for g, s in r.nbgrader_scores.items()
        )
        runs.append(
            {
                **key,
                "notebook_sha256": r.notebook_sha256,
                "suite_sha256": r.suite_sha256,
                "status": r.status,
                "message": r.message,
                "duration_s": r.duration_s,
                "graded_at": graded_at,
            }
        )
    for table, rows in ((items_table, items), (cells_table, cells), (runs_table, runs)):
        if rows:
            conn.execute(sa.insert(table), rows)


@contextlib.contextmanager
def grade_lock(course: Course) -> Iterator[None]:
    """Refuse a second `autograder grade` on the same course while one runs."""
    course.state_dir.mkdir(exist_ok=True)
    path = course.state_dir / "grade.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "another process"
            raise UsageError(
                f"another `autograder grade` is running on this course (pid {holder}); "
                "wait for it to finish, or stop it, then run again."
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)
