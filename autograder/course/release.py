"""Build release/<a>/ from source/<a>/ with nbgrader's own generate_assignment.

Before nbgrader runs, the source notebook is checked against `assignments/<a>/`: a test cell
for every item with the same points, an answer cell for every function, a quiz cell for every
question whose key matches the bank, no clear-text answer. nbgrader then strips solutions and
hidden tests, records the grade cells in the gradebook, and writes the release.
"""

from __future__ import annotations

import logging
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from autograder.course.layout import AssignmentSpec, Course
from autograder.course.notebook import NotebookError, read_source_cells
from autograder.errors import CourseError
from autograder.judge.quiz import notebook_key
from autograder.store.gradebook import GradeStore

log = logging.getLogger(__name__)

_KEY = re.compile(r"""key\s*=\s*["']([^"']+)["']""")


def check_source(course: Course, spec: AssignmentSpec) -> None:
    """The source notebook agrees with the assignment's spec, or CourseError says where not."""
    path = course.source_notebook(spec.assignment_id)
    if not path.is_file():
        raise CourseError(f"no source notebook {path}; write it, then release.")
    try:
        cells = read_source_cells(path)
    except NotebookError as exc:
        raise CourseError(str(exc)) from None
    grade = {c.grade_id: c for c in cells if c.grade_id and c.is_grade}
    answers = {c.grade_id: c for c in cells if c.grade_id and c.is_solution}
    for grade_id, points in spec.grade_ids().items():
        cell = grade.get(grade_id)
        if cell is None:
            raise CourseError(f"{path}: no test cell with grade_id '{grade_id}'.")
        if abs(cell.points - points) > 1e-9:
            raise CourseError(
                f"{path}: test cell '{grade_id}' is worth {cell.points:g} points, "
                f"assignment.toml says {points:g}."
            )
    for item in spec.items:
        cell = answers.get(item.name)
        if cell is None:
            raise CourseError(f"{path}: no autograded answer cell with grade_id '{item.name}'.")
        body = "\n".join(
            line
            for line in cell.source.splitlines()
            if line.strip() and not line.lstrip().startswith(("import ", "from ", "#"))
        )
        if not body.startswith(f"def {item.name}("):
            raise CourseError(f"{path}: answer cell '{item.name}' must start with `def {item.name}(`.")
    for question in spec.quiz:
        cell = grade[question.grade_id]
        match = _KEY.search(cell.source)
        if match is None or match.group(1) != notebook_key(question):
            raise CourseError(
                f"{path}: quiz cell '{question.grade_id}' does not carry the key of "
                f"quiz.toml's answer; use autograder.judge.quiz.notebook_key for '{question.id}'."
            )


def generate(course: Course, assignment_id: str) -> Path:
    """Run nbgrader generate_assignment; return the release notebook's path."""
    from nbgrader.apps import NbGraderAPI
    from traitlets.config.loader import PyFileConfigLoader

    # A new gradebook is made as nbgrader makes one, without nbgrader running the `alembic` command.
    GradeStore(course).close()
    config = PyFileConfigLoader("nbgrader_config.py", path=str(course.root)).load_config()
    config.CourseDirectory.root = str(course.root)
    config.CourseDirectory.db_url = course.db_url
    # generate_assignment never uses the exchange; keep nbgrader from warning about its folder.
    exchange = course.state_dir / "exchange"
    exchange.mkdir(parents=True, exist_ok=True)
    config.Exchange.root = str(exchange)
    # nbgrader narrates every step (and warns that it replaces the old release): errors only.
    config.Application.log_level = logging.ERROR
    config.NbGraderAPI.log_level = logging.ERROR
    api = NbGraderAPI(config=config)
    result = api.generate_assignment(assignment_id, force=True, create=True)
    if not result.get("success"):
        detail = (result.get("error") or result.get("log") or "").strip().splitlines()
        raise CourseError(
            f"nbgrader generate_assignment {assignment_id} failed: {detail[-1] if detail else 'no output'}"
        )
    out = course.release_notebook(assignment_id)
    if not out.is_file():
        raise CourseError(f"nbgrader did not write {out}.")
    _open_quiz_answers(out)
    return out


STUB_LINES = ("# YOUR CODE HERE", "raise NotImplementedError()")


def _open_quiz_answers(path: Path) -> None:
    """Quiz answer cells keep `answer_x = ...` and lose nbgrader's raising stub.

    nbgrader's one code stub suits functions (a stub that raises is `missing`), but in a quiz
    cell it would make the cell fail even after the student wrote an answer above it.
    """
    import nbformat

    nb = nbformat.read(path, as_version=4)
    changed = False
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
        if cell.cell_type == "code" and grade_id.startswith("answer_"):
            kept = [line for line in cell.source.splitlines() if line.strip() not in STUB_LINES]
            if len(kept) != len(cell.source.splitlines()):
                cell.source = "\n".join(kept)
                changed = True
    if changed:
        nbformat.write(nb, path)


def _cells(path: Path) -> list[tuple[str, str, Any]]:
    import nbformat

    nb = nbformat.read(path, as_version=4)
    return [(c.cell_type, c.source, dict(c.metadata.get("nbgrader", {}))) for c in nb.cells]


def register(course: Course, assignment_id: str) -> None:
    """Record the release in the gradebook as `release` does, leaving release/ as it is.

    For a fresh clone (release/ committed, no gradebook yet) and after nbgrader's own set-up
    steps (`nbgrader db assignment add A --duedate=...` makes the assignment with no
    notebooks): nbgrader generate_assignment runs on a scratch copy of source/<a> against the
    course's gradebook, which records the grade cells (and keeps a due date already there),
    and what it generates must be what release/<a> holds; a stale release is a CourseError.
    """
    committed = course.release_notebook(assignment_id)
    if not committed.is_file():
        raise CourseError(
            f"{assignment_id} is not released ({committed} is missing); "
            f"run `autograder release {assignment_id}`."
        )
    with tempfile.TemporaryDirectory(prefix="autograder-register-") as tmp:
        scratch = Course(root=Path(tmp), course_id=course.course_id, db_url=course.db_url)
        shutil.copytree(course.source_dir / assignment_id, scratch.source_dir / assignment_id)
        shutil.copy2(course.root / "nbgrader_config.py", scratch.root / "nbgrader_config.py")
        fresh = generate(scratch, assignment_id)
        if _cells(fresh) != _cells(committed):
            raise CourseError(
                f"release/{assignment_id} is stale against source/{assignment_id}; "
                f"run `autograder release {assignment_id}` (and commit release/)."
            )
    log.info("registered the release of %s in the gradebook", assignment_id)


def release(course: Course, assignment_id: str) -> Path:
    """Check the source against the spec, generate the release, add its visible checks."""
    from autograder.judge.visible import write_checks

    spec = course.assignment(assignment_id)
    check_source(course, spec)
    notebook = generate(course, assignment_id)
    write_checks(course, assignment_id)  # after nbgrader, which empties release/<a>/ first
    return notebook
