"""Sums the layers with a float NumPy array: the total is a NumPy float, not an int."""

import numpy as np

EXPECT = {"count_params": "params.float_result"}


def count_params(sizes):
    s = np.asarray(sizes, dtype=float)
    return np.sum(s[1:] * (s[:-1] + 1))
