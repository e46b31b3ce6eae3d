"""Hidden checks for weight_shapes(sizes): one (n_out, n_in) pair of ints per layer."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from autograder.judge.suite import Misconception, StudentCrashed, StudentRaised, show

#: Sizes with no two equal neighbours, to confirm a diagnosis made on an input where the wrong
#: shapes and the right ones happen to look alike.
PROBE = [7, 3, 5]


def _pairs(value):
    """The answer as an int array of shape (L, 2) when it reads as one, else None."""
    if isinstance(value, str | dict) or value is None:
        return None
    try:
        array = np.asarray(value)
    except (TypeError, ValueError):
        return None
    if array.ndim != 2 or array.shape[1] != 2 or array.dtype.kind not in "iuf":
        return None
    return array


def _as_text(pairs):
    return "[" + ", ".join(f"({a!r}, {b!r})" for a, b in pairs.tolist()) + "]"


def _diagnose(pairs, want):
    """The misconception that gives these pairs, else "other"."""
    if pairs is not None:
        if pairs.shape == want.shape and np.array_equal(pairs, want[:, ::-1]):
            return "params.shape_transposed"
        if pairs.shape == (len(want) + 1, 2) and np.array_equal(pairs[1:], want):
            return "params.includes_input_layer"
    return "other"


def _confirmed(student, diagnosis):
    """Whether the student's answer on PROBE shows the same misconception."""
    try:
        got = student.weight_shapes(list(PROBE))
    except (StudentRaised, StudentCrashed):
        return False
    want = np.array([(3, 7), (5, 3)])  # the right shapes for PROBE
    return _diagnose(_pairs(got), want) == diagnosis


def check(student, ref, sizes):
    what = f"weight_shapes({list(sizes)!r})"
    got = student.weight_shapes(sizes)
    want = np.asarray(ref.weight_shapes(sizes), dtype=np.int64).reshape(-1, 2)
    pairs = _pairs(got)
    if pairs is not None and pairs.shape == want.shape and np.array_equal(pairs, want):
        if pairs.dtype.kind in "iu":
            return
        raise Misconception(
            "params.float_result",
            f"{what}: returned {_as_text(pairs)}, with floats; a shape holds ints: expected "
            f"{_as_text(want)}.",
        )
    diagnosis = _diagnose(pairs, want)
    if diagnosis != "other" and not _confirmed(student, diagnosis):
        diagnosis = "other"
    shown = _as_text(pairs) if pairs is not None else show(got)
    raise Misconception(diagnosis, f"{what}: returned {shown}, expected {_as_text(want)}.")


@pytest.mark.item("weight_shapes", weight=2)
def test_the_mnist_network(student, ref):
    check(student, ref, [784, 128, 64, 10])


@pytest.mark.item("weight_shapes")
def test_one_layer(student, ref):
    check(student, ref, [20, 7])


@pytest.mark.item("weight_shapes")
def test_a_square_layer_then_a_narrow_one(student, ref):
    check(student, ref, [4, 4, 2])


@pytest.mark.item("weight_shapes")
def test_sizes_as_a_tuple(student, ref):
    check(student, ref, (3072, 200, 10))


@pytest.mark.item("weight_shapes", weight=2)
@given(st.lists(st.integers(1, 300), min_size=2, max_size=6))
def test_random_networks(student, ref, sizes):
    check(student, ref, sizes)
