"""NumPy reference solutions for every function of ps1..ps5 (spec/student-api.md).

Trusted side only: the judge compares a student's answer with these. Floating inputs keep
their dtype; other inputs are computed in float64, except by relu, which keeps any dtype.
Every function leaves its arguments unchanged.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt

__all__ = [
    "collapse",
    "count_params",
    "cross_entropy",
    "dense",
    "dense_batch",
    "forward",
    "gd_linear",
    "init_mlp",
    "layer_params",
    "mlp_grads",
    "mse",
    "neuron",
    "param_bytes",
    "predict",
    "relu",
    "sigmoid",
    "softmax",
    "tanh",
    "train_mlp",
    "weight_shapes",
    "xor_network",
]

Array: TypeAlias = npt.NDArray[Any]
Activation: TypeAlias = Callable[[Array], Array]
Params: TypeAlias = dict[str, Array]

# Bytes per number for the dtypes that ps3 asks about; bfloat16 keeps float32's exponent in
# 16 bits, so it costs the same as float16.
_BYTES_PER_NUMBER = {"float64": 8, "float32": 4, "float16": 2, "bfloat16": 2, "int8": 1}
_PARAM_KEYS = ("W1", "b1", "W2", "b2")


def _floating(values: npt.ArrayLike) -> Array:
    """Return `values` as an array, in float64 unless it is floating already."""
    array = np.asarray(values)
    if array.dtype.kind == "f":
        return array
    return array.astype(np.float64)


def _size(value: int, what: str) -> int:
    """Return a layer size as a Python int; ValueError when negative."""
    size = operator.index(value)
    if size < 0:
        raise ValueError(f"{what} must be >= 0, got {size}")
    return size


# ps1-neurons ---------------------------------------------------------------------------------


def relu(z: npt.ArrayLike) -> Array:
    """Elementwise max(0, z), as a new array of z's shape."""
    array = np.asarray(z)
    result: Array = np.maximum(array, np.zeros((), dtype=array.dtype))
    return result


def sigmoid(z: npt.ArrayLike) -> Array:
    """Elementwise 1/(1+e^-z), finite and warning-free for any finite z."""
    array = _floating(z)
    # e^-|z| lies in (0, 1], so neither branch can overflow: for z < 0 use the equal form
    # e^z/(1+e^z). np.where evaluates both branches, which is why both must be safe.
    small = np.exp(-np.abs(array))
    return np.where(array >= 0, 1.0 / (1.0 + small), small / (1.0 + small))


def tanh(z: npt.ArrayLike) -> Array:
    """Elementwise hyperbolic tangent."""
    return np.tanh(_floating(z))


def neuron(x: npt.ArrayLike, w: npt.ArrayLike, b: float, activation: Activation) -> float:
    """Return activation(w·x + b) as a float; ValueError unless x and w are 1-D of one length."""
    xs, ws = _floating(x), _floating(w)
    if xs.ndim != 1 or ws.ndim != 1 or xs.shape != ws.shape:
        raise ValueError(f"x and w must be 1-D of the same length, got {xs.shape} and {ws.shape}")
    return float(np.asarray(activation(np.asarray(ws @ xs + b))))


# ps2-layers ----------------------------------------------------------------------------------


def dense(W: npt.ArrayLike, x: npt.ArrayLike, b: npt.ArrayLike, activation: Activation) -> Array:
    """Return activation(W x + b) for W (m, n), x (n,), b (m,); ValueError on any other shape."""
    Ws, xs, bs = _floating(W), _floating(x), _floating(b)
    if Ws.ndim != 2 or xs.shape != Ws.shape[1:] or bs.shape != Ws.shape[:1]:
        raise ValueError(
            f"dense needs W (m, n), x (n,), b (m,), got W {Ws.shape}, x {xs.shape}, b {bs.shape}"
        )
    return activation(Ws @ xs + bs)


def dense_batch(X: npt.ArrayLike, W: npt.ArrayLike, b: npt.ArrayLike, activation: Activation) -> Array:
    """Return activation(X Wᵀ + b), shape (N, m), for X (N, n), W (m, n), b (m,)."""
    Xs, Ws, bs = _floating(X), _floating(W), _floating(b)
    if Xs.ndim != 2 or Ws.ndim != 2 or Xs.shape[1] != Ws.shape[1] or bs.shape != Ws.shape[:1]:
        raise ValueError(
            f"dense_batch needs X (N, n), W (m, n), b (m,), got X {Xs.shape}, W {Ws.shape}, b {bs.shape}"
        )
    return activation(Xs @ Ws.T + bs)


