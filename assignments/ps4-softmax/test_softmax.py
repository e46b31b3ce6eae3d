"""Hidden checks for softmax(z, axis=-1): values, batches, other axes, huge scores, float32."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from autograder.judge.suite import expect_close, show


def _naive(z, axis):
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


def wrong_models(ref, z, axis=-1):
    """The answers each known misconception gives for this input."""
    other = 0 if (axis % z.ndim) != 0 else -1
    return [
        # First: on huge scores several wrong models give the same nan, and this is the likeliest.
        ("softmax.no_max_shift", lambda: _naive(z, axis)),
        ("softmax.wrong_axis", lambda: ref.softmax(z, axis=other)),
        ("softmax.normalised_over_all", lambda: np.exp(z - z.max()) / np.exp(z - z.max()).sum()),
        ("softmax.normalised_over_all", lambda: np.exp(z) / np.exp(z).sum()),
        ("softmax.not_normalised", lambda: np.exp(z - z.max(axis=axis, keepdims=True))),
        ("softmax.not_normalised", lambda: np.exp(z)),
    ]


def check(student, ref, z, **kwargs):
    axis = kwargs.get("axis", -1)
    what = f"softmax(z{', axis=' + str(axis) if 'axis' in kwargs else ''}) for z = {show(z)}"
    got = student.softmax(z, **kwargs)
    expect_close(got, ref.softmax(z, axis=axis), what=what, models=wrong_models(ref, z, axis))


@pytest.mark.item("softmax")
def test_a_vector_of_three_scores(student, ref):
    check(student, ref, np.array([1.0, 2.0, 3.0]))


@pytest.mark.item("softmax", weight=2)
@given(
    arrays(
        np.float64,
        st.tuples(st.integers(2, 5), st.integers(2, 6)).filter(lambda s: s[0] != s[1]),
        elements=st.floats(-30, 30),
    )
)
def test_each_row_of_a_batch_is_a_distribution(student, ref, z):
    check(student, ref, z)


@pytest.mark.item("softmax")
def test_axis_zero_normalises_columns(student, ref):
    z = np.array([[1.0, 2.0, 0.5, -1.0], [0.0, 1.0, 3.0, 2.0], [2.0, -2.0, 1.0, 0.0]])
    check(student, ref, z, axis=0)


@pytest.mark.item("softmax", weight=2)
def test_huge_scores_stay_finite(student, ref):
    check(student, ref, np.array([[1000.0, 1001.0, 1002.0], [-1e4, 0.0, 1e4]]))


@pytest.mark.item("softmax")
def test_large_vector_scores(student, ref):
    check(student, ref, np.array([710.0, 700.0, -5.0, 0.0]))


@pytest.mark.item("softmax")
def test_float32_scores(student, ref):
    z = np.array([[0.5, 1.5, -0.25], [3.0, 2.0, 1.0]], dtype=np.float32)
    got = student.softmax(z)
    expect_close(
        got,
        ref.softmax(z.astype(np.float64)),
        what=f"softmax(z) for float32 z = {show(z)}",
        models=wrong_models(ref, z.astype(np.float64)),
        rtol=1e-5,
        atol=1e-6,
    )


@pytest.mark.item("softmax")
def test_three_dimensional_scores(student, ref):
    z = np.arange(24, dtype=float).reshape(2, 3, 4) / 5.0
    check(student, ref, z)
