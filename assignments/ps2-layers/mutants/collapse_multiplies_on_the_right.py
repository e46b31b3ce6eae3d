"""Loops in the right order but multiplies each new matrix on the right of the product."""

import numpy as np

EXPECT = {"collapse": "collapse.wrong_order"}


def collapse(weights):
    product = np.asarray(weights[0], dtype=float)
    for W in weights[1:]:
        product = product @ np.asarray(W)
    return product
