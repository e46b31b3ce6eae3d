"""Hidden checks for predict(scores, classes): one example, a batch, labels of any kind."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from autograder.judge.suite import Misconception, show


def _as_labels(value):
    try:
        return np.asarray(value).astype(str)
    except (TypeError, ValueError):
        return None


def check(student, ref, scores, classes):
    what = f"predict(scores, classes) for scores = {show(scores)}, classes = {classes!r}"
    got = student.predict(scores, classes)
    want = _as_labels(ref.predict(scores, classes))
    labels = _as_labels(got)
    if labels is not None and labels.shape == want.shape and np.array_equal(labels, want):
        return
    index = np.argmax(scores, axis=-1)
    models = [
        ("predict.returns_index", index),
        ("predict.argmin", np.asarray(classes)[np.argmin(scores, axis=-1)]),
    ]
    diagnosis = next(
        (
            d
            for d, m in models
            if labels is not None and labels.shape == np.shape(m) and np.array_equal(labels, _as_labels(m))
        ),
        "other",
    )
    raise Misconception(diagnosis, f"{what}: returned {show(got)}, expected {show(want)}.")


@pytest.mark.item("predict")
def test_one_example_with_word_labels(student, ref):
    check(student, ref, np.array([0.2, 3.1, -1.0, 0.7]), ["cat", "dog", "bird", "fish"])


@pytest.mark.item("predict", weight=2)
def test_a_batch_gives_one_label_per_row(student, ref):
    scores = np.array([[2.0, 1.0, 0.1], [0.0, 0.5, 4.0], [1.0, 3.0, 2.0], [-1.0, -2.0, -0.5]])
    check(student, ref, scores, ["red", "green", "blue"])


@pytest.mark.item("predict")
def test_number_labels_are_not_positions(student, ref):
    check(student, ref, np.array([[0.1, 0.9, 0.3], [5.0, 1.0, 2.0]]), [7, 3, 9])


@pytest.mark.item("predict", weight=2)
@given(
    arrays(
        np.float64, st.tuples(st.integers(1, 6), st.integers(2, 5)), elements=st.floats(-10, 10), unique=True
    )
)
def test_random_batches(student, ref, scores):
    classes = tuple(f"class_{chr(97 + i)}" for i in range(scores.shape[1]))
    check(student, ref, scores, classes)
