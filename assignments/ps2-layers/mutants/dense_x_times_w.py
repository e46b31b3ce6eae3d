"""Writes x W instead of W x, with a shape check that follows the same mistake."""

import numpy as np

EXPECT = {"dense": "dense.transposed"}


def dense(W, x, b, activation):
    W, x, b = np.asarray(W), np.asarray(x), np.asarray(b)
    if W.ndim != 2 or x.shape != (W.shape[0],) or b.shape != (W.shape[1],):
        raise ValueError(f"shapes do not fit: W {W.shape}, x {x.shape}, b {b.shape}")
    return activation(x @ W + b)
