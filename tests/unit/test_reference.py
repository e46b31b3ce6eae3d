"""Reference solutions: np_ref against hand-worked values, xp_ref against np_ref per backend."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from autograder.judge.reference import (
    Backend,
    BackendUnavailableError,
    Tolerance,
    available_backends,
    call_on_backend,
    load_backend,
    np_ref,
    to_backend,
    to_numpy,
    tolerance_for,
    xp_ref,
)

ROOT = Path(__file__).resolve().parents[2]
# No example database: tests never write into the repository.
FAST = settings(max_examples=25, deadline=None, database=None)

XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_Y = np.array([[0.0], [1.0], [1.0], [0.0]])


def identity(z: Any) -> Any:
    """The activation that does nothing, so the affine part shows on its own."""
    return z


def assert_close(got: Any, want: Any, name: str, *, dtype: str = "float64", scale: float = 1.0) -> None:
    """Shape equal and values within the tolerance policy for name, scaled by the answer's size."""
    want = np.asarray(want, dtype=float)
    got = np.asarray(got, dtype=float)
    assert got.shape == want.shape
    magnitude = float(np.max(np.abs(want), initial=0.0))
    tol = tolerance_for(name, dtype).scaled(max(scale, magnitude))
    np.testing.assert_allclose(got, want, rtol=tol.rtol, atol=tol.atol)


def random_mlp(seed: int, N: int, n: int, h: int, o: int) -> tuple[dict[str, Any], Any, Any]:
    """Gaussian params, X and Y for the ps5 network."""
    rng = np.random.default_rng(seed)
    params = {
        "W1": rng.standard_normal((h, n)),
        "b1": rng.standard_normal(h),
        "W2": rng.standard_normal((o, h)),
        "b2": rng.standard_normal(o),
    }
    return params, rng.standard_normal((N, n)), rng.standard_normal((N, o))


def noisy_sine(seed: int = 0) -> tuple[Any, Any]:
    """64 points of sin(πx) on [-1, 1] with noise of sd 0.05."""
    rng = np.random.default_rng(seed)
    X = np.linspace(-1.0, 1.0, 64)[:, None]
    return X, np.sin(np.pi * X) + rng.normal(0.0, 0.05, X.shape)


def xor_scores(W1: Any, b1: Any, W2: Any, b2: Any) -> Any:
    """relu(X W1ᵀ + b1) W2ᵀ + b2 on the four XOR inputs, flattened."""
    return (np.maximum(XOR_X @ W1.T + b1, 0.0) @ W2.T + b2).ravel()


# ps1-neurons ---------------------------------------------------------------------------------


def test_relu_zeroes_negatives_and_keeps_shape() -> None:
    z = np.array([[-2.0, -0.5, 0.0], [0.5, 3.0, -1e4]])
    np.testing.assert_array_equal(np_ref.relu(z), [[0.0, 0.0, 0.0], [0.5, 3.0, 0.0]])


def test_relu_leaves_the_callers_array_alone() -> None:
    z = np.array([-1.0, 2.0])
    np_ref.relu(z)
    np.testing.assert_array_equal(z, [-1.0, 2.0])


def test_sigmoid_hand_values() -> None:
    got = np_ref.sigmoid(np.array([0.0, np.log(3.0), -np.log(3.0)]))
    np.testing.assert_allclose(got, [0.5, 0.75, 0.25], rtol=1e-12)


def test_sigmoid_is_finite_and_silent_at_plus_minus_1e4() -> None:
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        got = np_ref.sigmoid(np.array([-1e4, -745.0, -50.0, 50.0, 745.0, 1e4]))
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got[[0, -1]], [0.0, 1.0])
    assert 0.0 < got[2] < 1e-20


@FAST
@given(hnp.arrays(np.float64, hnp.array_shapes(max_dims=3), elements=st.floats(-1e4, 1e4)))
def test_sigmoid_is_symmetric(z: Any) -> None:
    np.testing.assert_allclose(np_ref.sigmoid(-z), 1.0 - np_ref.sigmoid(z), atol=1e-15)


