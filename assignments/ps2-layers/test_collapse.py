"""Hidden checks for collapse(weights): W_L ⋯ W_2 W_1, with non-commuting and non-square layers."""

import functools
import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from autograder.judge.suite import ATOL, Misconception, StudentRaised, clip, expect_close, raises, show


def _in_given_order(weights):
    """W1 W2 ⋯ W_L: the product in the order the list is written."""
    return functools.reduce(np.matmul, weights)


def describe(weights):
    if len(weights) <= 3 and all(np.size(W) <= 9 for W in weights):
        listed = ", ".join(show(W, limit=60) for W in weights)
    else:
        listed = ", ".join(f"W{i + 1} of shape {np.shape(W)}" for i, W in enumerate(weights))
    return f"collapse([{listed}])"


def check(student, ref, weights):
    """collapse of a valid chain: the right product, or a named misconception."""
    weights64 = [np.asarray(W, dtype=np.float64) for W in weights]
    what = describe(weights)
    want = ref.collapse(weights64)
    try:
        got = student.collapse(weights)
    except StudentRaised as exc:
        if exc.ename == "ValueError" and raises(lambda: _in_given_order(weights64)):
            raise Misconception(
                "collapse.wrong_order",
                f"{what}: raised ValueError ({clip(exc.evalue, 120)}), although each matrix fits the "
                f"output of the one before it: W_L ⋯ W_1 has shape {want.shape}. Expected {show(want)}.",
            ) from None
        raise
    bound = ref.collapse([np.abs(W) for W in weights64])
    scale = max(1.0, float(np.max(bound, initial=0.0)))
    expect_close(
        got,
        want,
        what=what,
        models=[("collapse.wrong_order", lambda: _in_given_order(weights64))],
        atol=ATOL * scale,
    )


@pytest.mark.item("collapse", weight=2)
def test_two_square_matrices_that_do_not_commute(student, ref):
    check(student, ref, [np.array([[1.0, 2.0], [0.0, 1.0]]), np.array([[0.0, 1.0], [1.0, 0.0]])])


@pytest.mark.item("collapse", weight=2)
def test_a_chain_three_to_four_to_two(student, ref):
    W1 = np.array([[1.0, 0.0, -1.0], [2.0, 1.0, 0.0], [0.0, -1.0, 1.0], [1.0, 1.0, 1.0]])
    W2 = np.array([[1.0, -1.0, 0.5, 0.0], [0.0, 2.0, 1.0, -1.0]])
    check(student, ref, [W1, W2])


@pytest.mark.item("collapse")
def test_a_chain_whose_reverse_also_fits(student, ref):
    # W1 (2, 3), W2 (3, 2): W2 W1 is (3, 3), W1 W2 is (2, 2).
    W1 = np.array([[1.0, 2.0, 0.0], [0.0, -1.0, 1.0]])
    W2 = np.array([[1.0, 1.0], [2.0, 0.0], [0.0, -1.0]])
    check(student, ref, [W1, W2])


@pytest.mark.item("collapse")
def test_three_square_layers(student, ref):
    A = np.array([[1.0, 2.0, 0.0], [0.0, 1.0, -1.0], [3.0, 0.0, 1.0]])
    B = np.array([[0.0, 1.0, 1.0], [-1.0, 0.0, 2.0], [1.0, -1.0, 0.0]])
    C = np.array([[2.0, 0.0, -1.0], [1.0, 1.0, 1.0], [0.0, -2.0, 1.0]])
    check(student, ref, [A, B, C])


@pytest.mark.item("collapse")
def test_four_layers_of_mixed_sizes(student, ref):
    rng = np.random.default_rng(3)
    sizes = [2, 5, 3, 4, 1]
    check(student, ref, [rng.normal(size=(o, i)) for i, o in itertools.pairwise(sizes)])


@pytest.mark.item("collapse")
def test_a_single_layer_is_its_own_matrix(student, ref):
    check(student, ref, [np.array([[1.0, -2.0, 0.5], [3.0, 0.0, 1.0]])])


@pytest.mark.item("collapse")
def test_integer_matrices(student, ref):
    check(student, ref, [np.array([[1, 1], [0, 2]]), np.array([[2, 0], [1, 1]]), np.array([[0, 1], [-1, 3]])])


@st.composite
def chains(draw):
    sizes = draw(st.lists(st.integers(1, 4), min_size=2, max_size=5))
    values = st.floats(-2, 2)
    return [
        draw(arrays(np.float64, (n_out, n_in), elements=values)) for n_in, n_out in itertools.pairwise(sizes)
    ]


@pytest.mark.item("collapse", weight=2)
@given(chains())
def test_random_chains(student, ref, weights):
    check(student, ref, weights)
