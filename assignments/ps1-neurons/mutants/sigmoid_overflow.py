"""The textbook formula: right values, but np.exp(-z) overflows for very negative z."""

import numpy as np

EXPECT = {"sigmoid": "sigmoid.overflow"}


def sigmoid(z):
    return 1 / (1 + np.exp(-z))