def test_tanh_hand_values() -> None:
    got = np_ref.tanh(np.array([0.0, np.log(2.0), -1e4]))
    np.testing.assert_allclose(got, [0.0, 0.6, -1.0], rtol=1e-12)


def test_neuron_returns_activation_of_dot_plus_bias_as_float() -> None:
    x, w = np.array([1.0, 2.0]), np.array([3.0, -1.0])
    got = np_ref.neuron(x, w, 0.5, np_ref.relu)
    assert type(got) is float
    assert got == 1.5
    assert np_ref.neuron(x, w, -2.0, np_ref.relu) == 0.0  # bias before the activation
    assert np_ref.neuron(x, w, 0.0, np_ref.sigmoid) == pytest.approx(1 / (1 + np.exp(-1.0)))


def test_neuron_rejects_lengths_that_differ() -> None:
    with pytest.raises(ValueError, match=r"1-D of the same length, got \(3,\) and \(2,\)"):
        np_ref.neuron(np.ones(3), np.ones(2), 0.0, np_ref.relu)


# ps2-layers ----------------------------------------------------------------------------------

W23 = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])


def test_dense_hand_values_on_a_non_square_layer() -> None:
    x, b = np.array([1.0, 0.0, -1.0]), np.array([0.5, -0.5])
    np.testing.assert_array_equal(np_ref.dense(W23, x, b, identity), [-1.5, -2.5])
    np.testing.assert_array_equal(np_ref.dense(W23, x, -b + 4, np_ref.relu), [1.5, 2.5])


@pytest.mark.parametrize(
    ("W", "x", "b"),
    [
        (W23.T, np.ones(3), np.ones(2)),  # transposed W
        (W23, np.ones(2), np.ones(2)),  # x too short
        (W23, np.ones(3), np.ones(3)),  # b of the input's length
        (W23, np.ones((3, 1)), np.ones(2)),  # x a column
    ],
)
def test_dense_rejects_any_shape_mismatch(W: Any, x: Any, b: Any) -> None:
    with pytest.raises(ValueError, match=r"dense needs W \(m, n\), x \(n,\), b \(m,\)"):
        np_ref.dense(W, x, b, identity)


