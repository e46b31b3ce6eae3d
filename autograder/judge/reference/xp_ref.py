"""Array-API reference solutions: np_ref's functions written once for NumPy, PyTorch and CuPy.

Each function takes its namespace from its array arguments (`array_namespace`), computes on
their device and returns arrays there; where np_ref returns a Python float, this module
returns a 0-d array so a GPU run needs no host sync until the caller asks for the value.
Integer and boolean inputs are computed in float64. The pure-integer functions of ps3
(layer_params, count_params, weight_shapes, param_bytes) have no arrays to move, so they are
np_ref's own functions, re-exported here.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeAlias

import numpy as np
from array_api_compat import array_namespace, to_device
from array_api_compat import device as device_of

from autograder.judge.reference.np_ref import (
    count_params,
    init_mlp,
    layer_params,
    param_bytes,
    weight_shapes,
)
from autograder.judge.reference.np_ref import xor_network as np_xor_network

__all__ = [
    "collapse",
    "count_params",
    "cross_entropy",
    "dense",
    "dense_batch",
    "forward",
    "gd_linear",
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

# Any array-API array: numpy.ndarray, torch.Tensor, cupy.ndarray.
Array: TypeAlias = Any
Activation: TypeAlias = Callable[[Array], Array]
Params: TypeAlias = dict[str, Array]

_PARAM_KEYS = ("W1", "b1", "W2", "b2")


def _floating(x: Array) -> Array:
    """Return x unchanged if it is floating, else as float64 on its device."""
    xp = array_namespace(x)
    if xp.isdtype(x.dtype, "real floating"):
        return x
    return xp.astype(x, xp.float64)


def _stack(values: list[Array], like: Array) -> Array:
    """Stack 0-d arrays into a 1-D array; an empty (0,) array of like's dtype for none."""
    xp = array_namespace(like)
    if not values:
        return xp.zeros((0,), dtype=like.dtype, device=device_of(like))
    return xp.stack(values)


# ps1-neurons ---------------------------------------------------------------------------------


def relu(z: Array) -> Array:
    """Elementwise max(0, z), as a new array of z's shape."""
    xp = array_namespace(z)
    return xp.maximum(z, xp.zeros_like(z))


def sigmoid(z: Array) -> Array:
    """Elementwise 1/(1+e^-z), finite for any finite z (see np_ref.sigmoid)."""
    z = _floating(z)
    xp = array_namespace(z)
    small = xp.exp(-xp.abs(z))
    return xp.where(z >= 0, 1.0 / (1.0 + small), small / (1.0 + small))


def tanh(z: Array) -> Array:
    """Elementwise hyperbolic tangent."""
    z = _floating(z)
    return array_namespace(z).tanh(z)


def neuron(x: Array, w: Array, b: float | Array, activation: Activation) -> Array:
    """Return activation(w·x + b) as a 0-d array; ValueError unless x, w are 1-D of one length."""
    x, w = _floating(x), _floating(w)
    if x.ndim != 1 or w.ndim != 1 or tuple(x.shape) != tuple(w.shape):
        raise ValueError(f"x and w must be 1-D of the same length, got {tuple(x.shape)} and {tuple(w.shape)}")
    return activation(w @ x + b)


# ps2-layers ----------------------------------------------------------------------------------


def dense(W: Array, x: Array, b: Array, activation: Activation) -> Array:
    """Return activation(W x + b) for W (m, n), x (n,), b (m,); ValueError on any other shape."""
    W, x, b = _floating(W), _floating(x), _floating(b)
    if W.ndim != 2 or tuple(x.shape) != tuple(W.shape[1:]) or tuple(b.shape) != tuple(W.shape[:1]):
        raise ValueError(
            "dense needs W (m, n), x (n,), b (m,), "
            f"got W {tuple(W.shape)}, x {tuple(x.shape)}, b {tuple(b.shape)}"
        )
    return activation(W @ x + b)


def dense_batch(X: Array, W: Array, b: Array, activation: Activation) -> Array:
    """Return activation(X Wᵀ + b), shape (N, m), for X (N, n), W (m, n), b (m,)."""
    X, W, b = _floating(X), _floating(W), _floating(b)
    if X.ndim != 2 or W.ndim != 2 or X.shape[1] != W.shape[1] or tuple(b.shape) != (W.shape[0],):
        raise ValueError(
            "dense_batch needs X (N, n), W (m, n), b (m,), "
            f"got X {tuple(X.shape)}, W {tuple(W.shape)}, b {tuple(b.shape)}"
        )
    return activation(X @ W.T + b)


