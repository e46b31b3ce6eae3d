"""nbgrader's gradebook rows for graded submissions, written in SQL on nbgrader's own tables.

nbgrader's `Gradebook` API spends most of its time in lazy loads (and its lookups scan whole
tables, so it slows down as a class grows); this writes the same rows it would, using its own
table definitions, in the caller's transaction. `gradebook.GradeStore` is the only caller.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa

from autograder.course import AssignmentSpec
from autograder.errors import CourseError
from autograder.models import GradeResult

_IN_CHUNK = 400  # values per IN (...) list: well under any database's limit on bound parameters


def _chunks(values: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(values), _IN_CHUNK):
        yield values[start : start + _IN_CHUNK]


def record_nbgrader(
    conn: sa.Connection, results: list[GradeResult], spec: AssignmentSpec, db_url: str
) -> None:
    """Make each item's score the `auto_score` of its grade cell in nbgrader's tables, in SQL.

    What a student lacks is inserted first, row for row as nbgrader's `update_or_create_student`
    and `update_or_create_submission` insert it: the student, the submission, a submitted notebook
    for each notebook, a grade for each grade and task cell, a comment for each solution and task
    cell. Then each grade of a spec's grade cell gets its item's score, with `needs_manual_grade`
    set as `nbgrader autograde` sets it: true only where a grader has given a manual score.
    nbgrader caches no totals: every score it shows is summed from these columns when asked.
    """
    from nbgrader import api as nb

    assignment, notebook, base_cell = nb.Assignment.__table__, nb.Notebook.__table__, nb.BaseCell.__table__
    student, submission = nb.Student.__table__, nb.SubmittedAssignment.__table__
    submitted_nb, grade, comment = nb.SubmittedNotebook.__table__, nb.Grade.__table__, nb.Comment.__table__
    kind = {cls.__mapper__.polymorphic_identity: cls for cls in (nb.GradeCell, nb.SolutionCell, nb.TaskCell)}

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
    commented_cells: dict[str, list[str]] = {nb_key: [] for nb_key in graded_cells}
    for _, nb_key, cell_key, name, cell_type in layout:
        if kind.get(cell_type) in (nb.GradeCell, nb.TaskCell):
            graded_cells[nb_key].append((cell_key, name))
        if kind.get(cell_type) in (nb.SolutionCell, nb.TaskCell):
            commented_cells[nb_key].append(cell_key)

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
    comments: set[tuple[str, str]] = set()
    graded_keys = [key for pairs in graded_cells.values() for key, _ in pairs]
    commented_keys = [key for keys in commented_cells.values() for key in keys]
    for chunk in _chunks(list(submitted.values())):
        query = sa.select(grade.c.notebook_id, grade.c.cell_id, grade.c.id)
        query = query.where(grade.c.cell_id.in_(graded_keys), grade.c.notebook_id.in_(chunk))
        grades.update(((sub_nb, cell_key), key) for sub_nb, cell_key, key in conn.execute(query))
        query = sa.select(comment.c.notebook_id, comment.c.cell_id)
        query = query.where(comment.c.cell_id.in_(commented_keys), comment.c.notebook_id.in_(chunk))
        comments.update((sub_nb, cell_key) for sub_nb, cell_key in conn.execute(query))

    item_of = {i.grade_id: i.name for i in spec.items}
    item_of.update({q.grade_id: q.item for q in spec.quiz})
    inserts: dict[Any, list[dict[str, Any]]] = {
        t: [] for t in (student, submission, submitted_nb, grade, comment)
    }
    inserts[student] = [{"id": s} for s in students if s not in known]
    updates: list[dict[str, Any]] = []
    for result in results:
        scores = {i.item: i.score for i in result.items}
        sub = submissions.get(result.student_id)
        if sub is None:
            sub = nb.new_uuid()
            inserts[submission].append(
                {"id": sub, "assignment_id": assignment_key, "student_id": result.student_id}
            )
        for nb_key, cells in graded_cells.items():
            sub_nb = submitted.get((sub, nb_key))
            if sub_nb is None:
                sub_nb = nb.new_uuid()
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
                            "id": nb.new_uuid(),
                            "notebook_id": sub_nb,
                            "cell_id": cell_key,
                            "auto_score": score,
                            "needs_manual_grade": score is None,
                        }
                    )
            for cell_key in commented_cells[nb_key]:
                if (sub_nb, cell_key) not in comments:
                    inserts[comment].append({"id": nb.new_uuid(), "notebook_id": sub_nb, "cell_id": cell_key})

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
