"""Exponentiates the raw scores: right for small scores, nan once exp overflows."""

import numpy as np

EXPECT = {"softmax": "softmax.no_max_shift"}


def softmax(z, axis=-1):
    e = np.exp(z)
    return e / np.sum(e, axis=axis, keepdims=True)
