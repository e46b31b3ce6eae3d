"""Hidden checks for dense_batch(X, W, b, activation): a whole batch, the bias along the right axis."""

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


def wrong_models(X, W, b, act):
    """The answers each known misconception gives for this input."""
    f = BY_NAME[act]
    return [
        # b[:, None] and (W Xᵀ + b)ᵀ both add b[i] to every entry of ROW i (example i).
        ("dense_batch.bias_on_wrong_axis", lambda: f(X @ W.T + b[:, None])),
    ]


def _bias_raised(exc, X, W, b):
    """Whether a ValueError on valid shapes is what adding b along the examples gives."""
    if exc.ename != "ValueError" or not raises(lambda: X @ W.T + b[:, None]):
        return False
    # When a transposed product (X W) would fail on this input too, only a broadcasting
    # error points at the bias.
    return not raises(lambda: X @ W + b) or "broadcast" in exc.evalue.lower()


def check(student, ref, X, W, b, act):
    """dense_batch on a valid batch: the right values, or a named misconception."""
    X64, W64, b64 = (np.asarray(a, dtype=np.float64) for a in (X, W, b))
    what = f"dense_batch(X, W, b, {act}) for X = {show(X)}, W = {show(W)}, b = {show(b)}"
    want = ref.dense_batch(X64, W64, b64, builtin(act))
    try:
        got = student.dense_batch(X, W, b, builtin(act))
    except StudentRaised as exc:
        if _bias_raised(exc, X64, W64, b64):
            raise Misconception(
                "dense_batch.bias_on_wrong_axis",
                f"{what}: raised ValueError ({clip(exc.evalue, 120)}), although these shapes fit: "
                f"X is {X.shape} (N = {X.shape[0]} examples) and the layer has m = {W.shape[0]} "
                f"neurons. Expected shape {want.shape}: {show(want)}.",
            ) from None
        raise
    scale = max(1.0, float(np.max(np.abs(X64) @ np.abs(W64).T + np.abs(b64), initial=0.0)))
    expect_close(got, want, what=what, models=wrong_models(X64, W64, b64, act), atol=ATOL * scale)


W_TALL = np.array([[1.0, 0.0], [-1.0, 1.0], [1.0, -2.0]])
B_THREE = np.array([0.5, -2.0, 1.0])


@pytest.mark.item("dense_batch")
def test_four_examples_through_three_neurons(student, ref):
    X = np.array([[2.0, 3.0], [1.0, 1.0], [4.0, 0.5], [-1.0, 2.0]])
    check(student, ref, X, W_TALL, B_THREE, "relu")


@pytest.mark.item("dense_batch", weight=2)
def test_as_many_examples_as_neurons(student, ref):
    X = np.array([[2.0, 3.0], [1.0, -1.0], [0.0, 0.5]])
    check(student, ref, X, W_TALL, B_THREE, "identity")
    check(student, ref, X, W_TALL, np.array([1.0, 0.0, -1.0]), "tanh")


@pytest.mark.item("dense_batch")
def test_a_square_layer_on_five_examples(student, ref):
    W = np.array([[1.0, 2.0, 0.0], [0.0, 1.0, -1.0], [3.0, 0.0, 1.0]])
    X = np.arange(15, dtype=float).reshape(5, 3) / 4 - 1
    check(student, ref, X, W, np.array([0.5, -0.5, 2.0]), "relu")


@pytest.mark.item("dense_batch")
def test_a_batch_of_one_example(student, ref):
    check(student, ref, np.array([[2.0, 3.0]]), W_TALL, B_THREE, "identity")


@pytest.mark.item("dense_batch")
def test_sigmoid_layer(student, ref):
    X = np.array([[0.5, -1.0, 2.0], [1.0, 1.0, 1.0], [-2.0, 0.0, 0.5], [0.0, 0.0, 0.0]])
    W = np.array([[1.0, 0.5, -1.0], [-0.5, 2.0, 0.0]])
    check(student, ref, X, W, np.array([0.3, -1.2]), "sigmoid")


@pytest.mark.item("dense_batch")
def test_float32_batch(student, ref):
    X = np.array([[1.5, -2.0], [0.25, 0.5], [3.0, 1.0], [-1.0, -1.0]], dtype=np.float32)
    W = np.array([[0.5, -1.25], [2.0, 0.75], [-1.0, 1.0]], dtype=np.float32)
    check(student, ref, X, W, np.array([0.25, -0.5, 1.0], dtype=np.float32), "tanh")


@pytest.mark.item("dense_batch")
def test_a_larger_batch(student, ref):
    rng = np.random.default_rng(2)
    X = rng.normal(size=(64, 16))
    W = rng.normal(size=(8, 16)) / 4
    check(student, ref, X, W, rng.normal(size=8), "relu")


@st.composite
def batches(draw):
    N, n, m = draw(st.integers(1, 5)), draw(st.integers(1, 4)), draw(st.integers(1, 4))
    values = st.floats(-3, 3)
    X = draw(arrays(np.float64, (N, n), elements=values))
    W = draw(arrays(np.float64, (m, n), elements=values))
    b = draw(arrays(np.float64, (m,), elements=values))
    return X, W, b, draw(st.sampled_from(["relu", "tanh", "identity"]))


@pytest.mark.item("dense_batch", weight=2)
@given(batches())
def test_random_batches(student, ref, batch):
    check(student, ref, *batch)
