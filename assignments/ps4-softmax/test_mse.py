"""Hidden checks for mse(y_true, y_pred): a mean of squares over every entry."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from autograder.judge.suite import expect_close, show


def check(student, ref, y_true, y_pred):
    d = np.asarray(y_true, dtype=float) - np.asarray(y_pred, dtype=float)
    models = [
        ("mse.sum_not_mean", lambda: np.sum(d**2)),
        ("mse.not_squared", lambda: np.mean(d)),
        ("mse.not_squared", lambda: -np.mean(d)),
        ("mse.not_squared", lambda: np.mean(np.abs(d))),
        ("mse.not_squared", lambda: np.sum(np.abs(d))),
    ]
    got = student.mse(y_true, y_pred)
    expect_close(
        got,
        ref.mse(y_true, y_pred),
        models=models,
        what=f"mse(y_true, y_pred) for y_true = {show(y_true)}, y_pred = {show(y_pred)}",
    )


@pytest.mark.item("mse")
def test_a_worked_example(student, ref):
    check(student, ref, np.array([3.0, -0.5, 2.0, 7.0]), np.array([2.5, 0.0, 2.0, 8.0]))


@pytest.mark.item("mse", weight=2)
@given(
    array_shapes(min_dims=1, max_dims=2, min_side=2, max_side=5).flatmap(
        lambda shape: st.tuples(
            arrays(np.float64, shape, elements=st.floats(-10, 10)),
            arrays(np.float64, shape, elements=st.floats(-10, 10)),
        )
    )
)
def test_random_shapes(student, ref, pair):
    y_true, y_pred = pair
    check(student, ref, y_true, y_pred)


@pytest.mark.item("mse")
def test_errors_of_both_signs_do_not_cancel(student, ref):
    check(student, ref, np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[2.0, 1.0], [4.0, 3.0]]))
