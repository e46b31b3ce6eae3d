"""Plain Python loops: over steps and examples, with per-example outer products."""

import numpy as np


def gd_linear(x, y, lr, steps):
    xs = [float(v) for v in x]
    ys = [float(v) for v in y]
    n = len(xs)
    w = b = 0.0
    losses = []
    for _ in range(steps):
        residuals = [w * xi + b - yi for xi, yi in zip(xs, ys)]
        losses.append(sum(r * r for r in residuals) / n)
        grad_w = 2 * sum(r * xi for r, xi in zip(residuals, xs)) / n
        grad_b = 2 * sum(residuals) / n
        w, b = w - lr * grad_w, b - lr * grad_b
    return w, b, losses


def mlp_grads(params, X, Y):
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    N, o = Y.shape
    grads = {k: np.zeros(np.shape(v)) for k, v in params.items()}
    total = 0.0
    for x, y in zip(X, Y):
        z = W1 @ x + b1
        h = np.maximum(z, 0)
        r = W2 @ h + b2 - y
        total += float(r @ r)
        g = 2 * r / (N * o)
        grads["W2"] += np.outer(g, h)
        grads["b2"] += g
        gz = (W2.T @ g) * (z > 0)
        grads["W1"] += np.outer(gz, x)
        grads["b1"] += gz
    return total / (N * o), grads


def train_mlp(X, Y, hidden, lr, steps, seed):
    rng = np.random.default_rng(seed)
    n, o = X.shape[1], Y.shape[1]
    params = {
        "W1": rng.normal(0.0, np.sqrt(2 / n), size=(hidden, n)),
        "b1": np.zeros(hidden),
        "W2": rng.normal(0.0, np.sqrt(2 / hidden), size=(o, hidden)),
        "b2": np.zeros(o),
    }
    losses = []
    for _ in range(steps):
        loss, grads = mlp_grads(params, X, Y)
        losses.append(loss)
        for key in params:
            params[key] = params[key] - lr * grads[key]
    return params, losses
