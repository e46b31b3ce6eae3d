"""Right on valid layers, but lets NumPy broadcast mismatched shapes into an answer."""

import numpy as np

EXPECT = {"dense": "dense.no_shape_check"}


def dense(W, x, b, activation):
    return activation(np.asarray(W) @ np.asarray(x) + np.asarray(b))
