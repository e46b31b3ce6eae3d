"""Multiplies by W transposed: raises on a non-square layer, wrong numbers on a square one."""

import numpy as np

EXPECT = {"dense": "dense.transposed"}


def dense(W, x, b, activation):
    W, x, b = np.asarray(W), np.asarray(x), np.asarray(b)
    return activation(W.T @ x + b)