@FAST
@given(st.integers(1, 5), st.integers(1, 5), st.integers(1, 5), st.integers(0, 2**32 - 1))
def test_dense_batch_is_dense_on_each_row(N: int, n: int, m: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    X, W, b = rng.standard_normal((N, n)), rng.standard_normal((m, n)), rng.standard_normal(m)
    got = np_ref.dense_batch(X, W, b, np_ref.tanh)
    assert got.shape == (N, m)
    want = np.stack([np_ref.dense(W, row, b, np_ref.tanh) for row in X])
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_forward_applies_layers_in_order() -> None:
    X = np.array([[1.0, 0.0, -1.0]])
    layers = [
        (W23, np.zeros(2), identity),
        (np.array([[1.0, -1.0]]), np.array([10.0]), np_ref.relu),
    ]
    # layer 1: [-2, -2]; layer 2: relu(-2 + 2 + 10) = 10
    np.testing.assert_array_equal(np_ref.forward(X, layers), [[10.0]])


def test_collapse_multiplies_last_layer_first() -> None:
    W1, W2 = np.array([[1.0, 2.0]]), np.array([[3.0], [4.0]])
    np.testing.assert_array_equal(np_ref.collapse([W1, W2]), [[3.0, 6.0], [4.0, 8.0]])


def test_collapse_equals_a_linear_forward_pass() -> None:
    rng = np.random.default_rng(0)
    weights = [rng.standard_normal(shape) for shape in [(4, 3), (5, 4), (2, 5)]]
    X = rng.standard_normal((6, 3))
    layers = [(W, np.zeros(W.shape[0]), identity) for W in weights]
    np.testing.assert_allclose(X @ np_ref.collapse(weights).T, np_ref.forward(X, layers))


def test_xor_network_classifies_xor() -> None:
    W1, b1, W2, b2 = np_ref.xor_network()
    assert W1.shape[1] == 2
    np.testing.assert_array_equal(xor_scores(W1, b1, W2, b2) > 0.5, [False, True, True, False])


# ps3-parameters ------------------------------------------------------------------------------


def test_count_params_of_the_mnist_network_is_an_int() -> None:
    got = np_ref.count_params([784, 128, 64, 10])
    assert type(got) is int
    assert got == 109386
    assert np_ref.layer_params(784, 128) == 100480
    assert np_ref.count_params([5]) == 0


def test_weight_shapes_are_out_by_in() -> None:
    assert np_ref.weight_shapes([784, 128, 64, 10]) == [(128, 784), (64, 128), (10, 64)]


@pytest.mark.parametrize(
    ("dtype", "size"),
    [("float64", 8), ("float32", 4), ("float16", 2), ("bfloat16", 2), ("int8", 1)],
)
def test_param_bytes_per_dtype(dtype: str, size: int) -> None:
    got = np_ref.param_bytes(109386, dtype)
    assert type(got) is int
    assert got == 109386 * size


def test_param_bytes_rejects_other_dtypes() -> None:
    with pytest.raises(ValueError, match=r"unknown dtype 'int4'; expected one of float64, "):
        np_ref.param_bytes(10, "int4")


# ps4-softmax ---------------------------------------------------------------------------------


def test_softmax_hand_values() -> None:
    want = [0.09003057317038046, 0.24472847105479767, 0.6652409557748219]
    np.testing.assert_allclose(np_ref.softmax(np.array([1.0, 2.0, 3.0])), want, rtol=1e-12)
    np.testing.assert_allclose(np_ref.softmax(np.array([1e4, 1e4 + 1.0, 1e4 + 2.0])), want)
    column = np.array([[1.0], [3.0]])
    np.testing.assert_allclose(np_ref.softmax(column, axis=0), [[0.11920292202211755], [0.8807970779778823]])
    np.testing.assert_array_equal(np_ref.softmax(column), [[1.0], [1.0]])


@FAST
@given(
    hnp.arrays(np.float64, hnp.array_shapes(max_dims=3), elements=st.floats(-1e4, 1e4)),
    st.data(),
)
def test_softmax_is_a_distribution_along_any_axis(z: Any, data: st.DataObject) -> None:
    axis = data.draw(st.integers(-z.ndim, z.ndim - 1))
    got = np_ref.softmax(z, axis=axis)
    assert got.shape == z.shape
    assert np.all((got >= 0) & (got <= 1))
    np.testing.assert_allclose(np.sum(got, axis=axis), 1.0, rtol=1e-12)


def test_predict_one_label_and_many() -> None:
    classes = ["cat", "dog", "eel"]
    assert np_ref.predict(np.array([0.1, 0.7, 0.2]), classes) == "dog"
    got = np_ref.predict(np.array([[3.0, 1.0, 2.0], [0.0, 0.0, 1.0], [5.0, 5.0, 0.0]]), classes)
    np.testing.assert_array_equal(got, ["cat", "eel", "cat"])  # a tie goes to the first


def test_cross_entropy_hand_values() -> None:
    assert np_ref.cross_entropy(np.zeros((3, 4)), np.array([0, 1, 3])) == pytest.approx(np.log(4))
    got = np_ref.cross_entropy(np.array([[1.0, 2.0, 3.0]]), np.array([2]))
    assert got == pytest.approx(0.40760596444437994, rel=1e-12)
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        big = np_ref.cross_entropy(np.array([[1e4, 0.0], [-1e4, 1e4]]), np.array([1, 1]))
    assert big == pytest.approx(5e3)


def test_cross_entropy_rejects_labels_out_of_range() -> None:
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 2\), got 0\.\.2"):
        np_ref.cross_entropy(np.zeros((2, 2)), np.array([0, 2]))


def test_mse_hand_value_and_shape_check() -> None:
    assert np_ref.mse(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 5.0])) == pytest.approx(4 / 3)
    with pytest.raises(ValueError, match=r"mse needs equal shapes, got \(3,\) and \(3, 1\)"):
        np_ref.mse(np.ones(3), np.ones((3, 1)))


