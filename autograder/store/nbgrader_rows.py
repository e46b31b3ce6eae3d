"""nbgrader's gradebook rows for graded submissions, written in SQL on nbgrader's own tables.

nbgrader's `Gradebook` API spends most of its time in lazy loads (and its lookups scan whole
tables, so it slows down as a class grows); this writes the same rows it would, in the
caller's transaction. `gradebook.GradeStore` is the only caller.

The tables below are nbgrader's (0.9), the columns and Python-side defaults this module reads
or writes, spelled out rather than imported: importing `nbgrader.api` runs nbgrader's package
init, which loads its Jupyter server extensions (~0.45 s at every grade run). A unit test
checks them against nbgrader's own models.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from autograder.course.layout import AssignmentSpec
from autograder.errors import CourseError
from autograder.models import GradeResult


def new_uuid() -> str:
    """An id as nbgrader makes them (`nbgrader.api.new_uuid`)."""
    return uuid.uuid4().hex


metadata = sa.MetaData()
_ID = sa.String(32)
assignment = sa.Table(
    "assignment",
    metadata,
    sa.Column("id", _ID, primary_key=True, default=new_uuid),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("duedate", sa.DateTime),  # naive UTC, as nbgrader stores every time
)
notebook = sa.Table(
    "notebook",
    metadata,
    sa.Column("id", _ID, primary_key=True, default=new_uuid),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("assignment_id", _ID, sa.ForeignKey("assignment.id")),
)
base_cell = sa.Table(
    "base_cell",
    metadata,
    sa.Column("id", _ID, primary_key=True, default=new_uuid),
    sa.Column("name", sa.String(128), nullable=False),
    sa.Column("notebook_id", _ID, sa.ForeignKey("notebook.id"), nullable=False),
    sa.Column("type", sa.String(50)),  # the cell's class: GradeCell, SolutionCell, TaskCell, ...
)
grade_cells = sa.Table(
    "grade_cells",
    metadata,
    sa.Column("id", _ID, sa.ForeignKey("base_cell.id"), primary_key=True),
    sa.Column("max_score", sa.Float, nullable=False),
)
student = sa.Table(
    "student",
    metadata,
    sa.Column("id", sa.String(128), primary_key=True),
)
submitted_assignment = sa.Table(
    "submitted_assignment",
    metadata,
    sa.Column("id", _ID, primary_key=True, default=new_uuid),
    sa.Column("assignment_id", _ID, sa.ForeignKey("assignment.id")),
    sa.Column("student_id", sa.String(128), sa.ForeignKey("student.id")),
    sa.Column("timestamp", sa.DateTime),  # naive UTC, as read from timestamp.txt
    sa.Column("extension", sa.Interval),
)
submitted_notebook = sa.Table(
    "submitted_notebook",
    metadata,
    sa.Column("id", _ID, primary_key=True, default=new_uuid),
    sa.Column("assignment_id", _ID, sa.ForeignKey("submitted_assignment.id")),
    sa.Column("notebook_id", _ID, sa.ForeignKey("notebook.id")),
    sa.Column("flagged", sa.Boolean, default=False),
    sa.Column("late_submission_penalty", sa.Float),
)
grade = sa.Table(
    "grade",
    metadata,
    sa.Column("id", _ID, primary_key=True, default=new_uuid),
    sa.Column("notebook_id", _ID, sa.ForeignKey("submitted_notebook.id")),
    sa.Column("cell_id", _ID, sa.ForeignKey("base_cell.id")),
    sa.Column("auto_score", sa.Float),
    sa.Column("manual_score", sa.Float),
    sa.Column("extra_credit", sa.Float),
    sa.Column("needs_manual_grade", sa.Boolean, nullable=False, default=True),
)
comment = sa.Table(
    "comment",
    metadata,
    sa.Column("id", _ID, primary_key=True, default=new_uuid),
    sa.Column("notebook_id", _ID, sa.ForeignKey("submitted_notebook.id")),
    sa.Column("cell_id", _ID, sa.ForeignKey("base_cell.id")),
    sa.Column("auto_comment", sa.Text),
    sa.Column("manual_comment", sa.Text),
)
GRADED_KINDS = ("GradeCell", "TaskCell")  # cells that get a grade row
COMMENTED_KINDS = ("SolutionCell", "TaskCell")  # cells that get a comment row


def grade_cell_points(conn: sa.Connection, assignment_id: str) -> dict[str, float] | None:
    """Each grade cell's points as released (name -> max_score); None when not released."""
    found = conn.execute(sa.select(assignment.c.id).where(assignment.c.name == assignment_id)).first()
    if found is None:
        return None
    rows = conn.execute(
        sa.select(base_cell.c.name, grade_cells.c.max_score)
        .select_from(
            notebook.join(base_cell, base_cell.c.notebook_id == notebook.c.id).join(
                grade_cells, grade_cells.c.id == base_cell.c.id
            )
        )
        .where(notebook.c.assignment_id == found[0])
    )
    return {name: float(points) for name, points in rows}


