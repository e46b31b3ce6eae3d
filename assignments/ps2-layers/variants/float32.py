"""Computes everything in float32, which the contract accepts."""

import numpy as np


def dense(W, x, b, activation):
    W, x, b = (np.asarray(a, dtype=np.float32) for a in (W, x, b))
    if W.ndim != 2 or x.shape != (W.shape[1],) or b.shape != (W.shape[0],):
        raise ValueError(f"dense: W {W.shape}, x {x.shape} and b {b.shape} do not fit together")
    return activation(W @ x + b)


def dense_batch(X, W, b, activation):
    X, W, b = (np.asarray(a, dtype=np.float32) for a in (X, W, b))
    return activation(X @ W.T + b)


def forward(X, layers):
    H = np.asarray(X, dtype=np.float32)
    for W, b, activation in layers:
        H = activation(H @ np.asarray(W, dtype=np.float32).T + np.asarray(b, dtype=np.float32))
    return H


def collapse(weights):
    product = np.asarray(weights[0], dtype=np.float32)
    for W in weights[1:]:
        product = np.asarray(W, dtype=np.float32) @ product
    return product


def xor_network():
    W1 = np.ones((2, 2), dtype=np.float32)
    b1 = np.array([0.0, -1.0], dtype=np.float32)
    W2 = np.array([[1.0, -2.0]], dtype=np.float32)
    b2 = np.array([0.0], dtype=np.float32)
    return W1, b1, W2, b2
