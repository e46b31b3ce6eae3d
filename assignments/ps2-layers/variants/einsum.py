"""Every product written with np.einsum; three hidden neurons for XOR."""

import numpy as np


def dense(W, x, b, activation):
    W, x, b = np.asarray(W), np.asarray(x), np.asarray(b)
    if W.ndim != 2 or x.shape != W.shape[1:] or b.shape != W.shape[:1]:
        raise ValueError(f"shapes W {W.shape}, x {x.shape}, b {b.shape} do not fit")
    return activation(np.einsum("ij,j->i", W, x) + b)


def dense_batch(X, W, b, activation):
    return activation(np.einsum("ni,mi->nm", X, W) + b[np.newaxis, :])


def forward(X, layers):
    for W, b, activation in layers:
        X = activation(np.einsum("ni,mi->nm", X, W) + b)
    return X


def collapse(weights):
    product = np.asarray(weights[0])
    for W in weights[1:]:
        product = np.einsum("ij,jk->ik", W, product)
    return product


def xor_network():
    W1 = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    b1 = np.array([0.0, 0.0, -1.0])
    W2 = np.array([[1.0, 1.0, -2.0]])
    b2 = np.array([0.0])
    return W1, b1, W2, b2
