"""Hidden checks may use pytest's own fixtures, marks and parameters, not only `student` and `ref`.

Most checks are called directly with the student's proxy (the judge's fast path); any other
goes through pytest's setup and teardown. Both must grade the same way.
"""

from __future__ import annotations

import logging

import pytest

from autograder import batch

pytestmark = pytest.mark.slow

EXTRA_CHECKS = """
import numpy as np
import pytest


@pytest.fixture
def zeros():
    return np.zeros(4)


@pytest.mark.item("mse")
def test_with_pytest_fixtures(student, tmp_path, zeros):
    (tmp_path / "scratch.txt").write_text("a check may use tmp_path")
    assert tmp_path.is_dir()
    assert student.mse(zeros, zeros) == 0.0, "mse: the error of a perfect prediction is 0"


@pytest.mark.item("mse")
@pytest.mark.skipif(True, reason="a skipped check counts for nothing")
def test_skipped_by_a_mark(student):
    raise AssertionError("mse: never run")


@pytest.mark.item("mse")
def test_that_prints_and_warns(student):
    import warnings

    print("a hidden check's own output")
    warnings.warn("a hidden check's own warning")
    assert student.mse(np.ones(2), np.ones(2)) == 0.0, "mse: the error of a perfect prediction is 0"


@pytest.mark.item("mse")
@pytest.mark.parametrize("n", [1, 3])
def test_parametrized(student, ref, n):
    y = np.arange(n, dtype=float)
    assert np.isclose(student.mse(y, y + 1.0), ref.mse(y, y + 1.0)), "mse: off by one everywhere"
"""


def test_checks_with_pytest_fixtures_marks_and_parameters_grade_like_any_other(course, submit, capfd, caplog):
    submit("ada")
    submit("bob", stub=True)
    (course.assignments_dir / "ps4-softmax" / "test_extra.py").write_text(EXTRA_CHECKS)
    rows = {r.student_id: r for r in batch.grade(course, "ps4-softmax", workers=1).results}
    mse = {sid: next(i for i in row.items if i.item == "mse") for sid, row in rows.items()}
    # ada passes every check that ran; the skipped one would have failed had it counted
    assert mse["ada"].score == mse["ada"].max_score and mse["ada"].status == "passed"
    # bob's stub is missing in the checks pytest sets up, as in the direct ones
    assert mse["bob"].score == 0.0 and mse["bob"].status == "missing"
    out, err = capfd.readouterr()  # what checks print or warn reaches no terminal
    assert "hidden check's own" not in out + err
    assert not [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]  # no internal error
