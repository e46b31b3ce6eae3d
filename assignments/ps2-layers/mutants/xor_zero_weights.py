"""Returns parameters of the right shapes, all zero: every score is 0."""

import numpy as np

EXPECT = {"xor_network": "xor.not_separable"}


def xor_network():
    return np.zeros((2, 2)), np.zeros(2), np.zeros((1, 2)), np.zeros(1)
