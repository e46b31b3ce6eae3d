"""Plain Python loops and the math module, one entry at a time; neuron returns a Python float."""

import math

import numpy as np


def relu(z):
    z = np.asarray(z)
    out = np.zeros_like(z)
    for index in np.ndindex(z.shape):
        if z[index] > 0:
            out[index] = z[index]
    return out


def sigmoid(z):
    z = np.asarray(z, dtype=float)
    out = np.empty_like(z)
    for index in np.ndindex(z.shape):
        t = z[index]
        if t >= 0:
            out[index] = 1.0 / (1.0 + math.exp(-t))
        else:
            e = math.exp(t)
            out[index] = e / (1.0 + e)
    return out


def tanh(z):
    z = np.asarray(z, dtype=float)
    out = np.empty_like(z)
    for index in np.ndindex(z.shape):
        out[index] = math.tanh(z[index])
    return out


def neuron(x, w, b, activation):
    if len(x) != len(w):
        raise ValueError(f"{len(x)} inputs but {len(w)} weights")
    total = 0.0
    for i in range(len(x)):
        total += float(x[i]) * float(w[i])
    return float(activation(total + b))