def forward(X: npt.ArrayLike, layers: Sequence[tuple[npt.ArrayLike, npt.ArrayLike, Activation]]) -> Array:
    """Apply each (W, b, activation) layer in order to X; return the last output (N, m_L)."""
    out = _floating(X)
    for W, b, activation in layers:
        out = dense_batch(out, W, b, activation)
    return out


def collapse(weights: Sequence[npt.ArrayLike]) -> Array:
    """Return W_L ⋯ W_2 W_1 for weights [W1, …, WL] listed in the order they are applied."""
    if not weights:
        raise ValueError("collapse needs at least one weight matrix")
    product = _floating(weights[0])
    for W in weights[1:]:
        product = _floating(W) @ product
    return product


def xor_network() -> tuple[Array, Array, Array, Array]:
    """Return (W1, b1, W2, b2), W1 (2, 2), W2 (1, 2), whose scores > 0.5 are XOR.

    h = relu([x1 + x2, x1 + x2 - 1]) and score = h1 - 2 h2 give 0, 1, 1, 0 exactly.
    """
    W1 = np.array([[1.0, 1.0], [1.0, 1.0]])
    b1 = np.array([0.0, -1.0])
    W2 = np.array([[1.0, -2.0]])
    b2 = np.array([0.0])
    return W1, b1, W2, b2


# ps3-parameters ------------------------------------------------------------------------------


def layer_params(n_in: int, n_out: int) -> int:
    """Weights and biases of one dense layer: n_out·(n_in + 1)."""
    return _size(n_out, "n_out") * (_size(n_in, "n_in") + 1)


def count_params(sizes: Sequence[int]) -> int:
    """Total parameters of the dense network with these layer sizes (0 for fewer than 2)."""
    return sum(layer_params(n_in, n_out) for n_in, n_out in itertools.pairwise(sizes))


def weight_shapes(sizes: Sequence[int]) -> list[tuple[int, int]]:
    """One (n_out, n_in) weight shape per layer."""
    return [(_size(n_out, "n_out"), _size(n_in, "n_in")) for n_in, n_out in itertools.pairwise(sizes)]


def param_bytes(n_params: int, dtype: str) -> int:
    """Bytes to hold n_params numbers of dtype; ValueError for an unknown dtype."""
    if dtype not in _BYTES_PER_NUMBER:
        known = ", ".join(_BYTES_PER_NUMBER)
        raise ValueError(f"unknown dtype {dtype!r}; expected one of {known}")
    return _size(n_params, "n_params") * _BYTES_PER_NUMBER[dtype]


# ps4-softmax ---------------------------------------------------------------------------------


def softmax(z: npt.ArrayLike, axis: int = -1) -> Array:
    """Exp-normalise along axis; shifting by the max keeps e^z finite for any finite z."""
    array = _floating(z)
    shifted = np.exp(array - np.max(array, axis=axis, keepdims=True))
    result: Array = shifted / np.sum(shifted, axis=axis, keepdims=True)
    return result


def predict(scores: npt.ArrayLike, classes: Sequence[Any]) -> Any:
    """Label of the largest score: one label for (k,), an array of N labels for (N, k).

    Ties go to the first largest score, as np.argmax does.
    """
    array = np.asarray(scores)
    if array.ndim not in (1, 2) or array.shape[-1] != len(classes):
        raise ValueError(f"scores must be (k,) or (N, k) with k = {len(classes)} classes, got {array.shape}")
    if array.ndim == 1:
        return classes[int(np.argmax(array))]
    return np.asarray(classes)[np.argmax(array, axis=1)]


def _check_labels(shape: tuple[int, ...], labels: Array) -> None:
    """ValueError unless labels are N ints in [0, k) for logits of shape (N, k)."""
    if len(shape) != 2 or labels.shape != shape[:1] or labels.dtype.kind not in "iu":
        raise ValueError(
            f"cross_entropy needs logits (N, k) and N integer labels, "
            f"got logits {shape} and labels {labels.shape} of {labels.dtype}"
        )
    if labels.size and (labels.min() < 0 or labels.max() >= shape[1]):
        raise ValueError(f"labels must lie in [0, {shape[1]}), got {labels.min()}..{labels.max()}")


def cross_entropy(logits: npt.ArrayLike, labels: npt.ArrayLike) -> float:
    """Mean over N of −log softmax(logits)[i, labels[i]], by log-sum-exp (finite to 1e4)."""
    z, ys = _floating(logits), np.asarray(labels)
    _check_labels(z.shape, ys)
    top = np.max(z, axis=1)
    log_norm = top + np.log(np.sum(np.exp(z - top[:, None]), axis=1))
    return float(np.mean(log_norm - z[np.arange(z.shape[0]), ys]))


