"""Hidden checks for sigmoid(z): values, shapes, and finite, warning-free answers up to |z| = 1e4."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from autograder.judge.suite import Misconception, StudentRaised, expect_close, show


def wrong_models(ref, z):
    """The answers each known misconception gives for this input."""
    z = np.asarray(z, dtype=np.float64)
    return [
        ("sigmoid.wrong_sign", lambda: ref.sigmoid(-z)),
        ("sigmoid.overflow", lambda: np.exp(z) / (1.0 + np.exp(z))),
        ("sigmoid.overflow", lambda: 1.0 / (1.0 + np.exp(-z))),
    ]


def _has_non_finite(got):
    try:
        return not np.all(np.isfinite(np.asarray(got, dtype=np.float64)))
    except (TypeError, ValueError):
        return False


def check(student, ref, z):
    what = f"sigmoid(z) for z = {show(z)}"
    try:
        got = student.sigmoid(z)
    except StudentRaised as exc:
        if exc.ename in ("OverflowError", "FloatingPointError"):
            raise Misconception(
                "sigmoid.overflow", f"{what}: raised {exc.ename} ({exc.evalue}).", failing_input=what
            ) from None
        raise
    want = ref.sigmoid(np.asarray(z, dtype=np.float64))
    try:
        expect_close(got, want, what=what, models=wrong_models(ref, z))
    except Misconception as exc:
        if exc.diagnosis == "other" and _has_non_finite(got):
            raise Misconception("sigmoid.overflow", exc.message, failing_input=what) from None
        raise
    overflow = [w for w in student.last.warnings if "overflow" in w]
    if overflow:
        raise Misconception(
            "sigmoid.overflow",
            f"{what}: returned the right values, but NumPy warned while computing them "
            f"({overflow[0]}); sigmoid must not overflow anywhere in [-1e4, 1e4].",
            failing_input=what,
        )


@pytest.mark.item("sigmoid", weight=2)
def test_values_around_zero(student, ref):
    check(student, ref, np.array([-2.0, -1.0, 0.0, 1.0, 2.0]))


@pytest.mark.item("sigmoid")
def test_a_matrix_keeps_its_shape(student, ref):
    check(student, ref, np.array([[0.5, -3.0, 4.0], [-0.25, 6.0, -7.5]]))


@pytest.mark.item("sigmoid", weight=2)
@given(
    arrays(
        np.float64,
        array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=5),
        elements=st.floats(-30, 30),
    )
)
def test_random_arrays(student, ref, z):
    check(student, ref, z)


@pytest.mark.item("sigmoid", weight=2)
def test_huge_inputs_stay_finite_and_quiet(student, ref):
    check(student, ref, np.array([-1e4, -1000.0, -750.0, -710.0, 0.0, 710.0, 750.0, 1000.0, 1e4]))


@pytest.mark.item("sigmoid")
def test_huge_matrix(student, ref):
    check(student, ref, np.array([[-800.0, 800.0], [1e4, -1e4], [-3.0, 3.0]]))


@pytest.mark.item("sigmoid")
def test_float32_inputs(student, ref):
    check(student, ref, np.array([-100.0, -20.0, -1.0, 0.0, 1.0, 20.0, 100.0], dtype=np.float32))
