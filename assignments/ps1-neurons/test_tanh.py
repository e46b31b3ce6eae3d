"""Hidden checks for tanh(z): the hyperbolic tangent, elementwise, any shape."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from autograder.judge.suite import expect_close, show


def check(student, ref, z):
    got = student.tanh(z)
    expect_close(got, ref.tanh(np.asarray(z, dtype=np.float64)), what=f"tanh(z) for z = {show(z)}")


@pytest.mark.item("tanh", weight=2)
def test_values_around_zero(student, ref):
    check(student, ref, np.array([-2.0, -0.5, 0.0, 0.5, 2.0]))


@pytest.mark.item("tanh")
def test_a_matrix_keeps_its_shape(student, ref):
    check(student, ref, np.array([[1.0, -1.0, 0.25], [3.0, -4.0, 0.0]]))


@pytest.mark.item("tanh")
def test_saturates_towards_plus_and_minus_one(student, ref):
    check(student, ref, np.array([-40.0, -20.0, 20.0, 40.0]))


@pytest.mark.item("tanh")
def test_float32_inputs(student, ref):
    check(student, ref, np.array([-3.0, -0.1, 0.0, 0.1, 3.0], dtype=np.float32))


@pytest.mark.item("tanh", weight=2)
@given(
    arrays(
        np.float64,
        array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4),
        elements=st.floats(-10, 10),
    )
)
def test_random_arrays(student, ref, z):
    check(student, ref, z)
