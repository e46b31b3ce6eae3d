"""Computes everything in float32, which the contract accepts."""

import numpy as np


def relu(z):
    z = np.asarray(z, dtype=np.float32)
    return np.maximum(z, np.float32(0))


def sigmoid(z):
    z = np.asarray(z, dtype=np.float32)
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e)).astype(np.float32)


def tanh(z):
    return np.tanh(np.asarray(z, dtype=np.float32))


def neuron(x, w, b, activation):
    x = np.asarray(x, dtype=np.float32)
    w = np.asarray(w, dtype=np.float32)
    if x.shape != w.shape:
        raise ValueError("x and w must have the same length")
    return np.float32(activation(np.dot(w, x) + np.float32(b)))
