"""The course as shipped: release/ matches source/, and every suite proves itself."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from autograder.course import release
from autograder.course.layout import copy_course, load_course
from autograder.validate import validate

REPO = Path(__file__).resolve().parents[2]
ASSIGNMENTS = load_course(REPO).assignment_ids()

pytestmark = pytest.mark.slow


def cells(path: Path) -> list[tuple[str, str, dict]]:
    nb = nbformat.read(path, as_version=4)
    return [(c.cell_type, c.source, dict(c.metadata.get("nbgrader", {}))) for c in nb.cells]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_is_generated_from_source_and_not_stale(assignment, repo_course, tmp_path):
    committed = repo_course.release_notebook(assignment)
    assert committed.is_file(), f"release/{assignment} is missing: run `autograder release {assignment}`"
    fresh = release.release(copy_course(repo_course, tmp_path / "c"), assignment)
    assert cells(fresh) == cells(committed), (
        f"release/{assignment} is stale against source/: run `autograder release {assignment}` and commit it"
    )


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_holds_no_solution_hidden_test_or_quiz_key(assignment, repo_course):
    text = repo_course.release_notebook(assignment).read_text()
    for marker in ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
        assert marker not in text
    spec = repo_course.assignment(assignment)
    nb = nbformat.read(repo_course.release_notebook(assignment), as_version=4)
    answer_cells = {
        c.metadata["nbgrader"]["grade_id"]: c.source
        for c in nb.cells
        if c.metadata.get("nbgrader", {}).get("grade_id", "").startswith("answer_")
    }
    for q in spec.quiz:
        assert f"answer_{q.id} = {q.answer!r}" not in answer_cells.get(f"answer_{q.id}", "")


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_validate_proves_the_suite(assignment, repo_course):
    rows = validate(repo_course, assignment, workers=2)
    bad = [f"{r.case}: expected {r.expected}; got {r.got}" for r in rows if not r.ok]
    assert not bad, "\n".join(bad)
