"""Differentiates r² as r: the gradient is half as large, every step half as long."""

import numpy as np

EXPECT = {"gd_linear": "gd.missing_factor_two"}


def gd_linear(x, y, lr, steps):
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    w = b = 0.0
    losses = []
    for _ in range(steps):
        residual = w * x + b - y
        losses.append(np.mean(residual ** 2))
        grad_w = np.mean(residual * x)
        grad_b = np.mean(residual)
        w, b = w - lr * grad_w, b - lr * grad_b
    return w, b, np.array(losses)
