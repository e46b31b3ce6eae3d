"""Adds the bias after the activation: activation(w · x) + b."""

import numpy as np

EXPECT = {"neuron": "neuron.activation_before_bias"}


def neuron(x, w, b, activation):
    return float(activation(np.dot(w, x))) + b
