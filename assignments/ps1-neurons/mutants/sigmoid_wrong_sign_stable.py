"""A stable sigmoid with the branches swapped: no overflow, but it computes sigmoid(-z)."""

import numpy as np

EXPECT = {"sigmoid": "sigmoid.wrong_sign"}


def sigmoid(z):
    z = np.asarray(z, dtype=float)
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, e / (1 + e), 1 / (1 + e))
