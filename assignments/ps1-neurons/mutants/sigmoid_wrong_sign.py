"""Drops the minus in the exponent: 1 / (1 + e^z), a sigmoid that falls instead of rising."""

import numpy as np

EXPECT = {"sigmoid": "sigmoid.wrong_sign"}


def sigmoid(z):
    return 1 / (1 + np.exp(z))
