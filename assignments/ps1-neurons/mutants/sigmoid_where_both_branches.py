"""Chooses the form with np.where, but builds each branch from the raw exponentials,
so the branch not taken still overflows (with a warning) for large |z|."""

import numpy as np

EXPECT = {"sigmoid": "sigmoid.overflow"}


def sigmoid(z):
    z = np.asarray(z, dtype=float)
    return np.where(z >= 0, 1 / (1 + np.exp(-z)), np.exp(z) / (1 + np.exp(z)))