_IN_CHUNK = 400  # values per IN (...) list: well under any database's limit on bound parameters


def _chunks(values: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(values), _IN_CHUNK):
        yield values[start : start + _IN_CHUNK]


def auto_comment(status: str, message: str) -> str:
    """The comment a grader sees under an answer cell in formgrader (and a student in feedback)."""
    if status == "passed":
        return "Passed: full marks."
    return message.strip() or f"Not full marks ({status})."


def record_nbgrader(
    conn: sa.Connection,
    results: list[GradeResult],
    spec: AssignmentSpec,
    db_url: str,
    timestamps: dict[str, datetime | None],
) -> None:
    """Make each item's score the `auto_score` of its grade cell in nbgrader's tables, in SQL.

    What a student lacks is inserted first, row for row as nbgrader's `update_or_create_student`
    and `update_or_create_submission` insert it: the student, the submission, a submitted notebook
    for each notebook, a grade for each grade and task cell, a comment for each solution and task
    cell. Then each grade of a spec's grade cell gets its item's score, with `needs_manual_grade`
    set as `nbgrader autograde` sets it: true only where a grader has given a manual score.
    Each answer cell's comment gets its item's verdict as `auto_comment` (formgrader shows it
    to the grader, `generate_feedback` to the student), and each submission the time read from
    its timestamp.txt (None where it has none), which formgrader compares with that file.
    nbgrader caches no totals: every score it shows is summed from these columns when asked.
    """
    submission, submitted_nb = submitted_assignment, submitted_notebook

    layout = conn.execute(
        sa.select(assignment.c.id, notebook.c.id, base_cell.c.id, base_cell.c.name, base_cell.c.type)
        .select_from(
            assignment.outerjoin(notebook, notebook.c.assignment_id == assignment.c.id).outerjoin(
                base_cell, base_cell.c.notebook_id == notebook.c.id
            )
        )
        .where(assignment.c.name == spec.assignment_id)
    ).all()
    if not layout:
        raise CourseError(
            f"{spec.assignment_id} is not in the gradebook ({db_url}); "
            f"run `autograder release {spec.assignment_id}` first."
        )
    assignment_key = layout[0][0]
    graded_cells: dict[str, list[tuple[str, str]]] = {nb_key: [] for _, nb_key, *_ in layout if nb_key}
    commented_cells: dict[str, list[tuple[str, str]]] = {nb_key: [] for nb_key in graded_cells}
    for _, nb_key, cell_key, name, cell_type in layout:
        if cell_type in GRADED_KINDS:
            graded_cells[nb_key].append((cell_key, name))
        if cell_type in COMMENTED_KINDS:
            commented_cells[nb_key].append((cell_key, name))

    # What is there already. The notebook and cell conditions below are redundant, but they let
    # SQLite use nbgrader's unique indexes (notebook, submission) and (cell, notebook), not a scan.
    students = list(dict.fromkeys(r.student_id for r in results))
    known: set[str] = set()
    submissions: dict[str, str] = {}
    for chunk in _chunks(students):
        for student_key, sub in conn.execute(
            sa.select(student.c.id, submission.c.id)
            .select_from(
                student.outerjoin(
                    submission,
                    (submission.c.student_id == student.c.id)
                    & (submission.c.assignment_id == assignment_key),
                )
            )
            .where(student.c.id.in_(chunk))
        ):
            known.add(student_key)
            if sub is not None:
                submissions[student_key] = sub
    submitted: dict[tuple[str, str], str] = {}
    for chunk in _chunks(list(submissions.values())):
        query = sa.select(submitted_nb.c.assignment_id, submitted_nb.c.notebook_id, submitted_nb.c.id)
        query = query.where(
            submitted_nb.c.notebook_id.in_(list(graded_cells)), submitted_nb.c.assignment_id.in_(chunk)
        )
        submitted.update(((sub, nb_key), key) for sub, nb_key, key in conn.execute(query))
    grades: dict[tuple[str, str], str] = {}
    comments: dict[tuple[str, str], str] = {}
    graded_keys = [key for pairs in graded_cells.values() for key, _ in pairs]
    commented_keys = [key for pairs in commented_cells.values() for key, _ in pairs]
    for chunk in _chunks(list(submitted.values())):
        query = sa.select(grade.c.notebook_id, grade.c.cell_id, grade.c.id)
        query = query.where(grade.c.cell_id.in_(graded_keys), grade.c.notebook_id.in_(chunk))
        grades.update(((sub_nb, cell_key), key) for sub_nb, cell_key, key in conn.execute(query))
        commented = sa.select(comment.c.notebook_id, comment.c.cell_id, comment.c.id).where(
            comment.c.cell_id.in_(commented_keys), comment.c.notebook_id.in_(chunk)
        )
        comments.update(
            ((str(sub_nb), str(cell_key)), key) for sub_nb, cell_key, key in conn.execute(commented)
        )

    item_of = {i.grade_id: i.name for i in spec.items}
    item_of.update({q.grade_id: q.item for q in spec.quiz})
    answered_by = {i.name: i.name for i in spec.items}  # answer cell -> item
    answered_by.update({q.variable: q.item for q in spec.quiz})
    inserts: dict[Any, list[dict[str, Any]]] = {
        t: [] for t in (student, submission, submitted_nb, grade, comment)
    }
    inserts[student] = [{"id": s} for s in students if s not in known]
    updates: list[dict[str, Any]] = []
    comment_updates: list[dict[str, Any]] = []
    times: list[dict[str, Any]] = []
    for result in results:
        scores = {i.item: i.score for i in result.items}
        verdicts = {i.item: auto_comment(i.status, i.message) for i in result.items}
        when = timestamps.get(result.student_id)
        sub = submissions.get(result.student_id)
        if sub is None:
            sub = new_uuid()
            inserts[submission].append(
                {
                    "id": sub,
                    "assignment_id": assignment_key,
                    "student_id": result.student_id,
                    "timestamp": when,
                }
            )
        else:
            times.append({"sub_key": sub, "when": when})
        for nb_key, cells in graded_cells.items():
            sub_nb = submitted.get((sub, nb_key))
            if sub_nb is None:
                sub_nb = new_uuid()
                inserts[submitted_nb].append({"id": sub_nb, "assignment_id": sub, "notebook_id": nb_key})
            for cell_key, name in cells:
                item = item_of.get(name)
                score = None if item is None else float(scores.get(item, 0.0))
                if (sub_nb, cell_key) in grades:
                    if score is not None:
                        updates.append({"grade_key": grades[sub_nb, cell_key], "score": score})
                else:  # a new grade has no manual score; without an auto score nbgrader's default applies
                    inserts[grade].append(
                        {
                            "id": new_uuid(),
                            "notebook_id": sub_nb,
                            "cell_id": cell_key,
                            "auto_score": score,
                            "needs_manual_grade": score is None,
                        }
                    )
            for cell_key, name in commented_cells[nb_key]:
                item = answered_by.get(name)
                text = verdicts.get(item) if item is not None else None
                if (sub_nb, cell_key) not in comments:
                    inserts[comment].append(
                        {"id": new_uuid(), "notebook_id": sub_nb, "cell_id": cell_key, "auto_comment": text}
                    )
                elif text is not None:
                    comment_updates.append({"comment_key": comments[sub_nb, cell_key], "text": text})

    for table, rows in inserts.items():  # parents before children
        if rows:
            conn.execute(sa.insert(table), rows)
    if updates:
        conn.execute(
            sa.update(grade)
            .where(grade.c.id == sa.bindparam("grade_key"))
            .values(auto_score=sa.bindparam("score"), needs_manual_grade=grade.c.manual_score.is_not(None)),
            updates,
        )
    if comment_updates:
        conn.execute(
            sa.update(comment)
            .where(comment.c.id == sa.bindparam("comment_key"))
            .values(auto_comment=sa.bindparam("text")),
            comment_updates,
        )
    if times:
        conn.execute(
            sa.update(submission)
            .where(submission.c.id == sa.bindparam("sub_key"))
            .values(timestamp=sa.bindparam("when")),
            times,
        )


