"""Hidden checks for relu(z): max(0, z) elementwise, any shape, and the caller's array untouched."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from autograder.judge.suite import Misconception, expect_close, show


def check(student, ref, z):
    what = f"relu(z) for z = {show(z)}"
    before = z.copy()
    got = student.relu(z)
    models = [("relu.min_instead_of_max", lambda: np.minimum(before, 0))]
    expect_close(got, ref.relu(before), what=what, models=models)
    if 0 in student.last.mutated:
        raise Misconception(
            "relu.inplace_mutation",
            f"{what}: returned the right values, but afterwards the caller's z had changed "
            f"(it was {show(before)}); relu must leave its input as it was.",
            failing_input=what,
        )


@pytest.mark.item("relu", weight=2)
def test_a_vector_with_both_signs(student, ref):
    check(student, ref, np.array([-2.0, -0.5, 0.0, 0.5, 3.0]))


@pytest.mark.item("relu")
def test_a_matrix_keeps_its_shape(student, ref):
    check(student, ref, np.array([[1.5, -1.0, 0.0], [-3.0, 2.0, -0.25]]))


@pytest.mark.item("relu")
def test_three_dimensions(student, ref):
    check(student, ref, (np.arange(24, dtype=float).reshape(2, 3, 4) - 11.5) / 4)


@pytest.mark.item("relu")
def test_all_negative_inputs(student, ref):
    check(student, ref, np.array([-7.0, -1e-3, -1e4]))


@pytest.mark.item("relu")
def test_integer_inputs(student, ref):
    check(student, ref, np.array([-3, 0, 4, -1, 2]))


@pytest.mark.item("relu", weight=2)
@given(
    arrays(
        np.float64,
        array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5),
        elements=st.floats(-100, 100),
    )
)
def test_random_arrays(student, ref, z):
    check(student, ref, z)
