"""Sums elementwise products: a length-1 w or x broadcasts silently instead of raising."""

import numpy as np

EXPECT = {"neuron": "neuron.no_shape_check"}


def neuron(x, w, b, activation):
    return float(activation(np.sum(x * w) + b))