# ps5-training --------------------------------------------------------------------------------


def test_gd_linear_one_step_by_hand() -> None:
    # loss0 = (2² + 4²)/2 = 10; dw = 2·mean(-y·x) = -10; db = 2·mean(-y) = -6
    w, b, losses = np_ref.gd_linear(np.array([1.0, 2.0]), np.array([2.0, 4.0]), 0.1, 1)
    assert (w, b) == pytest.approx((1.0, 0.6))
    np.testing.assert_allclose(losses, [10.0])


def test_gd_linear_finds_a_line_and_its_loss_falls() -> None:
    x = np.linspace(-1.0, 1.0, 21)
    w, b, losses = np_ref.gd_linear(x, 3.0 * x - 2.0, 0.1, 500)
    assert len(losses) == 500
    assert losses[0] == pytest.approx(np.mean((3.0 * x - 2.0) ** 2))
    assert np.all(np.diff(losses) <= 0)
    assert (w, b) == pytest.approx((3.0, -2.0), abs=1e-6)


@pytest.mark.parametrize("seed", range(4))
def test_mlp_grads_match_central_differences(seed: int) -> None:
    params, X, Y = random_mlp(seed, N=5, n=3, h=4, o=2)
    loss, grads = np_ref.mlp_grads(params, X, Y)
    assert loss == pytest.approx(np.mean((np_ref.forward(X, layers(params)) - Y) ** 2))
    eps = 1e-6
    for key, value in params.items():
        numeric = np.zeros_like(value)
        for index in np.ndindex(value.shape):
            up, down = (
                {k: v.copy() for k, v in params.items()},
                {k: v.copy() for k, v in params.items()},
            )
            up[key][index] += eps
            down[key][index] -= eps
            numeric[index] = (np_ref.mlp_grads(up, X, Y)[0] - np_ref.mlp_grads(down, X, Y)[0]) / (2 * eps)
        assert grads[key].shape == value.shape
        np.testing.assert_allclose(grads[key], numeric, rtol=1e-5, atol=1e-7)


def layers(params: dict[str, Any]) -> list[tuple[Any, Any, Callable[[Any], Any]]]:
    """The ps5 network as a ps2 layer list."""
    return [(params["W1"], params["b1"], np_ref.relu), (params["W2"], params["b2"], identity)]


