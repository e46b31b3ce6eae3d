"""Checks the shapes but returns the scores W x + b without the activation."""

import numpy as np

EXPECT = {"dense": "dense.no_activation"}


def dense(W, x, b, activation):
    W, x, b = np.asarray(W), np.asarray(x), np.asarray(b)
    if W.ndim != 2 or x.shape != (W.shape[1],) or b.shape != (W.shape[0],):
        raise ValueError(f"shapes do not fit: W {W.shape}, x {x.shape}, b {b.shape}")
    return W @ x + b
