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

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from autograder.course.layout import AssignmentSpec, Course
from autograder.errors import CourseError
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


@dataclass(frozen=True)
class SubmissionRecord:
    """One submission as nbgrader scores it: when it came, how late, and its totals."""

    student: str
    timestamp: datetime | None  # naive UTC, from timestamp.txt
    due: datetime | None  # naive UTC, the student's own (with an extension, if any)
    seconds_late: float
    is_late: bool  # late beyond the grace period
    raw_score: float  # nbgrader's: manual scores where given, else auto scores, plus extra credit
    late_penalty: float
    max_score: float
    needs_manual_grade: int  # how many of its grades nbgrader marks for manual review

    @property
    def score(self) -> float:
        """What `nbgrader export` calls score: the raw score less the late penalty."""
        return self.raw_score - self.late_penalty


def grade_id_of(item: str) -> str:
    """The nbgrader grade cell that holds `item`'s score (`softmax` -> `test_softmax`)."""
    return f"quiz_{item.removeprefix('quiz.')}" if item.startswith("quiz.") else f"test_{item}"


def nbgrader_score(auto: float | None, manual: float | None, extra: float | None) -> float:
    """nbgrader's `Grade.score`: the manual score where a person gave one, else the auto score."""
    base = manual if manual is not None else auto
    return 0.0 if base is None else base + (extra or 0.0)


class GradeStore:
    """nbgrader's gradebook plus our journal, for one course."""

    def __init__(self, course: Course) -> None:
        self.course = course
        self._gb: Any = None
        self.engine = sa.create_engine(course.db_url)
        if not sa.inspect(self.engine).has_table(nbgrader_rows.assignment.name):
            _create_nbgrader_tables(self.engine)
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

            self._gb = Gradebook(self.course.db_url, course_id=self.course.course_id)
        return self._gb

    def release_problem(self, spec: AssignmentSpec) -> str | None:
        """Why the gradebook's grade cells of `spec` are not the ones to grade (None: they are)."""
        with self.engine.connect() as conn:
            cells = nbgrader_rows.grade_cell_points(conn, spec.assignment_id)
        if not cells:
            return f"{spec.assignment_id} is not in the gradebook ({self.course.db_url})"
        for grade_id, points in spec.grade_ids().items():
            if grade_id not in cells:
                return f"the gradebook has no grade cell '{grade_id}' for {spec.assignment_id}"
            if abs(cells[grade_id] - points) > 1e-9:
                return (
                    f"{grade_id} is worth {cells[grade_id]:g} in the gradebook but {points:g} in "
                    f"{spec.folder}"
                )
        return None

    def check_released(self, spec: AssignmentSpec) -> None:
        """The assignment and its grade cells must be in nbgrader's gradebook (from release)."""
        problem = self.release_problem(spec)
        if problem is not None:
            raise CourseError(f"{problem}; run `autograder release {spec.assignment_id}`.")

    def runs(self, assignment_id: str) -> dict[str, RunRecord]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(runs_table).where(runs_table.c.assignment == assignment_id))
            return {r.student: RunRecord(r.student, r.notebook_sha256, r.suite_sha256) for r in rows}

    def record_many(
        self,
        results: Iterable[GradeResult],
        spec: AssignmentSpec,
        *,
        timestamps: dict[str, datetime | None] | None = None,
    ) -> None:
        """Store submissions' grades durably, all in one transaction (nbgrader's rows, then the journal).

        Either every submission is recorded in both, or none is: the journal never names a
        submission whose nbgrader rows are missing. A student given twice is recorded once, with
        the later result, as if they were recorded in turn. `timestamps` (student -> naive UTC,
        from timestamp.txt) become nbgrader's `submitted_assignment.timestamp`.
        """
        latest = {r.student_id: r for r in results}
        if not latest:
            return
        strays = sorted({r.assignment_id for r in latest.values()} - {spec.assignment_id})
        if strays:
            raise ValueError(f"results of {', '.join(strays)} recorded with the spec of {spec.assignment_id}")
        batch = list(latest.values())
        with self.engine.begin() as conn:
            nbgrader_rows.record_nbgrader(conn, batch, spec, self.course.db_url, timestamps or {})
            _record_journal(conn, batch)

    def item_rows(self, assignment_id: str | None = None) -> list[dict[str, Any]]:
        """Journal rows (one a student and item) in student, then item order, scored as nbgrader scores.

        `score` is nbgrader's (a manual score where a person gave one, else the auto score, plus
        extra credit); `auto_score` is the judge's, `manual_score` the person's (or None), and
        `needs_manual_grade` nbgrader's flag for review.
        """
        query = sa.select(items_table).order_by(
            items_table.c.assignment, items_table.c.student, items_table.c.position
        )
        if assignment_id is not None:
            query = query.where(items_table.c.assignment == assignment_id)
        with self.engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(query)]
            grades = nbgrader_rows.grades_by_cell(conn, assignment_id)
        for row in rows:
            found = grades.get((row["student"], row["assignment"], grade_id_of(str(row["item"]))))
            if found is None:
                row.update(
                    auto_score=row["score"], manual_score=None, extra_credit=None, needs_manual_grade=False
                )
                continue
            auto, manual, extra, needs_review = found
            row.update(
                auto_score=row["score"] if auto is None else auto,
                manual_score=manual,
                extra_credit=extra,
                needs_manual_grade=bool(needs_review),
                score=nbgrader_score(row["score"] if auto is None else auto, manual, extra),
            )
        return rows

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

    def submissions(self, spec: AssignmentSpec) -> dict[str, SubmissionRecord]:
        """Each recorded submission's time, lateness, totals and penalty, as nbgrader stores them."""
        with self.engine.connect() as conn:
            due = _due(conn, spec)
            notebooks = nbgrader_rows.notebook_scores(conn, spec.assignment_id)
        out: dict[str, SubmissionRecord] = {}
        for student, rows in _by_student(notebooks).items():
            first = rows[0]
            own_due = None if due is None else due + (first.extension or timedelta(0))
            late_s = _seconds_late(first.timestamp, own_due)
            out[student] = SubmissionRecord(
                student=student,
                timestamp=first.timestamp,
                due=own_due,
                seconds_late=late_s,
                is_late=spec.late.is_late(late_s),
                raw_score=sum(r.score for r in rows),
                late_penalty=sum(r.late_penalty or 0.0 for r in rows),
                max_score=sum(r.max_score for r in rows),
                needs_manual_grade=sum(r.needs_manual_grade for r in rows),
            )
        return out

    def apply_late_penalties(self, spec: AssignmentSpec) -> int:
        """Set each submitted notebook's `late_submission_penalty` by the late policy; count the changes.

        As nbgrader's `AssignLatePenalties` does at autograde, but from the current scores, so
        that a manual grade given since is counted too (the `zero` method takes it all). A due
        date in assignment.toml becomes nbgrader's own first, so formgrader shows the same.
        """
        changed: list[dict[str, Any]] = []
        with self.engine.begin() as conn:
            if spec.late.due is not None:
                conn.execute(
                    sa.update(nbgrader_rows.assignment)
                    .where(nbgrader_rows.assignment.c.name == spec.assignment_id)
                    .values(duedate=spec.late.due)
                )
            due = _due(conn, spec)
            for rows in _by_student(nbgrader_rows.notebook_scores(conn, spec.assignment_id)).values():
                for r in rows:
                    own_due = None if due is None else due + (r.extension or timedelta(0))
                    late_s = _seconds_late(r.timestamp, own_due)
                    penalty: float | None = spec.late.penalty(r.score, r.max_score, late_s)
                    if not penalty:
                        penalty = None  # nbgrader's "no penalty" (it resets it to None)
                    if penalty != r.late_penalty:
                        changed.append({"key": r.key, "penalty": penalty})
            if changed:
                table = nbgrader_rows.submitted_notebook
                conn.execute(
                    sa.update(table)
                    .where(table.c.id == sa.bindparam("key"))
                    .values(late_submission_penalty=sa.bindparam("penalty")),
                    changed,
                )
        return len(changed)

    def set_due_date(self, assignment_id: str, due: datetime) -> None:
        """Make `due` nbgrader's due date of the assignment, as `nbgrader db assignment add --duedate`."""
        gb = self._gradebook()
        gb.update_or_create_assignment(assignment_id, duedate=due)  # nbgrader stores it as naive UTC

    def nbgrader_totals(self, assignment_id: str) -> dict[str, float]:
        """Each student's total as nbgrader computes it (what `nbgrader export` prints as raw_score)."""
        gb = self._gradebook()
        return {s["student"]: float(s["score"]) for s in gb.submission_dicts(assignment_id)}


