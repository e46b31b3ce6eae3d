"""Forgets the bias: activation(w · x)."""

import numpy as np

EXPECT = {"neuron": "neuron.no_bias"}


def neuron(x, w, b, activation):
    return float(activation(np.dot(w, x)))
