"""Hidden checks for cross_entropy(logits, labels): mean, softmax inside, stable, sign."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from autograder.judge.suite import expect_close, show


def wrong_models(ref, logits, labels):
    rows = np.arange(len(labels))
    n = len(labels)

    def naive():
        p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        return -np.mean(np.log(p[rows, labels]))

    def shifted_then_log():
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        return -np.mean(np.log((e / e.sum(axis=1, keepdims=True))[rows, labels]))

    def log_of_raw_logits(reduce):
        def model():
            # An inf or nan from the log of raw logits says nothing about which mistake gave it:
            # a max-shifted softmax whose log underflows gives inf too (xent.unstable).
            value = -reduce(np.log(logits[rows, labels]))
            if not np.isfinite(value):
                raise ValueError("not finite: tells no misconception apart")
            return value

        return model

    loss = ref.cross_entropy(logits, labels)
    return [
        ("xent.sum_not_mean", lambda: loss * n),
        ("xent.wrong_sign", lambda: -loss),
        ("xent.no_softmax", log_of_raw_logits(np.mean)),
        ("xent.no_softmax", log_of_raw_logits(np.sum)),
        ("xent.unstable", naive),
        ("xent.unstable", shifted_then_log),
    ]


def check(student, ref, logits, labels, *, rtol=1e-5):
    what = f"cross_entropy(logits, labels) for logits = {show(logits)}, labels = {show(labels)}"
    got = student.cross_entropy(logits, labels)
    expect_close(
        got,
        ref.cross_entropy(np.asarray(logits, dtype=float), labels),
        what=what,
        models=wrong_models(ref, np.asarray(logits, dtype=float), labels),
        rtol=rtol,
    )


@pytest.mark.item("cross_entropy", weight=2)
def test_a_small_batch_of_positive_logits(student, ref):
    logits = np.array([[2.0, 1.0, 0.5], [0.3, 2.5, 1.0], [1.0, 1.0, 3.0], [0.2, 0.4, 0.6]])
    check(student, ref, logits, np.array([0, 1, 2, 0]))


@pytest.mark.item("cross_entropy", weight=2)
@given(
    st.integers(1, 6).flatmap(
        lambda n: st.tuples(
            arrays(np.float64, st.tuples(st.just(n), st.integers(2, 5)), elements=st.floats(-20, 20)),
            st.lists(st.integers(0, 1), min_size=n, max_size=n),
        )
    )
)
def test_random_logits(student, ref, case):
    logits, labels = case
    check(student, ref, logits, np.array(labels))


@pytest.mark.item("cross_entropy", weight=2)
def test_huge_logits_stay_finite(student, ref):
    logits = np.array([[1e4, 0.0, -1e4], [0.0, 1e4, 0.0], [500.0, 800.0, 900.0]])
    check(student, ref, logits, np.array([0, 2, 1]))


@pytest.mark.item("cross_entropy")
def test_one_example(student, ref):
    check(student, ref, np.array([[1.0, 2.0, 3.0]]), np.array([2]))


@pytest.mark.item("cross_entropy")
def test_float32_logits(student, ref):
    logits = np.array([[0.5, 1.5, -0.25], [3.0, 2.0, 1.0]], dtype=np.float32)
    check(student, ref, logits, np.array([1, 0]))
