"""Checks the shapes with assert, which raises AssertionError instead of ValueError."""

import numpy as np

EXPECT = {"dense": "dense.no_shape_check"}


def dense(W, x, b, activation):
    W, x, b = np.asarray(W), np.asarray(x), np.asarray(b)
    assert W.ndim == 2 and x.shape == (W.shape[1],) and b.shape == (W.shape[0],), "bad shapes"
    return activation(W @ x + b)
