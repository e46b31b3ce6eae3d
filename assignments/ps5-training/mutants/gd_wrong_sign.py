"""Adds the gradient instead of subtracting it: every step climbs, and the loss grows."""

import numpy as np

EXPECT = {"gd_linear": "gd.wrong_sign"}


def gd_linear(x, y, lr, steps):
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    w = b = 0.0
    losses = []
    for _ in range(steps):
        residual = w * x + b - y
        losses.append(np.mean(residual ** 2))
        w = w + lr * 2 * np.mean(residual * x)
        b = b + lr * 2 * np.mean(residual)
    return w, b, np.array(losses)