def mse(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> float:
    """Mean of squared differences over all entries; ValueError when the shapes differ."""
    truth, pred = _floating(y_true), _floating(y_pred)
    if truth.shape != pred.shape:
        raise ValueError(f"mse needs equal shapes, got {truth.shape} and {pred.shape}")
    return float(np.mean((pred - truth) ** 2))


# ps5-training --------------------------------------------------------------------------------


def gd_linear(x: npt.ArrayLike, y: npt.ArrayLike, lr: float, steps: int) -> tuple[float, float, Array]:
    """Fit y ≈ w·x + b by gradient descent on the MSE from w = b = 0.

    Returns (w, b, losses); losses[t] is the MSE before update t.
    """
    xs, ys = _floating(x), _floating(y)
    if xs.ndim != 1 or xs.shape != ys.shape:
        raise ValueError(f"x and y must be 1-D of the same length, got {xs.shape} and {ys.shape}")
    w = b = 0.0
    losses = np.empty(operator.index(steps), dtype=np.result_type(xs, ys))
    for t in range(losses.shape[0]):
        residual = w * xs + b - ys
        losses[t] = np.mean(residual**2)
        grad_w, grad_b = 2.0 * float(np.mean(residual * xs)), 2.0 * float(np.mean(residual))
        w, b = w - lr * grad_w, b - lr * grad_b
    return float(w), float(b), losses


def _check_mlp(params: Mapping[str, Array], X: Array, Y: Array) -> None:
    """ValueError unless params, X and Y have the shapes mlp_grads expects."""
    if set(params) != set(_PARAM_KEYS):
        raise ValueError(f"params must have keys {_PARAM_KEYS}, got {sorted(params)}")
    h, n = params["W1"].shape
    o = params["W2"].shape[0]
    want = {"W1": (h, n), "b1": (h,), "W2": (o, h), "b2": (o,)}
    got = {key: params[key].shape for key in _PARAM_KEYS}
    if got != want or X.ndim != 2 or X.shape[1] != n or Y.shape != (X.shape[0], o):
        raise ValueError(f"mlp shapes do not fit: params {got}, X {X.shape}, Y {Y.shape}")


def mlp_grads(
    params: Mapping[str, npt.ArrayLike], X: npt.ArrayLike, Y: npt.ArrayLike
) -> tuple[float, Params]:
    """Loss and gradients of mean((relu(X W1ᵀ + b1) W2ᵀ + b2 − Y)²) over all N·o entries.

    The ReLU's derivative at exactly 0 is taken as 0.
    """
    p = {key: _floating(value) for key, value in params.items()}
    Xs, Ys = _floating(X), _floating(Y)
    _check_mlp(p, Xs, Ys)
    pre = Xs @ p["W1"].T + p["b1"]
    hidden = np.maximum(pre, 0.0)
    residual = hidden @ p["W2"].T + p["b2"] - Ys
    loss = float(np.mean(residual**2))
    d_out = 2.0 * residual / residual.size
    d_pre = (d_out @ p["W2"]) * (pre > 0)
    grads = {
        "W1": d_pre.T @ Xs,
        "b1": np.sum(d_pre, axis=0),
        "W2": d_out.T @ hidden,
        "b2": np.sum(d_out, axis=0),
    }
    return loss, grads


def init_mlp(n_in: int, hidden: int, n_out: int, seed: int) -> Params:
    """He-style float64 initialisation from np.random.default_rng(seed).

    W1 then W2 are drawn, in that order, from N(0, 2/fan_in) with fan_in their column count;
    b1 and b2 are zeros. xp_ref.train_mlp starts from these same arrays on every backend.
    """
    rng = np.random.default_rng(seed)
    W1 = rng.standard_normal((hidden, n_in)) * np.sqrt(2.0 / n_in)
    W2 = rng.standard_normal((n_out, hidden)) * np.sqrt(2.0 / hidden)
    return {"W1": W1, "b1": np.zeros(hidden), "W2": W2, "b2": np.zeros(n_out)}


def train_mlp(
    X: npt.ArrayLike, Y: npt.ArrayLike, hidden: int, lr: float, steps: int, seed: int
) -> tuple[Params, Array]:
    """Full-batch gradient descent on mlp_grads' loss from init_mlp(…, seed).

    Returns (params, losses); losses[t] is the loss before update t.
    """
    Xs, Ys = _floating(X), _floating(Y)
    if Xs.ndim != 2 or Ys.ndim != 2:
        raise ValueError(f"train_mlp needs X (N, n) and Y (N, o), got {Xs.shape} and {Ys.shape}")
    params = init_mlp(Xs.shape[1], _size(hidden, "hidden"), Ys.shape[1], seed)
    losses = np.empty(operator.index(steps))
    for t in range(losses.shape[0]):
        losses[t], grads = mlp_grads(params, Xs, Ys)
        params = {key: params[key] - lr * grads[key] for key in _PARAM_KEYS}
    return params, losses
