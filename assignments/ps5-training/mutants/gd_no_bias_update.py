"""Computes the bias's gradient but never applies it: b stays 0."""

import numpy as np

EXPECT = {"gd_linear": "gd.no_bias_update"}


def gd_linear(x, y, lr, steps):
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    w = b = 0.0
    losses = []
    for _ in range(steps):
        residual = w * x + b - y
        losses.append(np.mean(residual ** 2))
        w = w - lr * 2 * np.mean(residual * x)
    return w, b, np.array(losses)