@pytest.mark.parametrize("seed", range(3))
def test_mlp_grads_match_torch_autograd(seed: int) -> None:
    torch = pytest.importorskip("torch")
    params, X, Y = random_mlp(seed, N=7, n=4, h=6, o=3)
    loss, grads = np_ref.mlp_grads(params, X, Y)
    leaves = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    hidden = torch.relu(torch.tensor(X) @ leaves["W1"].T + leaves["b1"])
    torch_loss = torch.mean((hidden @ leaves["W2"].T + leaves["b2"] - torch.tensor(Y)) ** 2)
    torch_loss.backward()
    assert loss == pytest.approx(torch_loss.item(), rel=1e-12)
    for key, leaf in leaves.items():
        np.testing.assert_allclose(grads[key], leaf.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_init_mlp_is_he_scaled_and_deterministic() -> None:
    params = np_ref.init_mlp(400, 300, 2, seed=7)
    assert {k: v.shape for k, v in params.items()} == {
        "W1": (300, 400),
        "b1": (300,),
        "W2": (2, 300),
        "b2": (2,),
    }
    assert np.std(params["W1"]) == pytest.approx(np.sqrt(2 / 400), rel=0.02)
    assert not np.any(params["b1"]) and not np.any(params["b2"])
    np.testing.assert_array_equal(params["W2"], np_ref.init_mlp(400, 300, 2, seed=7)["W2"])


@pytest.mark.parametrize("seed", range(3))
def test_train_mlp_fits_a_noisy_sine(seed: int) -> None:
    X, Y = noisy_sine()
    params, losses = np_ref.train_mlp(X, Y, hidden=32, lr=0.05, steps=2000, seed=seed)
    assert len(losses) == 2000
    assert losses[-1] < 0.01 < losses[0]
    assert np.mean((np_ref.forward(X, layers(params)) - Y) ** 2) <= losses[-1]


@pytest.mark.parametrize("seed", range(3))
def test_train_mlp_learns_xor_quickly(seed: int) -> None:
    start = time.perf_counter()
    params, losses = np_ref.train_mlp(XOR_X, XOR_Y, hidden=8, lr=0.1, steps=2000, seed=seed)
    assert time.perf_counter() - start < 2.0
    scores = xor_scores(params["W1"], params["b1"], params["W2"], params["b2"])
    np.testing.assert_array_equal(scores > 0.5, [False, True, True, False])
    assert losses[-1] < 1e-3


def test_train_mlp_is_deterministic_given_seed() -> None:
    first = np_ref.train_mlp(XOR_X, XOR_Y, hidden=4, lr=0.1, steps=50, seed=3)
    second = np_ref.train_mlp(XOR_X, XOR_Y, hidden=4, lr=0.1, steps=50, seed=3)
    np.testing.assert_array_equal(first[1], second[1])
    for key in first[0]:
        np.testing.assert_array_equal(first[0][key], second[0][key])


# xp_ref on every backend, against np_ref --------------------------------------------------


@pytest.fixture(scope="module", params=["numpy", "torch", "cupy"])
def backend(request: pytest.FixtureRequest) -> Backend:
    """Each backend that can run here; the others skip with the reason."""
    if request.param != "numpy":
        pytest.importorskip(request.param)
    try:
        return load_backend(request.param)
    except BackendUnavailableError as exc:
        pytest.skip(str(exc))


ELEMENTWISE = [("relu", xp_ref.relu, np_ref.relu), ("sigmoid", xp_ref.sigmoid, np_ref.sigmoid)]
ELEMENTWISE += [("tanh", xp_ref.tanh, np_ref.tanh)]


@FAST
@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=0, max_dims=3), elements=st.floats(-1e4, 1e4)))
def test_xp_elementwise_equals_np(backend: Backend, z: Any) -> None:
    for name, xp_function, np_function in ELEMENTWISE:
        got = call_on_backend(backend, xp_function, z)
        assert np.all(np.isfinite(got))
        assert_close(got, np_function(z), name)


@FAST
@given(
    hnp.arrays(np.float64, hnp.array_shapes(max_dims=3), elements=st.floats(-1e4, 1e4)),
    st.data(),
)
def test_xp_softmax_equals_np(backend: Backend, z: Any, data: st.DataObject) -> None:
    axis = data.draw(st.integers(-z.ndim, z.ndim - 1))
    got = call_on_backend(backend, xp_ref.softmax, z, axis=axis)
    assert np.all(np.isfinite(got))
    assert_close(got, np_ref.softmax(z, axis=axis), "softmax")


