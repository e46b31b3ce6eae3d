"""Uses np.maximum with out=z: right values, but written into the caller's array."""

import numpy as np

EXPECT = {"relu": "relu.inplace_mutation"}


def relu(z):
    return np.maximum(z, 0, out=z)
