"""What is recorded for a submission: its row built from the items, or the row of an error."""

from __future__ import annotations

from autograder.course.layout import AssignmentSpec
from autograder.models import CellResult, GradeResult, ItemResult, Submission
from autograder.sandbox.session import StudentSession


def build_result(
    submission: Submission,
    grade_ids: dict[int, str | None],
    items: list[ItemResult],
    process: StudentSession,
    spec: AssignmentSpec,
    duration: float,
) -> GradeResult:
    """A graded submission's row: its items, how each cell ran, and nbgrader's test-cell points."""
    cells = [CellResult(c.index, grade_ids.get(c.index), c.ok, c.ename, c.evalue) for c in process.results()]
    points = spec.grade_ids()
    ran = {c.grade_id: c.ok for c in cells if c.grade_id in points}
    nbgrader = {g: (p if ran.get(g, False) else 0.0) for g, p in points.items()}
    sub = submission
    return GradeResult(
        sub.student_id,
        sub.assignment_id,
        sub.sha256,
        spec.suite_sha256,
        tuple(items),
        tuple(cells),
        nbgrader,
        duration_s=duration,
        student_s=process.student_s,
    )


INTERNAL_ERROR = "the grader could not finish this notebook (an internal error); your instructor can see why"


def error_result(submission: Submission, spec: AssignmentSpec, message: str) -> GradeResult:
    """Every item `error` with the same message: the notebook itself could not be graded."""
    items = [ItemResult(i.name, 0.0, i.points, "error", "error", message) for i in spec.items]
    items += [ItemResult(q.item, 0.0, q.points, "error", "error", message) for q in spec.quiz]
    return GradeResult(
        submission.student_id,
        submission.assignment_id,
        submission.sha256,
        spec.suite_sha256,
        tuple(items),
        (),
        {g: 0.0 for g in spec.grade_ids()},
        status="error",
        message=message,
    )
