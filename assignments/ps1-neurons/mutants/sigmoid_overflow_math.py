"""A loop over math.exp: Python raises OverflowError once the exponent passes about 709."""

import math

import numpy as np

EXPECT = {"sigmoid": "sigmoid.overflow"}


def sigmoid(z):
    z = np.asarray(z, dtype=float)
    out = np.empty_like(z)
    for index in np.ndindex(z.shape):
        out[index] = 1.0 / (1.0 + math.exp(-z[index]))
    return out