@FAST
@given(st.integers(1, 6), st.integers(1, 6), st.integers(1, 6), st.integers(0, 2**32 - 1))
def test_xp_layers_equal_np(backend: Backend, N: int, n: int, m: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    X, W, b = rng.standard_normal((N, n)), rng.standard_normal((m, n)), rng.standard_normal(m)
    W2, b2 = rng.standard_normal((n, m)), rng.standard_normal(n)
    assert_close(
        call_on_backend(backend, xp_ref.neuron, X[0], W[0], 0.5, xp_ref.sigmoid),
        np_ref.neuron(X[0], W[0], 0.5, np_ref.sigmoid),
        "neuron",
    )
    assert_close(
        call_on_backend(backend, xp_ref.dense, W, X[0], b, xp_ref.tanh),
        np_ref.dense(W, X[0], b, np_ref.tanh),
        "dense",
    )
    assert_close(
        call_on_backend(backend, xp_ref.dense_batch, X, W, b, xp_ref.relu),
        np_ref.dense_batch(X, W, b, np_ref.relu),
        "dense_batch",
    )
    assert_close(
        call_on_backend(backend, xp_ref.forward, X, [(W, b, xp_ref.relu), (W2, b2, xp_ref.sigmoid)]),
        np_ref.forward(X, [(W, b, np_ref.relu), (W2, b2, np_ref.sigmoid)]),
        "forward",
    )
    assert_close(
        call_on_backend(backend, xp_ref.collapse, [W, W2, W]),
        np_ref.collapse([W, W2, W]),
        "collapse",
    )


def test_xp_dense_rejects_a_transposed_w(backend: Backend) -> None:
    W, x, b = to_backend(backend, (W23, np.ones(3), np.ones(2)))
    with pytest.raises(ValueError, match=r"got W \(3, 2\), x \(3,\), b \(2,\)"):
        xp_ref.dense(W.T, x, b, xp_ref.relu)


def test_xp_xor_network_equals_np(backend: Backend) -> None:
    got = to_numpy(xp_ref.xor_network(backend.namespace, backend.array_device))
    for got_array, want_array in zip(got, np_ref.xor_network(), strict=True):
        assert_close(got_array, want_array, "xor_network")


def test_xp_pure_integer_functions_are_np_ref_s() -> None:
    for name in ("layer_params", "count_params", "weight_shapes", "param_bytes"):
        assert getattr(xp_ref, name) is getattr(np_ref, name)


@FAST
@given(
    st.integers(1, 6),
    st.integers(1, 5),
    st.sampled_from([1.0, 10.0, 1e4]),
    st.integers(0, 2**32 - 1),
)
def test_xp_scores_and_losses_equal_np(backend: Backend, N: int, k: int, size: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    logits, labels = rng.standard_normal((N, k)) * size, rng.integers(0, k, N)
    classes = [f"c{i}" for i in range(k)]
    np.testing.assert_array_equal(
        call_on_backend(backend, xp_ref.predict, logits, classes),
        np_ref.predict(logits, classes),
    )
    assert call_on_backend(backend, xp_ref.predict, logits[0], classes) == np_ref.predict(logits[0], classes)
    got = call_on_backend(backend, xp_ref.cross_entropy, logits, labels)
    assert np.isfinite(got)
    assert_close(got, np_ref.cross_entropy(logits, labels), "cross_entropy")
    target = rng.standard_normal((N, k))
    assert_close(
        call_on_backend(backend, xp_ref.mse, target, logits),
        np_ref.mse(target, logits),
        "mse",
    )


def test_xp_cross_entropy_rejects_labels_out_of_range(backend: Backend) -> None:
    logits, labels = to_backend(backend, (np.zeros((2, 3)), np.array([0, 3])))
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\)"):
        xp_ref.cross_entropy(logits, labels)


def test_xp_gd_linear_equals_np(backend: Backend) -> None:
    rng = np.random.default_rng(0)
    x = rng.uniform(-2.0, 2.0, 30)
    y = 1.5 * x + 0.5 + rng.normal(0.0, 0.1, 30)
    w, b, losses = call_on_backend(backend, xp_ref.gd_linear, x, y, 0.05, 200)
    want_w, want_b, want_losses = np_ref.gd_linear(x, y, 0.05, 200)
    assert_close(w, want_w, "gd_linear")
    assert_close(b, want_b, "gd_linear")
    assert_close(losses, want_losses, "gd_linear")


@FAST
@given(
    st.integers(1, 6),
    st.integers(1, 4),
    st.integers(1, 6),
    st.integers(1, 3),
    st.integers(0, 2**32 - 1),
)
def test_xp_mlp_grads_equal_np(backend: Backend, N: int, n: int, h: int, o: int, seed: int) -> None:
    params, X, Y = random_mlp(seed, N, n, h, o)
    loss, grads = call_on_backend(backend, xp_ref.mlp_grads, params, X, Y)
    want_loss, want_grads = np_ref.mlp_grads(params, X, Y)
    assert_close(loss, want_loss, "mlp_grads")
    assert grads.keys() == want_grads.keys()
    for key, value in want_grads.items():
        assert_close(grads[key], value, "mlp_grads")


def test_xp_train_mlp_equals_np(backend: Backend) -> None:
    X, Y = noisy_sine()
    params, losses = call_on_backend(backend, xp_ref.train_mlp, X, Y, 16, 0.05, 300, 5)
    want_params, want_losses = np_ref.train_mlp(X, Y, 16, 0.05, 300, 5)
    # The same initial weights on every backend, so the first loss agrees to rounding.
    np.testing.assert_allclose(losses[0], want_losses[0], rtol=1e-12)
    assert_close(losses, want_losses, "train_mlp")
    for key, value in want_params.items():
        assert_close(params[key], value, "train_mlp")


def test_xp_train_mlp_with_no_steps_returns_no_losses(backend: Backend) -> None:
    params, losses = call_on_backend(backend, xp_ref.train_mlp, XOR_X, XOR_Y, 3, 0.1, 0, 1)
    assert losses.shape == (0,)
    np.testing.assert_array_equal(params["W1"], np_ref.init_mlp(2, 3, 1, 1)["W1"])


# backend selection and data movement -----------------------------------------------------


def test_importing_the_references_imports_neither_torch_nor_cupy() -> None:
    code = "import sys, autograder.judge.reference; print(sorted({'torch', 'cupy'} & set(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert done.stdout.strip() == "[]"


def test_load_backend_numpy_is_cpu() -> None:
    backend = load_backend("numpy")
    assert (backend.name, backend.device, backend.array_device) == ("numpy", "cpu", "cpu")


def test_load_backend_rejects_an_unknown_name() -> None:
    with pytest.raises(ValueError, match=r"no backend 'jax'; choose one of numpy, torch, cupy or auto"):
        load_backend("jax")


def test_load_backend_torch_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # makes `import torch` fail
    with pytest.raises(BackendUnavailableError, match=r"PyTorch is not installed .*torch==2\.13\.0"):
        load_backend("torch")


def test_load_backend_cupy_says_it_needs_a_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "cupy", None)
    with pytest.raises(BackendUnavailableError, match=r"CuPy is not installed .*NVIDIA GPU"):
        load_backend("cupy")


