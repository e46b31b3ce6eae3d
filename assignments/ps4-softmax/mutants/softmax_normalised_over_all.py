"""Divides by the sum of the whole array instead of the sum along the axis."""

import numpy as np

EXPECT = {"softmax": "softmax.normalised_over_all"}


def softmax(z, axis=-1):
    z = np.asarray(z, dtype=float)
    e = np.exp(z - z.max())
    return e / e.sum()
