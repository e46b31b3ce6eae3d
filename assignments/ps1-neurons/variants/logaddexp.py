"""sigmoid as exp(-log(1 + e^-z)) with np.logaddexp, which never overflows; tanh from np.sinh
and np.cosh of clipped scores; neuron checks the shapes with np.shape."""

import numpy as np


def relu(z):
    return np.clip(z, 0, None)


def sigmoid(z):
    return np.exp(-np.logaddexp(0.0, -np.asarray(z, dtype=float)))


def tanh(z):
    z = np.clip(np.asarray(z, dtype=float), -20.0, 20.0)
    return np.sinh(z) / np.cosh(z)


def neuron(x, w, b, activation):
    if np.shape(x) != np.shape(w):
        raise ValueError(f"x has shape {np.shape(x)}, w has shape {np.shape(w)}")
    return activation(np.asarray(w) @ np.asarray(x) + b)