def forward(X: Array, layers: Sequence[tuple[Array, Array, Activation]]) -> Array:
    """Apply each (W, b, activation) layer in order to X; return the last output (N, m_L)."""
    out = _floating(X)
    for W, b, activation in layers:
        out = dense_batch(out, W, b, activation)
    return out


def collapse(weights: Sequence[Array]) -> Array:
    """Return W_L ⋯ W_2 W_1 for weights [W1, …, WL] listed in the order they are applied."""
    if not weights:
        raise ValueError("collapse needs at least one weight matrix")
    product = _floating(weights[0])
    for W in weights[1:]:
        product = _floating(W) @ product
    return product


def xor_network(xp: Any, device: Any = None) -> tuple[Array, Array, Array, Array]:
    """np_ref.xor_network's (W1, b1, W2, b2) as float64 arrays of namespace xp on device."""
    W1, b1, W2, b2 = (xp.asarray(value, dtype=xp.float64, device=device) for value in np_xor_network())
    return W1, b1, W2, b2


# ps4-softmax ---------------------------------------------------------------------------------


def softmax(z: Array, axis: int = -1) -> Array:
    """Exp-normalise along axis; shifting by the max keeps e^z finite for any finite z."""
    z = _floating(z)
    xp = array_namespace(z)
    shifted = xp.exp(z - xp.max(z, axis=axis, keepdims=True))
    return shifted / xp.sum(shifted, axis=axis, keepdims=True)


def predict(scores: Array, classes: Sequence[Any]) -> Any:
    """Label of the largest score: one label for (k,), a NumPy array of N labels for (N, k).

    Labels are host data (strings, say), so the indices come back to the host to pick them.
    """
    xp = array_namespace(scores)
    if scores.ndim not in (1, 2) or scores.shape[-1] != len(classes):
        raise ValueError(
            f"scores must be (k,) or (N, k) with k = {len(classes)} classes, got {tuple(scores.shape)}"
        )
    if scores.ndim == 1:
        return classes[int(xp.argmax(scores))]
    index = np.asarray(to_device(xp.argmax(scores, axis=1), "cpu"))
    return np.asarray(classes)[index]


def cross_entropy(logits: Array, labels: Array) -> Array:
    """Mean over N of −log softmax(logits)[i, labels[i]], by log-sum-exp, as a 0-d array."""
    z = _floating(logits)
    xp = array_namespace(z, labels)
    if z.ndim != 2 or tuple(labels.shape) != (z.shape[0],) or not xp.isdtype(labels.dtype, "integral"):
        raise ValueError(
            "cross_entropy needs logits (N, k) and N integer labels, "
            f"got logits {tuple(z.shape)} and labels {tuple(labels.shape)} of {labels.dtype}"
        )
    if bool(xp.any((labels < 0) | (labels >= z.shape[1]))):
        raise ValueError(f"labels must lie in [0, {z.shape[1]})")
    top = xp.max(z, axis=1, keepdims=True)
    log_norm = top[:, 0] + xp.log(xp.sum(xp.exp(z - top), axis=1))
    # Picking z[i, labels[i]] with a one-hot mask needs nothing beyond the 2022 standard.
    classes = xp.arange(z.shape[1], device=device_of(z))
    picked = xp.sum(xp.where(labels[:, None] == classes[None, :], z, xp.zeros_like(z)), axis=1)
    return xp.mean(log_norm - picked)


def mse(y_true: Array, y_pred: Array) -> Array:
    """Mean of squared differences over all entries (0-d); ValueError on unequal shapes."""
    truth, pred = _floating(y_true), _floating(y_pred)
    if tuple(truth.shape) != tuple(pred.shape):
        raise ValueError(f"mse needs equal shapes, got {tuple(truth.shape)} and {tuple(pred.shape)}")
    return array_namespace(truth, pred).mean((pred - truth) ** 2)


# ps5-training --------------------------------------------------------------------------------


