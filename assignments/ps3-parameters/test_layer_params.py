"""Hidden checks for layer_params(n_in, n_out): n_out·(n_in + 1) weights and biases, an int."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from autograder.judge.suite import Misconception, StudentCrashed, StudentRaised, expect_int

#: A layer on which every wrong model gives a different count (right: 24, no bias: 21,
#: a bias per input: 28), to confirm a diagnosis made on an input where two models agree.
PROBE = (7, 3)


def wrong_models(n_in, n_out):
    """What each known misconception answers for this layer."""
    n_in, n_out = int(n_in), int(n_out)
    return [
        ("params.no_bias", lambda: n_out * n_in),
        ("params.bias_per_input", lambda: n_out * n_in + n_in),
    ]


def _confirmed(student, diagnosis):
    """Whether the student's answer on PROBE is the one `diagnosis` predicts there."""
    try:
        got = student.layer_params(*PROBE)
    except (StudentRaised, StudentCrashed):
        return False
    model = dict(wrong_models(*PROBE)).get(diagnosis)
    try:
        return model is not None and float(got) == float(model())
    except (TypeError, ValueError):
        return False


def check(student, ref, n_in, n_out):
    got = student.layer_params(n_in, n_out)
    try:
        expect_int(
            got,
            ref.layer_params(n_in, n_out),
            what=f"layer_params({n_in}, {n_out})",
            models=wrong_models(n_in, n_out),
            float_diagnosis="params.float_result",
        )
    except Misconception as exc:
        known = dict(wrong_models(n_in, n_out))
        if exc.diagnosis in known and not _confirmed(student, exc.diagnosis):
            raise Misconception("other", exc.message, failing_input=exc.failing_input) from None
        raise


@pytest.mark.item("layer_params", weight=2)
def test_the_first_layer_of_an_mnist_network(student, ref):
    check(student, ref, 784, 128)


@pytest.mark.item("layer_params")
def test_more_outputs_than_inputs(student, ref):
    check(student, ref, 3, 5)


@pytest.mark.item("layer_params")
def test_more_inputs_than_outputs(student, ref):
    check(student, ref, 20, 7)


@pytest.mark.item("layer_params")
def test_a_single_neuron(student, ref):
    check(student, ref, 4, 1)


@pytest.mark.item("layer_params", weight=2)
@given(st.integers(1, 5000), st.integers(1, 5000))
def test_random_layers(student, ref, n_in, n_out):
    check(student, ref, n_in, n_out)


@pytest.mark.item("layer_params")
def test_numpy_integer_sizes(student, ref):
    check(student, ref, np.int64(64), np.int64(10))
