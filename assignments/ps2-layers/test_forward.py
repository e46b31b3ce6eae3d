"""Hidden checks for forward(X, layers): layers applied in order, each with its own activation."""

import itertools

import numpy as np
import pytest
from hypothesis import Phase, given, settings
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

IDENTITY = builtin("identity")


def _linear(layers):
    return [(W, b, IDENTITY) for W, b, _ in layers]


def wrong_models(ref, X, layers):
    """The answers each known misconception gives for this input."""
    last = BY_NAME[layers[-1][2].name]
    return [
        ("forward.reversed_order", lambda: ref.forward(X, layers[::-1])),
        ("forward.activation_skipped", lambda: ref.forward(X, _linear(layers))),
        ("forward.activation_skipped", lambda: ref.forward(X, layers[:-1] + _linear(layers[-1:]))),
        ("forward.activation_skipped", lambda: ref.forward(X, _linear(layers[:1]) + layers[1:])),
        # one activation, the last layer's, applied once after all the products
        ("forward.activation_skipped", lambda: last(ref.forward(X, _linear(layers)))),
    ]


def describe(X, layers):
    parts = ", ".join(f"(W {np.shape(W)}, b {np.shape(b)}, {f.name})" for W, b, f in layers)
    return f"forward(X, layers) for X = {show(X)} and layers [{parts}]"


def check(student, ref, X, layers):
    """forward on a valid network: the right values, or a named misconception."""
    X64 = np.asarray(X, dtype=np.float64)
    layers64 = [(np.asarray(W, dtype=np.float64), np.asarray(b, dtype=np.float64), f) for W, b, f in layers]
    what = describe(X, layers)
    want = ref.forward(X64, layers64)
    try:
        got = student.forward(X, layers)
    except StudentRaised as exc:
        if exc.ename == "ValueError" and raises(lambda: ref.forward(X64, layers64[::-1])):
            raise Misconception(
                "forward.reversed_order",
                f"{what}: raised ValueError ({clip(exc.evalue, 120)}), although each layer fits the "
                f"output of the one before it. Expected shape {want.shape}: {show(want)}.",
            ) from None
        raise
    # float32 accuracy relative to the sizes met along the way: the same network on |values|.
    bound = ref.forward(np.abs(X64), [(np.abs(W), np.abs(b), IDENTITY) for W, b, _ in layers64])
    scale = max(1.0, float(np.max(bound, initial=0.0)))
    expect_close(got, want, what=what, models=wrong_models(ref, X64, layers64), atol=ATOL * scale)


RELU, TANH, SIGMOID = builtin("relu"), builtin("tanh"), builtin("sigmoid")

X_FIVE = np.array([[1.0, -1.0, 2.0], [0.5, 0.5, 0.5], [-2.0, 1.0, 0.0], [3.0, 0.0, -1.0], [0.0, 2.0, 1.0]])
W1 = np.array([[1.0, -1.0, 0.5], [0.0, 2.0, -1.0], [-1.0, 0.5, 1.0], [0.5, 0.5, 0.5]])
B1 = np.array([0.0, -1.0, 0.5, -0.5])
W2 = np.array([[1.0, -2.0, 0.5, 1.0], [-1.0, 1.0, 1.0, 0.0]])
B2 = np.array([0.25, -0.5])


@pytest.mark.item("forward", weight=2)
def test_two_relu_layers(student, ref):
    check(student, ref, X_FIVE, [(W1, B1, RELU), (W2, B2, RELU)])


@pytest.mark.item("forward")
def test_a_regression_head(student, ref):
    W3 = np.array([[2.0, -1.0]])
    check(student, ref, X_FIVE, [(W1, B1, RELU), (W2, B2, RELU), (W3, np.array([0.5]), IDENTITY)])


@pytest.mark.item("forward", weight=2)
def test_square_layers_in_order(student, ref):
    A = np.array([[1.0, 2.0, 0.0], [0.0, 1.0, -1.0], [3.0, 0.0, 1.0]])
    B = np.array([[0.0, 1.0, 1.0], [-1.0, 0.0, 2.0], [1.0, -1.0, 0.0]])
    C = np.array([[2.0, 0.0, -1.0], [1.0, 1.0, 1.0], [0.0, -2.0, 1.0]])
    layers = [
        (A, np.array([0.0, 1.0, -1.0]), RELU),
        (B, np.array([-0.5, 0.0, 0.5]), TANH),
        (C, np.array([1.0, -1.0, 0.0]), IDENTITY),
    ]
    check(student, ref, X_FIVE, layers)


@pytest.mark.item("forward")
def test_layers_whose_shapes_also_fit_backwards(student, ref):
    # 3 -> 2 -> 3 -> 2: the reversed list fits too, and gives other numbers.
    P = np.array([[1.0, -1.0, 0.5], [0.5, 1.0, -1.0]])
    Q = np.array([[1.0, 0.0], [-1.0, 2.0], [0.5, -0.5]])
    R = np.array([[1.0, 1.0, -1.0], [0.0, -1.0, 2.0]])
    layers = [
        (P, np.array([0.5, -0.5]), RELU),
        (Q, np.array([0.0, 1.0, -1.0]), RELU),
        (R, np.array([1.0, 0.0]), SIGMOID),
    ]
    check(student, ref, X_FIVE, layers)


@pytest.mark.item("forward")
def test_one_layer(student, ref):
    check(student, ref, X_FIVE, [(W1, B1, RELU)])


@pytest.mark.item("forward")
def test_the_xor_network(student, ref):
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    layers = [
        (np.array([[1.0, 1.0], [1.0, 1.0]]), np.array([0.0, -1.0]), RELU),
        (np.array([[1.0, -2.0]]), np.array([0.0]), IDENTITY),
    ]
    check(student, ref, X, layers)


@pytest.mark.item("forward")
def test_float32_network(student, ref):
    layers = [
        (W1.astype(np.float32), B1.astype(np.float32), TANH),
        (W2.astype(np.float32), B2.astype(np.float32), RELU),
    ]
    check(student, ref, X_FIVE.astype(np.float32), layers)


@st.composite
def networks(draw):
    sizes = draw(st.lists(st.integers(1, 3), min_size=2, max_size=4))
    values = st.floats(-2, 2)
    X = draw(arrays(np.float64, (draw(st.integers(1, 3)), sizes[0]), elements=values))
    layers = []
    for n_in, n_out in itertools.pairwise(sizes):
        W = draw(arrays(np.float64, (n_out, n_in), elements=values))
        b = draw(arrays(np.float64, (n_out,), elements=values))
        layers.append((W, b, draw(st.sampled_from([RELU, TANH]))))
    return X, layers


# Shrinking a failing network to a minimal one takes hypothesis hundreds of calls (a skipped
# activation only shows through a negative weight after a clipped neuron), so the first failing
# network, already small, is the one reported.
@pytest.mark.item("forward", weight=2)
@settings(phases=[Phase.explicit, Phase.reuse, Phase.generate])
@given(networks())
def test_random_networks(student, ref, network):
    check(student, ref, *network)
