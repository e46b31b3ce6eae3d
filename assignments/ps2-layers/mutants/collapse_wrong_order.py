"""Multiplies the matrices in the order they are listed: W1 W2 ⋯ W_L."""

import functools

import numpy as np

EXPECT = {"collapse": "collapse.wrong_order"}


def collapse(weights):
    return functools.reduce(np.matmul, [np.asarray(W) for W in weights])
