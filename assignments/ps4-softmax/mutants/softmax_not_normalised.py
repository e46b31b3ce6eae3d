"""Shifts and exponentiates but never divides by the sum."""

import numpy as np

EXPECT = {"softmax": "softmax.not_normalised"}


def softmax(z, axis=-1):
    z = np.asarray(z, dtype=float)
    return np.exp(z - z.max(axis=axis, keepdims=True))
