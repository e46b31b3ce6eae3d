"""The other textbook form, e^z / (1 + e^z): inf / inf = nan for very positive z."""

import numpy as np

EXPECT = {"sigmoid": "sigmoid.overflow"}


def sigmoid(z):
    e = np.exp(z)
    return e / (1 + e)
