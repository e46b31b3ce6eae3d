"""What a student is told is true: quiz points survive a hang, a failed import is named, SciPy is
part of the course, and the self-check's answers are the grade's."""

from __future__ import annotations

import pytest

from autograder import batch

pytestmark = pytest.mark.slow

SCIPY_SOFTMAX = """from scipy.special import logsumexp, softmax as sp_softmax


def softmax(z, axis=-1):
    return sp_softmax(z, axis=axis)
"""
SCIPY_XENT = """from scipy.special import logsumexp


def cross_entropy(logits, labels):
    logits = np.asarray(logits, dtype=float)
    rows = np.arange(len(labels))
    return float(np.mean(logsumexp(logits, axis=1) - logits[rows, labels]))
"""
MISSING_IMPORT = """import torchvision_is_not_here


def softmax(z, axis=-1):
    e = np.exp(z - np.max(z, axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)
"""
HANGING_MSE = """def mse(y_true, y_pred):
    while True:
        pass
"""


@pytest.fixture
def rows(course, submit):
    """Grade three ps4 notebooks once; (student, item) -> ItemResult."""
    submit("scipy", {"softmax": SCIPY_SOFTMAX, "cross_entropy": SCIPY_XENT})
    submit("no_module", {"softmax": MISSING_IMPORT})
    # An early cell that ends the process and a function that never returns: the quiz after
    # them is answered, and keeps its points (issue #15).
    submit("hangs", {"mse": HANGING_MSE}, extra_cells=["import os\nos._exit(3)"])
    results = batch.grade(course, "ps4-softmax", workers=1).results
    return {(r.student_id, i.item): i for r in results for i in r.items}


def test_a_correct_notebook_that_uses_scipy_special_scores_full(rows):
    for item in ("softmax", "cross_entropy", "predict", "mse"):
        assert rows["scipy", item].status == "passed", rows["scipy", item].message


def test_an_import_the_grader_lacks_is_named_with_what_the_course_provides(rows):
    row = rows["no_module", "softmax"]
    assert (row.status, row.diagnosis) == ("error", "error")
    assert "not written yet" not in row.message
    assert "raised ModuleNotFoundError: No module named 'torchvision_is_not_here'" in row.message
    assert "which has NumPy, SciPy and Matplotlib; use those, or remove the import." in row.message
    assert rows["no_module", "predict"].status == "passed"


def test_a_hang_and_an_exit_cost_no_quiz_points(rows):
    quiz = {item: r for (student, item), r in rows.items() if student == "hangs" and item.startswith("quiz.")}
    assert quiz and all(r.status == "passed" and r.score == r.max_score for r in quiz.values()), quiz
    assert rows["hangs", "mse"].status == "timeout"
    for item in ("softmax", "cross_entropy", "predict"):
        assert rows["hangs", item].status == "passed", rows["hangs", item].message