def _submission_join(assignment_id: str | None) -> Any:
    """grade -> its cell, submitted notebook, submission and assignment (one assignment's, or all)."""
    joined = (
        grade.join(base_cell, base_cell.c.id == grade.c.cell_id)
        .join(submitted_notebook, submitted_notebook.c.id == grade.c.notebook_id)
        .join(submitted_assignment, submitted_assignment.c.id == submitted_notebook.c.assignment_id)
        .join(assignment, assignment.c.id == submitted_assignment.c.assignment_id)
    )
    return joined


def grades_by_cell(
    conn: sa.Connection, assignment_id: str | None
) -> dict[tuple[str, str, str], tuple[float | None, float | None, float | None, bool]]:
    """(student, assignment, grade cell) -> (auto_score, manual_score, extra_credit, needs_manual_grade)."""
    query = sa.select(
        submitted_assignment.c.student_id,
        assignment.c.name,
        base_cell.c.name,
        grade.c.auto_score,
        grade.c.manual_score,
        grade.c.extra_credit,
        grade.c.needs_manual_grade,
    ).select_from(_submission_join(assignment_id))
    if assignment_id is not None:
        query = query.where(assignment.c.name == assignment_id)
    return {
        (s, a, c): (auto, manual, extra, bool(flag))
        for s, a, c, auto, manual, extra, flag in conn.execute(query)
    }


