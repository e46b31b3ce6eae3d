"""What a student of a NumPy course reaches for: scipy.special.expit for the sigmoid (stable for
any z), np.tanh, and np.dot (SciPy is part of the course's environment, issue #16)."""

import numpy as np
from scipy.special import expit


def relu(z):
    return np.where(np.asarray(z) > 0, z, 0.0)


def sigmoid(z):
    return expit(z)


def tanh(z):
    return np.tanh(z)


def neuron(x, w, b, activation):
    if len(x) != len(w):
        raise ValueError(f"x has {len(x)} entries and w has {len(w)}")
    return float(activation(np.dot(w, x) + b))
