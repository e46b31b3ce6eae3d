"""Takes the minimum with 0: keeps the negative part and zeroes the positive one."""

import numpy as np

EXPECT = {"relu": "relu.min_instead_of_max"}


def relu(z):
    return np.minimum(z, 0)
