"""Biases so large that ReLU never clips: the hidden layer is linear and XOR is out of reach."""

import numpy as np

EXPECT = {"xor_network": "xor.not_separable"}


def xor_network():
    W1 = np.array([[1.0, 1.0], [1.0, -1.0]])
    b1 = np.array([1.0, 2.0])
    W2 = np.array([[1.0, -2.0]])
    b2 = np.array([0.5])
    return W1, b1, W2, b2
