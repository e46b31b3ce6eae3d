"""Leaves the bias out, and checks no shapes either."""

import numpy as np

EXPECT = {"dense": "dense.no_bias"}


def dense(W, x, b, activation):
    return activation(np.asarray(W) @ np.asarray(x))
