"""Hidden checks for xor_network(): parameters of fitting shapes whose scores separate XOR."""

import numpy as np
import pytest

from autograder.judge.suite import Misconception, show

X_XOR = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR = [0, 1, 1, 0]
WHAT = "xor_network()"


def parameters(student):
    """(W1, b1, W2, b2) as float arrays with W2 as (h,) and b2 as a scalar, or a message why not."""
    got = student.xor_network()
    if not isinstance(got, list | tuple) or len(got) != 4:
        raise Misconception("other", f"{WHAT}: returned {show(got)}; expected a tuple (W1, b1, W2, b2).")
    arrays = []
    for name, value in zip(("W1", "b1", "W2", "b2"), got, strict=True):
        try:
            array = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            raise Misconception(
                "other", f"{WHAT}: {name} = {show(value)} is not an array of numbers."
            ) from None
        if not np.all(np.isfinite(array)):
            raise Misconception("other", f"{WHAT}: {name} = {show(array)} holds nan or inf.")
        arrays.append(array)
    W1, b1, W2, b2 = arrays
    if W1.ndim != 2 or W1.shape[1] != 2 or W1.shape[0] < 1:
        raise Misconception(
            "other",
            f"{WHAT}: W1 has shape {W1.shape}; expected (h, 2): one row per hidden neuron, "
            "one column per input.",
        )
    h = W1.shape[0]
    problems = []
    if b1.shape != (h,):
        problems.append(f"b1 has shape {b1.shape}, expected ({h},)")
    if W2.shape not in ((1, h), (h,)):
        problems.append(f"W2 has shape {W2.shape}, expected (1, {h}) or ({h},)")
    if b2.shape not in ((1,), ()):
        problems.append(f"b2 has shape {b2.shape}, expected (1,) or a number")
    if problems:
        raise Misconception("other", f"{WHAT}: with W1 of shape {W1.shape}, " + "; ".join(problems) + ".")
    return W1, b1, W2.reshape(h), float(b2.reshape(()))


@pytest.mark.item("xor_network")
def test_four_parameters_of_fitting_shapes(student, ref):
    parameters(student)


@pytest.mark.item("xor_network", weight=3)
def test_the_scores_separate_xor(student, ref):
    W1, b1, W2, b2 = parameters(student)
    hidden = np.maximum(X_XOR @ W1.T + b1, 0.0)
    scores = hidden @ W2 + b2
    labels = (scores > 0.5).astype(int).tolist()
    if labels != XOR:
        raise Misconception(
            "xor.not_separable",
            f"{WHAT}: for the inputs (0,0), (0,1), (1,0), (1,1) the hidden vectors are "
            f"{show(hidden, limit=70)} and the scores relu(X W1ᵀ + b1) W2ᵀ + b2 are {show(scores)}; "
            f"score > 0.5 gives {labels}, expected {XOR}.",
        )