def test_auto_falls_back_to_numpy_without_gpu_libraries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)
    monkeypatch.setitem(sys.modules, "cupy", None)
    assert load_backend("auto").name == "numpy"


def test_auto_picks_a_gpu_backend_only_on_a_gpu() -> None:
    backend = load_backend("auto")
    assert (backend.name == "numpy") == (backend.device == "cpu")


def test_torch_backend_turns_tf32_off() -> None:
    torch = pytest.importorskip("torch")
    load_backend("torch")
    assert not torch.backends.cuda.matmul.allow_tf32
    assert not torch.backends.cudnn.allow_tf32


def test_available_backends_names_each_with_device_or_reason() -> None:
    found = dict(available_backends())
    assert list(found) == ["numpy", "torch", "cupy"]
    assert found["numpy"] == "cpu"


def test_to_backend_and_back_keeps_structure_and_integer_dtypes(backend: Backend) -> None:
    value = {
        "x": np.arange(6.0).reshape(2, 3)[:, ::-1],
        "labels": np.array([1, 2]),
        "pair": (np.float32(2.5), [np.ones(2, dtype=np.float32)], "name"),
        "f": xp_ref.relu,
    }
    moved = to_backend(backend, value)
    assert moved["f"] is xp_ref.relu
    back = to_numpy(moved)
    np.testing.assert_array_equal(back["x"], value["x"])
    assert back["labels"].dtype == np.int64
    assert back["pair"][1][0].dtype == np.float64  # floats become float64 by default
    assert back["pair"][0] == 2.5 and back["pair"][2] == "name"
    assert to_numpy(to_backend(backend, np.ones(2), dtype="float32")).dtype == np.float32


# the tolerance policy ------------------------------------------------------------------------