def _create_nbgrader_tables(engine: sa.Engine) -> None:
    """A new gradebook: nbgrader's tables and its alembic stamp, as nbgrader's `Gradebook` makes them.

    nbgrader asks the `alembic` command for the head revision (so it must be on PATH); the
    same answer comes from alembic's own API on nbgrader's migration scripts.
    """
    from alembic.script import ScriptDirectory
    from nbgrader.api import Base
    from nbgrader.dbutil import ALEMBIC_DIR

    head = ScriptDirectory(ALEMBIC_DIR).get_current_head()
    Base.metadata.create_all(bind=engine)
    with engine.begin() as conn:
        if not sa.inspect(conn).has_table("alembic_version"):
            conn.execute(sa.text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"))
            conn.execute(sa.text("INSERT INTO alembic_version (version_num) VALUES (:v)"), {"v": head})


def _due(conn: sa.Connection, spec: AssignmentSpec) -> datetime | None:
    """The due date: assignment.toml's (or the course's) late policy, else nbgrader's."""
    if spec.late.due is not None:
        return spec.late.due
    table = nbgrader_rows.assignment
    found = conn.execute(sa.select(table.c.duedate).where(table.c.name == spec.assignment_id)).first()
    return None if found is None else found[0]


def _seconds_late(timestamp: datetime | None, due: datetime | None) -> float:
    """nbgrader's `SubmittedAssignment.total_seconds_late`."""
    if timestamp is None or due is None:
        return 0.0
    return max(0.0, (timestamp - due).total_seconds())


def _by_student(
    rows: list[nbgrader_rows.NotebookScore],
) -> dict[str, list[nbgrader_rows.NotebookScore]]:
    out: dict[str, list[nbgrader_rows.NotebookScore]] = {}
    for r in rows:
        out.setdefault(r.student, []).append(r)
    return out


def journal_items(result: GradeResult) -> list[dict[str, Any]]:
    """One submission's item rows as the journal keeps them (and feedback reads them)."""
    return [
        {
            "student": result.student_id,
            "assignment": result.assignment_id,
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
        for n, i in enumerate(result.items)
    ]

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
        items.extend(journal_items(r))
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
