"""Returns Python lists and floats; keeps exp in range by clipping the scores first."""

import numpy as np


def relu(z):
    return (np.asarray(z) * (np.asarray(z) > 0)).tolist()


def sigmoid(z):
    # Beyond |z| = 500 the sigmoid is 0 or 1 to far more digits than float64 shows.
    clipped = np.clip(np.asarray(z, dtype=float), -500.0, 500.0)
    return (1.0 / (1.0 + np.exp(-clipped))).tolist()


def tanh(z):
    return np.tanh(np.asarray(z, dtype=float)).tolist()


def neuron(x, w, b, activation):
    x, w = list(x), list(w)
    if len(x) != len(w):
        raise ValueError("neuron needs exactly one weight per input")
    return float(activation(sum(xi * wi for xi, wi in zip(x, w)) + b))
