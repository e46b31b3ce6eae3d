"""Hidden checks for count_params(sizes): the parameters of every layer, added up, an int."""

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from autograder.judge.suite import Misconception, StudentCrashed, StudentRaised, expect_int

#: Sizes on which every wrong model gives a different total (right: 56, no biases: 46, a bias
#: per input: 61, input-layer models: 63, 77, 112), to confirm a diagnosis made on an input
#: where two models agree (small random lists such as [1, 1, 1] make many of them agree).
PROBE = [7, 3, 5, 2]


def wrong_models(sizes):
    """What each known misconception answers for these layer sizes."""
    s = [int(v) for v in sizes]
    weights = sum(a * b for a, b in itertools.pairwise(s))
    right = weights + sum(s[1:])
    return [
        ("params.no_bias", lambda: weights),
        ("params.bias_per_input", lambda: weights + sum(s[:-1])),
        # A bias for every neuron of every layer, the input layer's too.
        ("params.includes_input_layer", lambda: weights + sum(s)),
        # A loop over all len(sizes) layers: sizes[i - 1] at i = 0 wraps round to the last size.
        ("params.includes_input_layer", lambda: right + s[0] * (s[-1] + 1)),
        # The input layer treated as a dense layer from itself to itself.
        ("params.includes_input_layer", lambda: right + s[0] * (s[0] + 1)),
    ]


def _confirmed(student, diagnosis):
    """Whether the student's answer on PROBE is one that `diagnosis` predicts there."""
    try:
        got = float(student.count_params(list(PROBE)))
    except (StudentRaised, StudentCrashed, TypeError, ValueError):
        return False
    return any(d == diagnosis and got == float(model()) for d, model in wrong_models(PROBE))


def check(student, ref, sizes):
    got = student.count_params(sizes)
    shown = repr(sizes) if not isinstance(sizes, np.ndarray) else f"np.array({sizes.tolist()})"
    try:
        expect_int(
            got,
            ref.count_params(sizes),
            what=f"count_params({shown})",
            models=wrong_models(sizes),
            float_diagnosis="params.float_result",
        )
    except Misconception as exc:
        known = {d for d, _ in wrong_models(sizes)}
        if exc.diagnosis in known and not _confirmed(student, exc.diagnosis):
            raise Misconception("other", exc.message, failing_input=exc.failing_input) from None
        raise


@pytest.mark.item("count_params", weight=2)
def test_the_mnist_network(student, ref):
    check(student, ref, [784, 128, 64, 10])


@pytest.mark.item("count_params")
def test_one_layer(student, ref):
    check(student, ref, [3, 5])


@pytest.mark.item("count_params")
def test_a_deep_narrow_network(student, ref):
    check(student, ref, [2, 8, 8, 8, 1])


@pytest.mark.item("count_params")
def test_sizes_as_a_tuple(student, ref):
    check(student, ref, (3072, 200, 10))


@pytest.mark.item("count_params")
def test_sizes_as_a_numpy_array(student, ref):
    check(student, ref, np.array([100, 30, 2]))


@pytest.mark.item("count_params")
def test_wide_layers(student, ref):
    check(student, ref, [4096, 4096, 4096, 1000])


@pytest.mark.item("count_params", weight=2)
@given(st.lists(st.integers(1, 500), min_size=2, max_size=6))
def test_random_networks(student, ref, sizes):
    check(student, ref, sizes)
