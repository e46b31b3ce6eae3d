"""Adds the bias as a column, b[:, None], so example i gets b[i] on every neuron."""

import numpy as np

EXPECT = {"dense_batch": "dense_batch.bias_on_wrong_axis"}


def dense_batch(X, W, b, activation):
    X, W, b = np.asarray(X), np.asarray(W), np.asarray(b)
    return activation(X @ W.T + b[:, None])