@dataclass(frozen=True)
class NotebookScore:
    """One submitted notebook as nbgrader totals it, with its submission's time and extension."""

    key: str  # submitted_notebook.id
    student: str
    timestamp: datetime | None
    extension: timedelta | None
    score: float
    max_score: float
    late_penalty: float | None
    needs_manual_grade: int


def notebook_scores(conn: sa.Connection, assignment_id: str) -> list[NotebookScore]:
    """Each submitted notebook of the assignment, summed as nbgrader's `SubmittedNotebook.score` is."""
    query = (
        sa.select(
            submitted_notebook.c.id,
            submitted_assignment.c.student_id,
            submitted_assignment.c.timestamp,
            submitted_assignment.c.extension,
            submitted_notebook.c.late_submission_penalty,
            grade.c.auto_score,
            grade.c.manual_score,
            grade.c.extra_credit,
            grade.c.needs_manual_grade,
            grade_cells.c.max_score,
        )
        .select_from(
            _submission_join(assignment_id).outerjoin(grade_cells, grade_cells.c.id == base_cell.c.id)
        )
        .where(assignment.c.name == assignment_id)
        .order_by(submitted_assignment.c.student_id, submitted_notebook.c.id)
    )
    totals: dict[str, dict[str, Any]] = {}
    for key, student_id, when, extension, penalty, auto, manual, extra, flag, max_score in conn.execute(
        query
    ):
        entry = totals.setdefault(
            key,
            {
                "key": key,
                "student": student_id,
                "timestamp": when,
                "extension": extension,
                "late_penalty": penalty,
                "score": 0.0,
                "max_score": 0.0,
                "needs_manual_grade": 0,
            },
        )
        base = manual if manual is not None else auto
        entry["score"] += 0.0 if base is None else base + (extra or 0.0)
        entry["max_score"] += max_score or 0.0
        entry["needs_manual_grade"] += bool(flag)
    return [NotebookScore(**entry) for entry in totals.values()]