def gd_linear(x: Array, y: Array, lr: float, steps: int) -> tuple[Array, Array, Array]:
    """Fit y ≈ w·x + b by gradient descent on the MSE from w = b = 0.

    Returns (w, b, losses) as 0-d, 0-d and (steps,) arrays; losses[t] is the MSE before update t.
    """
    x, y = _floating(x), _floating(y)
    xp = array_namespace(x, y)
    if x.ndim != 1 or tuple(x.shape) != tuple(y.shape):
        raise ValueError(f"x and y must be 1-D of the same length, got {tuple(x.shape)} and {tuple(y.shape)}")
    w = xp.zeros((), dtype=x.dtype, device=device_of(x))
    b = xp.zeros((), dtype=x.dtype, device=device_of(x))
    rate = float(lr)  # a NumPy scalar times a tensor would turn the tensor into NumPy
    losses = []
    for _ in range(operator.index(steps)):
        residual = w * x + b - y
        losses.append(xp.mean(residual**2))
        grad_w, grad_b = 2.0 * xp.mean(residual * x), 2.0 * xp.mean(residual)
        w, b = w - rate * grad_w, b - rate * grad_b
    return w, b, _stack(losses, x)


def mlp_grads(params: Mapping[str, Array], X: Array, Y: Array) -> tuple[Array, Params]:
    """Loss (0-d) and gradients of mean((relu(X W1ᵀ + b1) W2ᵀ + b2 − Y)²) over all N·o entries.

    The ReLU's derivative at exactly 0 is taken as 0, as in np_ref.
    """
    p = {key: _floating(value) for key, value in params.items()}
    X, Y = _floating(X), _floating(Y)
    xp = array_namespace(X, Y, *p.values())
    if set(p) != set(_PARAM_KEYS):
        raise ValueError(f"params must have keys {_PARAM_KEYS}, got {sorted(p)}")
    h, n = p["W1"].shape
    o = p["W2"].shape[0]
    want = {"W1": (h, n), "b1": (h,), "W2": (o, h), "b2": (o,)}
    got = {key: tuple(p[key].shape) for key in _PARAM_KEYS}
    if got != want or X.ndim != 2 or X.shape[1] != n or tuple(Y.shape) != (X.shape[0], o):
        raise ValueError(f"mlp shapes do not fit: params {got}, X {tuple(X.shape)}, Y {tuple(Y.shape)}")
    pre = X @ p["W1"].T + p["b1"]
    hidden = xp.maximum(pre, xp.zeros_like(pre))
    residual = hidden @ p["W2"].T + p["b2"] - Y
    d_out = 2.0 * residual / (residual.shape[0] * residual.shape[1])
    d_pre = xp.where(pre > 0, d_out @ p["W2"], xp.zeros_like(pre))
    grads = {
        "W1": d_pre.T @ X,
        "b1": xp.sum(d_pre, axis=0),
        "W2": d_out.T @ hidden,
        "b2": xp.sum(d_out, axis=0),
    }
    return xp.mean(residual**2), grads


def train_mlp(X: Array, Y: Array, hidden: int, lr: float, steps: int, seed: int) -> tuple[Params, Array]:
    """Full-batch gradient descent on mlp_grads' loss from np_ref.init_mlp(…, seed).

    The initial weights are drawn on the host with NumPy and moved to X's device in X's dtype,
    so every backend starts from the same numbers. Returns (params, losses); losses[t] is the
    loss before update t.
    """
    X, Y = _floating(X), _floating(Y)
    xp = array_namespace(X, Y)
    if X.ndim != 2 or Y.ndim != 2:
        raise ValueError(f"train_mlp needs X (N, n) and Y (N, o), got {tuple(X.shape)} and {tuple(Y.shape)}")
    init = init_mlp(X.shape[1], hidden, Y.shape[1], seed)
    params = {key: xp.asarray(value, dtype=X.dtype, device=device_of(X)) for key, value in init.items()}
    rate = float(lr)  # a NumPy scalar times a tensor would turn the tensor into NumPy
    losses = []
    for _ in range(operator.index(steps)):
        loss, grads = mlp_grads(params, X, Y)
        losses.append(loss)
        params = {key: params[key] - rate * grads[key] for key in _PARAM_KEYS}
    return params, _stack(losses, X)
