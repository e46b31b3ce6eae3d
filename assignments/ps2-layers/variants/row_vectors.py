"""Treats examples as row vectors throughout: x Wᵀ, (W Xᵀ)ᵀ, functools.reduce; tuples back."""

import functools

import numpy as np


def dense(W, x, b, activation):
    W, x, b = np.asarray(W), np.asarray(x), np.asarray(b)
    if np.ndim(W) != 2 or np.shape(x) != (W.shape[1],) or np.shape(b) != (W.shape[0],):
        raise ValueError("dense: shapes of W, x and b do not fit")
    return activation(x @ W.T + b)


def dense_batch(X, W, b, activation):
    Z = (np.asarray(W) @ np.asarray(X).T).T + np.asarray(b)[None, :]
    return activation(Z)


def forward(X, layers):
    return functools.reduce(lambda H, layer: layer[2](H @ np.transpose(layer[0]) + layer[1]), layers, X)


def collapse(weights):
    return functools.reduce(lambda P, W: np.matmul(W, P), weights[1:], np.asarray(weights[0]))


def xor_network():
    # h1 = relu(x1 + x2), h2 = relu(x1 + x2 - 1.5); the score h1 - 4 h2 is 0, 1, 1, 0.
    W1 = ((1, 1), (1, 1))
    b1 = (0, -1.5)
    W2 = ((1, -4),)
    b2 = (0,)
    return W1, b1, W2, b2
