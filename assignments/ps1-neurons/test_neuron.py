"""Hidden checks for neuron(x, w, b, activation): activation(w·x + b) as a number, and a
ValueError when x and w differ in length (probed where elementwise code would broadcast)."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from autograder.judge.suite import ATOL, BY_NAME, Misconception, StudentRaised, builtin, expect_close, show


def check(student, ref, x, w, b, activation):
    act = BY_NAME[activation]
    xs, ws = np.asarray(x, dtype=np.float64), np.asarray(w, dtype=np.float64)
    dot = float(np.dot(ws, xs))
    # A float32 sum rounds each term: allow for it on the scale of the terms, not of the result
    # (w·x may cancel to near 0); every activation here has slope at most 1.
    atol = ATOL * max(1.0, float(np.sum(np.abs(ws * xs))) + abs(float(b)))
    what = f"neuron(x, w, b, {activation}) for x = {show(x)}, w = {show(w)}, b = {b!r}"
    got = student.neuron(x, w, b, builtin(activation))
    models = [
        ("neuron.no_bias", lambda: act(dot)),
        ("neuron.activation_before_bias", lambda: act(dot) + b),
    ]
    expect_close(got, ref.neuron(x, w, b, builtin(activation)), what=what, models=models, atol=atol)


def check_raises(student, x, w, b, activation):
    what = f"neuron(x, w, b, {activation}) for x = {show(x)}, w = {show(w)}, b = {b!r}"
    try:
        got = student.neuron(x, w, b, builtin(activation))
    except StudentRaised as exc:
        if exc.ename == "ValueError":
            return
        raise Misconception(
            "neuron.no_shape_check",
            f"{what}: raised {exc.ename} ({exc.evalue}); expected ValueError, since x and w "
            "have different lengths.",
            failing_input=what,
        ) from None
    raise Misconception(
        "neuron.no_shape_check",
        f"{what}: returned {show(got)}; expected ValueError, since x and w have different lengths.",
        failing_input=what,
    )


@pytest.mark.item("neuron", weight=2)
def test_a_relu_neuron_that_fires(student, ref):
    check(student, ref, np.array([1.0, 2.0, -1.0]), np.array([3.0, -1.0, 2.0]), 4.0, "relu")


@pytest.mark.item("neuron")
def test_the_bias_lifts_a_negative_sum(student, ref):
    check(student, ref, np.array([1.0, 1.0]), np.array([-1.0, -0.5]), 2.0, "relu")


@pytest.mark.item("neuron")
def test_a_sigmoid_neuron(student, ref):
    check(student, ref, np.array([0.5, -1.5, 2.0]), np.array([1.0, 0.4, -0.3]), 0.7, "sigmoid")


@pytest.mark.item("neuron")
def test_a_tanh_neuron(student, ref):
    check(student, ref, np.array([3.0, -1.0]), np.array([0.2, 0.5]), -0.4, "tanh")


@pytest.mark.item("neuron")
def test_no_activation_at_all(student, ref):
    check(student, ref, np.array([1.0, 2.0, 3.0, 4.0]), np.array([0.1, 0.2, 0.3, 0.4]), -2.5, "identity")


@pytest.mark.item("neuron")
def test_one_input(student, ref):
    check(student, ref, np.array([4.0]), np.array([-0.5]), 1.0, "tanh")


@pytest.mark.item("neuron")
def test_integer_inputs_and_bias(student, ref):
    check(student, ref, np.array([1, 2, 3]), np.array([1, -1, 2]), -2, "sigmoid")


@pytest.mark.item("neuron", weight=2)
@given(
    st.integers(1, 6).flatmap(
        lambda n: st.tuples(
            st.lists(st.floats(-3, 3), min_size=n, max_size=n),
            st.lists(st.floats(-3, 3), min_size=n, max_size=n),
        )
    ),
    st.floats(-2, 2),
    st.sampled_from(["relu", "sigmoid", "tanh", "identity"]),
)
def test_random_neurons(student, ref, xw, b, activation):
    x, w = xw
    check(student, ref, np.array(x), np.array(w), b, activation)


@pytest.mark.item("neuron", weight=2)
def test_one_weight_for_three_inputs_raises(student, ref):
    check_raises(student, np.array([1.0, 2.0, 3.0]), np.array([0.5]), 0.0, "identity")


@pytest.mark.item("neuron")
def test_three_weights_for_one_input_raises(student, ref):
    check_raises(student, np.array([2.0]), np.array([1.0, -1.0, 0.5]), 1.0, "relu")


@pytest.mark.item("neuron")
def test_two_weights_for_three_inputs_raises(student, ref):
    check_raises(student, np.array([1.0, 2.0, 3.0]), np.array([0.5, -0.5]), 0.5, "tanh")
