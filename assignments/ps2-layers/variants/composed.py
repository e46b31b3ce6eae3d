"""Builds each function from the one before: dense_batch row by row from dense, and so on."""

import numpy as np


def dense(W, x, b, activation):
    W, x, b = np.asarray(W), np.asarray(x), np.asarray(b)
    if W.ndim != 2:
        raise ValueError(f"W must be a matrix, got shape {W.shape}")
    m, n = W.shape
    if x.shape != (n,):
        raise ValueError(f"x must have shape ({n},), got {x.shape}")
    if b.shape != (m,):
        raise ValueError(f"b must have shape ({m},), got {b.shape}")
    return activation(np.dot(W, x) + b)


def dense_batch(X, W, b, activation):
    return np.stack([dense(W, x, b, activation) for x in np.asarray(X)])


def forward(X, layers):
    out = X
    for W, b, activation in layers:
        out = dense_batch(out, W, b, activation)
    return out


def collapse(weights):
    if len(weights) == 1:
        return weights[0]
    return np.linalg.multi_dot(weights[::-1])


def xor_network():
    # Four hidden neurons; the output uses two of them. W2 as (h,), b2 as a number.
    W1 = np.array([[1.0, 1.0], [1.0, 1.0], [0.5, -0.5], [-1.0, 0.0]])
    b1 = np.array([0.0, -1.0, 0.0, 0.0])
    W2 = np.array([1.0, -2.0, 0.0, 0.0])
    return W1, b1, W2, 0.0
