"""Computes W Xᵀ, adds b along its last axis (the examples), then transposes back."""

import numpy as np

EXPECT = {"dense_batch": "dense_batch.bias_on_wrong_axis"}


def dense_batch(X, W, b, activation):
    X, W, b = np.asarray(X), np.asarray(W), np.asarray(b)
    return activation((W @ X.T + b).T)
