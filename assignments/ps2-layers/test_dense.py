"""Hidden checks for dense(W, x, b, activation): values, W versus Wᵀ, bias, activation, shapes."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from autograder.judge.suite import (
    ATOL,
    BY_NAME,
    Misconception,
    StudentRaised,
    builtin,
    clip,
    expect_close,
    raises,
    show,
)


def wrong_models(W, x, b, act):
    """The answers each known misconception gives for this input."""
    f = BY_NAME[act]
    return [
        ("dense.transposed", lambda: f(W.T @ x + b)),
        ("dense.no_activation", lambda: W @ x + b),
        ("dense.no_bias", lambda: f(W @ x)),
    ]


def check(student, ref, W, x, b, act):
    """dense on a valid layer: the right values, or a named misconception."""
    W64, x64, b64 = (np.asarray(a, dtype=np.float64) for a in (W, x, b))
    what = f"dense(W, x, b, {act}) for W = {show(W)}, x = {show(x)}, b = {show(b)}"
    want = ref.dense(W64, x64, b64, builtin(act))
    try:
        got = student.dense(W, x, b, builtin(act))
    except StudentRaised as exc:
        if exc.ename == "ValueError" and raises(lambda: W64.T @ x64 + b64):
            raise Misconception(
                "dense.transposed",
                f"{what}: raised ValueError ({clip(exc.evalue, 120)}), although these shapes fit: "
                f"W is {W.shape}, x is {x.shape}, b is {b.shape}. Expected {show(want)}.",
            ) from None
        raise
    # float32 accuracy relative to the size of the terms that are summed, not only the result.
    scale = max(1.0, float(np.max(np.abs(W64) @ np.abs(x64) + np.abs(b64), initial=0.0)))
    expect_close(got, want, what=what, models=wrong_models(W64, x64, b64, act), atol=ATOL * scale)


def expect_value_error(student, W, x, b, act, why):
    """dense on mismatched shapes must raise ValueError."""
    what = (
        f"dense(W, x, b, {act}) with W of shape {np.shape(W)}, x of shape {np.shape(x)} "
        f"and b of shape {np.shape(b)}"
    )
    try:
        got = student.dense(W, x, b, builtin(act))
    except StudentRaised as exc:
        if exc.ename == "ValueError":
            return
        raise Misconception(
            "dense.no_shape_check",
            f"{what}: raised {exc.ename} ({clip(exc.evalue, 100)}); expected a ValueError, because {why}.",
        ) from None
    raise Misconception(
        "dense.no_shape_check",
        f"{what}: returned {show(np.asarray(got) if isinstance(got, np.generic) else got)} "
        f"instead of raising ValueError, although {why}.",
    )


W_TALL = np.array([[1.0, 0.0], [-1.0, 1.0], [1.0, -2.0]])
X_TWO = np.array([2.0, 3.0])
B_THREE = np.array([0.5, -2.0, 1.0])


@pytest.mark.item("dense")
def test_a_layer_of_three_neurons(student, ref):
    check(student, ref, W_TALL, X_TWO, B_THREE, "relu")


@pytest.mark.item("dense", weight=2)
def test_square_layers_tell_w_from_w_transposed(student, ref):
    W = np.array([[1.0, 2.0, 0.0], [0.0, 1.0, -1.0], [3.0, 0.0, 1.0]])
    check(student, ref, W, np.array([1.0, -1.0, 2.0]), np.array([0.5, -0.5, 1.0]), "tanh")
    W2 = np.array([[0.5, -1.5], [2.0, 1.0]])
    check(student, ref, W2, np.array([1.0, 2.0]), np.array([1.0, -2.0]), "relu")


@pytest.mark.item("dense", weight=2)
def test_wide_layer(student, ref):
    W = np.array([[1.0, -2.0, 0.5, 0.0], [0.0, 1.0, 1.0, -1.0]])
    check(student, ref, W, np.array([1.0, 0.5, -2.0, 3.0]), np.array([0.25, 1.0]), "relu")


@pytest.mark.item("dense")
def test_the_activation_is_applied(student, ref):
    W = np.array([[2.0, -1.0], [-1.0, 0.5], [0.0, 3.0], [1.0, 1.0]])
    check(student, ref, W, np.array([0.5, 2.0]), np.array([0.1, -0.2, -4.0, 0.0]), "sigmoid")
    check(student, ref, W, np.array([-1.0, 1.0]), np.array([1.0, 2.0, -1.0, 0.5]), "relu")


@pytest.mark.item("dense")
def test_the_bias_is_added(student, ref):
    check(student, ref, np.zeros((3, 2)), np.array([4.0, -7.0]), np.array([1.0, -0.5, 2.0]), "sigmoid")


@pytest.mark.item("dense")
def test_one_neuron_one_input(student, ref):
    check(student, ref, np.array([[-2.0]]), np.array([1.5]), np.array([0.5]), "identity")
    check(student, ref, np.array([[1.0, 2.0, 3.0]]), np.array([1.0, 0.0, -1.0]), np.array([1.0]), "relu")


@pytest.mark.item("dense")
def test_float32_layer(student, ref):
    W = np.array([[0.5, -1.25], [2.0, 0.75], [-1.0, 1.0]], dtype=np.float32)
    x = np.array([1.5, -2.0], dtype=np.float32)
    b = np.array([0.25, -0.5, 1.0], dtype=np.float32)
    check(student, ref, W, x, b, "tanh")


@st.composite
def layers(draw):
    m, n = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    values = st.floats(-3, 3)
    W = draw(arrays(np.float64, (m, n), elements=values))
    x = draw(arrays(np.float64, (n,), elements=values))
    b = draw(arrays(np.float64, (m,), elements=values))
    return W, x, b, draw(st.sampled_from(["relu", "sigmoid", "tanh"]))


@pytest.mark.item("dense", weight=2)
@given(layers())
def test_random_layers(student, ref, layer):
    check(student, ref, *layer)


@pytest.mark.item("dense")
def test_an_input_of_the_wrong_shape_raises(student, ref):
    expect_value_error(
        student,
        W_TALL,
        X_TWO.reshape(2, 1),
        B_THREE,
        "relu",
        "x must be a vector of shape (2,), not a column (2, 1)",
    )
    expect_value_error(
        student, W_TALL, np.array([2.0, 3.0, 4.0]), B_THREE, "relu", "W has 2 columns, so x needs 2 entries"
    )


@pytest.mark.item("dense")
def test_a_bias_of_the_wrong_shape_raises(student, ref):
    expect_value_error(
        student, W_TALL, X_TWO, np.array([1.0]), "relu", "W has 3 rows, so b needs 3 entries, one per neuron"
    )
    expect_value_error(
        student,
        W_TALL,
        X_TWO,
        B_THREE.reshape(3, 1),
        "relu",
        "b must be a vector of shape (3,), not a column (3, 1)",
    )


@pytest.mark.item("dense")
def test_weights_that_are_not_a_matrix_raise(student, ref):
    expect_value_error(
        student, np.array([1.0, -1.0]), X_TWO, B_THREE, "relu", "W must be a 2-D matrix of shape (m, n)"
    )
