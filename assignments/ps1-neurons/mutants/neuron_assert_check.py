"""Checks the lengths, but with assert: AssertionError where ValueError is asked."""

import numpy as np

EXPECT = {"neuron": "neuron.no_shape_check"}


def neuron(x, w, b, activation):
    assert len(x) == len(w), "x and w differ in length"
    return float(activation(np.dot(w, x) + b))
