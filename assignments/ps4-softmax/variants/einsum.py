"""Sums with np.einsum and picks with boolean one-hot masks."""

import numpy as np


def softmax(z, axis=-1):
    z = np.asarray(z, dtype=float)
    e = np.exp(z - np.max(z, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def cross_entropy(logits, labels):
    n, k = logits.shape
    onehot = np.eye(k)[labels]
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.einsum("ij->i", np.exp(shifted)))[:, None]
    return -np.einsum("ij,ij->", onehot, log_p) / n


def mse(y_true, y_pred):
    d = (np.asarray(y_true, dtype=float) - np.asarray(y_pred, dtype=float)).ravel()
    return np.einsum("i,i->", d, d) / d.size