def test_tolerance_table_rows() -> None:
    assert tolerance_for("softmax", "float64") == Tolerance(1e-5, 1e-6)
    assert tolerance_for("softmax", np.float32) == Tolerance(1e-5, 1e-6)
    assert tolerance_for("count_params", "int64") == Tolerance(0.0, 0.0)
    assert tolerance_for("gd_linear", "float32") == Tolerance(1e-4, 1e-5)
    assert tolerance_for("gd_linear", "bfloat16") == tolerance_for("gd_linear", "torch.float16")
    assert tolerance_for("train_mlp", "float64").rtol > tolerance_for("mse", "float64").rtol


def test_tolerance_scales_atol_for_large_values_only() -> None:
    assert Tolerance(1e-5, 1e-6).scaled(1e4) == Tolerance(1e-5, 1e-2)
    assert Tolerance(1e-5, 1e-6).scaled(0.1) == Tolerance(1e-5, 1e-6)


def test_tolerance_for_an_unknown_function_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"no tolerance for 'softmin'; known functions: collapse, "):
        tolerance_for("softmin")


@FAST
@given(st.integers(1, 8), st.integers(1, 8), st.sampled_from([1.0, 1e4]), st.integers(0, 2**32 - 1))
def test_float32_answers_pass_the_float32_tolerance(N: int, n: int, size: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    z, W, b = (
        rng.standard_normal((N, n)) * size,
        rng.standard_normal((4, n)),
        rng.standard_normal(4),
    )
    labels = rng.integers(0, n, N)
    cases: list[tuple[str, Callable[..., Any], tuple[Any, ...]]] = [
        ("sigmoid", np_ref.sigmoid, (z,)),
        ("softmax", np_ref.softmax, (z,)),
        ("cross_entropy", np_ref.cross_entropy, (z, labels)),
        ("dense_batch", np_ref.dense_batch, (z, W, b, np_ref.tanh)),
    ]
    for name, function, args in cases:
        single = tuple(
            a.astype(np.float32) if a is not labels and isinstance(a, np.ndarray) else a for a in args
        )
        assert_close(function(*single), function(*args), name, dtype="float32", scale=size)
    params, X, Y = random_mlp(seed, N, n, 5, 2)
    single_params = {k: v.astype(np.float32) for k, v in params.items()}
    loss32, grads32 = np_ref.mlp_grads(single_params, X.astype(np.float32), Y.astype(np.float32))
    loss, grads = np_ref.mlp_grads(params, X, Y)
    assert_close(loss32, loss, "mlp_grads", dtype="float32")
    for key, value in grads.items():
        assert_close(grads32[key], value, "mlp_grads", dtype="float32")


# --- the judge's Reference remembers answers ------------------------------------------------


def test_the_judges_reference_remembers_an_answer_and_hands_out_copies():
    from autograder.judge.proxy import Reference

    ref = Reference(load_backend("numpy"))
    z = np.array([[1.0, 2.0, 0.5], [3.0, -1.0, 0.0]])
    first = ref.softmax(z)
    first[0, 0] = 99.0  # a check that changes what it got changes only its copy
    np.testing.assert_array_equal(ref.softmax(z.copy()), np_ref.softmax(z))
    assert ref.softmax(z.reshape(3, 2)).shape == (3, 2)  # same bytes, another shape: another input
    np.testing.assert_array_equal(ref.softmax(z, axis=0), np_ref.softmax(z, axis=0))
    big = np.ones(5000)  # past the size remembered: computed each time, still right
    np.testing.assert_array_equal(ref.softmax(big), np_ref.softmax(big))


@FAST
@given(
    hnp.arrays(hnp.scalar_dtypes(), hnp.array_shapes(min_dims=0, max_dims=2, max_side=3)),
    hnp.arrays(hnp.scalar_dtypes(), hnp.array_shapes(min_dims=0, max_dims=2, max_side=3)),
)
def test_memo_keys_are_equal_exactly_for_the_same_input(a, b):
    from autograder.judge.proxy import _memo_key

    ka, kb = _memo_key(a), _memo_key(b)
    if ka is None or kb is None:
        return  # not remembered: nothing to confuse
    same = a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    assert (ka == kb) == same
    assert _memo_key(1) != _memo_key(1.0) != _memo_key(True)  # equal in Python, not as inputs
