"""Hidden checks for mlp_grads(params, X, Y): the loss and the four gradients.

The reference is checked three ways: against np_ref (the `ref` fixture), against central
finite differences computed here, and against PyTorch's autograd where torch is installed.
A wrong gradient is named by replaying the known wrong backward passes on the same input.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from autograder.judge.suite import Misconception, expect_close, show

KEYS = ("W1", "b1", "W2", "b2")
ORDER = ("W2", "b2", "W1", "b1")  # backwards, as backpropagation meets them


def make_case(seed, N, n, h, o):
    """Random params, X and Y; pre-activations are continuous, so never exactly 0."""
    rng = np.random.default_rng(seed)
    params = {
        "W1": rng.normal(size=(h, n)),
        "b1": rng.normal(scale=0.5, size=h),
        "W2": rng.normal(size=(o, h)),
        "b2": rng.normal(scale=0.5, size=o),
    }
    return params, rng.normal(size=(N, n)), rng.normal(size=(N, o))


def mlp_loss(params, X, Y):
    """The loss, written out here so that finite differences do not lean on the reference."""
    hidden = np.maximum(X @ params["W1"].T + params["b1"], 0.0)
    return float(np.mean((hidden @ params["W2"].T + params["b2"] - Y) ** 2))


def finite_differences(params, X, Y, eps=1e-6):
    """Central differences of mlp_loss in every parameter entry."""
    grads = {}
    for key in KEYS:
        grad = np.zeros_like(params[key])
        for index in np.ndindex(grad.shape):
            plus = {k: v.copy() for k, v in params.items()}
            minus = {k: v.copy() for k, v in params.items()}
            plus[key][index] += eps
            minus[key][index] -= eps
            grad[index] = (mlp_loss(plus, X, Y) - mlp_loss(minus, X, Y)) / (2 * eps)
        grads[key] = grad
    return grads


def wrong_models(params, X, Y, loss, grads):
    """key -> [(diagnosis, thunk)]: what each known wrong backward pass gives for that key."""
    N, o = Y.shape
    pre = X @ params["W1"].T + params["b1"]
    mask = pre > 0
    hidden = np.maximum(pre, 0.0)
    d_out = 2.0 * (hidden @ params["W2"].T + params["b2"] - Y) / (N * o)
    d_hidden = d_out @ params["W2"]
    d_pre = d_hidden * mask
    scales = sorted({N * o, N, o} - {1}, reverse=True)
    models = {"loss": [("backprop.sum_not_mean", lambda k=k: loss * k) for k in scales]}
    for key in KEYS:
        models[key] = [("backprop.sum_not_mean", lambda k=k, key=key: grads[key] * k) for k in scales]
    models["W2"] += [("backprop.transposed", lambda: grads["W2"].T)]
    models["W1"] += [
        ("backprop.no_relu_mask", lambda: d_hidden.T @ X),
        ("backprop.transposed", lambda: grads["W1"].T),
        ("backprop.transposed", lambda: ((d_out @ params["W2"].T) * mask).T @ X),
        ("backprop.transposed", lambda: X.T @ ((d_out @ params["W2"].T) * mask)),
    ]
    models["b1"] += [
        ("backprop.no_relu_mask", lambda: d_hidden.sum(axis=0)),
        ("backprop.bias_grad_not_summed", lambda: d_pre),
        ("backprop.bias_grad_not_summed", lambda: d_pre.mean(axis=0)),
        ("backprop.bias_grad_not_summed", lambda: d_pre.sum(axis=1)),
        ("backprop.transposed", lambda: ((d_out @ params["W2"].T) * mask).sum(axis=0)),
    ]
    models["b2"] += [
        ("backprop.bias_grad_not_summed", lambda: d_out),
        ("backprop.bias_grad_not_summed", lambda: d_out.mean(axis=0)),
        ("backprop.bias_grad_not_summed", lambda: d_out.sum(axis=1)),
    ]
    return models


def describe(params, X, Y):
    shapes = ", ".join(f"{k} {params[k].shape}" for k in KEYS)
    return f"mlp_grads(params, X, Y) for X {X.shape}, Y {Y.shape}, params {shapes}"


def check(student, params, X, Y, want_loss, want_grads, *, rtol=1e-5, atol=1e-6, against=""):
    """The student's (loss, grads) against the wanted ones; a mismatch is classified."""
    what = describe(params, X, Y) + against
    got = student.mlp_grads(params, X, Y)
    if not isinstance(got, list | tuple) or len(got) != 2:
        raise Misconception("other", f"{what}: returned {show(got)}; expected a tuple (loss, grads).")
    loss, grads = got
    if not isinstance(grads, dict) or set(grads) != set(KEYS):
        keys = sorted(grads) if isinstance(grads, dict) else type(grads).__name__
        raise Misconception(
            "other", f"{what}: grads is {keys}; expected a dict with the keys 'W1', 'b1', 'W2', 'b2'."
        )
    models = wrong_models(params, X, Y, want_loss, want_grads)
    expect_close(loss, want_loss, what=f"{what}: the loss", models=models["loss"], rtol=rtol, atol=atol)
    for key in ORDER:
        expect_close(
            grads[key],
            want_grads[key],
            what=f'{what}: grads["{key}"]',
            models=models[key],
            rtol=rtol,
            atol=atol,
        )


def check_ref(student, ref, params, X, Y):
    want_loss, want_grads = ref.mlp_grads(params, X, Y)
    check(student, params, X, Y, want_loss, want_grads)


@pytest.mark.item("mlp_grads", weight=2)
def test_a_small_network(student, ref):
    check_ref(student, ref, *make_case(52, 6, 3, 4, 2))


@pytest.mark.item("mlp_grads")
def test_square_matrices(student, ref):
    # n = h = o: a transposed product runs without an error here and gives wrong values.
    check_ref(student, ref, *make_case(53, 5, 3, 3, 3))


@pytest.mark.item("mlp_grads")
def test_one_example(student, ref):
    check_ref(student, ref, *make_case(54, 1, 2, 3, 2))


@pytest.mark.item("mlp_grads", weight=2)
@given(
    st.integers(0, 2**16),
    st.integers(1, 8),
    st.integers(1, 4),
    st.integers(1, 6),
    st.integers(1, 3),
)
def test_random_networks(student, ref, seed, N, n, h, o):
    check_ref(student, ref, *make_case(seed, N, n, h, o))


@pytest.mark.item("mlp_grads", weight=2)
def test_finite_differences(student, ref):
    params, X, Y = make_case(55, 5, 2, 4, 2)
    grads = finite_differences(params, X, Y)
    check(
        student, params, X, Y, mlp_loss(params, X, Y), grads, rtol=1e-4, atol=1e-6,
        against=" (compared with central finite differences)",
    )


@pytest.mark.item("mlp_grads")
def test_pytorch_autograd(student, ref):
    torch = pytest.importorskip("torch")
    params, X, Y = make_case(56, 7, 3, 5, 2)
    leaves = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in params.items()}
    Xt, Yt = torch.tensor(X), torch.tensor(Y)
    hidden = torch.relu(Xt @ leaves["W1"].T + leaves["b1"])
    loss = torch.mean((hidden @ leaves["W2"].T + leaves["b2"] - Yt) ** 2)
    loss.backward()
    grads = {k: leaves[k].grad.numpy() for k in KEYS}
    check(student, params, X, Y, float(loss), grads, against=" (compared with PyTorch autograd)")
