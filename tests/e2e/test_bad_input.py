"""Bad notebooks are rows with status `error` and a message that says what is wrong."""

from __future__ import annotations

import json
import os
import shutil

import nbformat
import pytest

from autograder import batch
from autograder.errors import CourseError

pytestmark = pytest.mark.slow


def tamper(path, change):
    nb = nbformat.read(path, as_version=4)
    change(nb)
    nbformat.write(nb, path)


def cell(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def test_a_batch_of_bad_notebooks_is_all_rows_and_nothing_crashes(course, submit, repo_course):
    submit("good")
    submit("badjson").write_text('{"cells": [')
    submit("empty").write_bytes(b"")
    submit("oldformat").write_text(json.dumps({"nbformat": 3, "nbformat_minor": 0, "worksheets": []}))
    tamper(submit("deleted"), lambda nb: nb.cells.remove(cell(nb, "test_softmax")))

    def duplicate(nb):
        copy = nbformat.v4.new_code_cell(cell(nb, "test_mse").source)
        copy.metadata = cell(nb, "test_mse").metadata
        nb.cells.append(copy)

    tamper(submit("twice"), duplicate)
    tamper(
        submit("checksum"), lambda nb: cell(nb, "test_softmax").metadata["nbgrader"].update(checksum="0" * 32)
    )
    other = submit("other")
    shutil.copyfile(repo_course.release_notebook("ps3-parameters"), other)
    huge = submit("huge")
    with huge.open("r+b") as f:
        f.truncate(500 << 20)  # sparse: 500 MB long, nothing on disk
    odd = course.submitted_dir / os.fsdecode(b"caf\xe9")
    shutil.copytree(course.submitted_dir / "good", odd)

    summary = batch.grade(course, "ps4-softmax", workers=2)
    rows = {r.student_id: r for r in summary.results}
    assert summary.graded == 10
    assert (
        rows["good"].status == "graded" and rows["good"].score == course.assignment("ps4-softmax").max_points
    )
    expected = {
        "badjson": "not a valid notebook (JSON error, line 1)",
        "empty": "is empty",
        "oldformat": "notebook format 3",
        "deleted": "lost its test cell 'test_softmax'",
        "twice": "the cell 'test_mse' appears 2 times",
        "checksum": "carries an edited checksum",
        "other": "is it the notebook of another assignment",
        "huge": "is 500 MB, over the 50 MB limit",
        "caf\ufffd": "folder name is not valid UTF-8",
    }
    for student, text in expected.items():
        result = rows[student]
        assert result.status == "error", student
        assert all(i.status == "error" and i.score == 0 for i in result.items), student
        assert text in result.items[0].message, (student, result.items[0].message)
    csv_text = (course.reports_dir / "ps4-softmax" / "scores.csv").read_text()
    assert "caf\ufffd" in csv_text


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ("def test_broken(student:\n", "syntax error on line 1"),
        (
            'import pytest\n\n@pytest.mark.item("nope")\ndef test_x(student):\n    pass\n',
            "'nope', which is not an item",
        ),
    ],
)
def test_a_broken_hidden_suite_is_a_course_error_naming_the_file(course, submit, workers, change, reason):
    """In this process or from forked judges, the same error class and message reach the user."""
    submit("ada")
    submit("bob")
    (course.assignments_dir / "ps4-softmax" / "test_broken.py").write_text(change)
    with pytest.raises(CourseError, match="test_broken.py") as caught:
        batch.grade(course, "ps4-softmax", workers=workers)
    assert reason in str(caught.value)
