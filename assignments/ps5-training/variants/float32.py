"""Computes everything in float32, which the contract accepts."""

import numpy as np


def gd_linear(x, y, lr, steps):
    x = np.asarray(x, dtype=np.float32)
    y = np.asarray(y, dtype=np.float32)
    lr = np.float32(lr)
    w = b = np.float32(0.0)
    losses = np.zeros(steps, dtype=np.float32)
    for t in range(steps):
        r = w * x + b - y
        losses[t] = np.mean(r * r)
        w, b = w - lr * 2 * np.mean(r * x), b - lr * 2 * np.mean(r)
    return w, b, losses


def mlp_grads(params, X, Y):
    p = {k: np.asarray(v, dtype=np.float32) for k, v in params.items()}
    X = np.asarray(X, dtype=np.float32)
    Y = np.asarray(Y, dtype=np.float32)
    Z = X @ p["W1"].T + p["b1"]
    H = np.maximum(Z, 0)
    R = H @ p["W2"].T + p["b2"] - Y
    G = 2 * R / np.float32(R.size)
    G_Z = (G @ p["W2"]) * (Z > 0)
    grads = {"W1": G_Z.T @ X, "b1": G_Z.sum(axis=0), "W2": G.T @ H, "b2": G.sum(axis=0)}
    return np.mean(R * R), grads


def train_mlp(X, Y, hidden, lr, steps, seed):
    rng = np.random.default_rng(seed)
    n, o = X.shape[1], Y.shape[1]
    params = {
        "W1": (rng.standard_normal((hidden, n)) * np.sqrt(2 / n)).astype(np.float32),
        "b1": np.zeros(hidden, dtype=np.float32),
        "W2": (rng.standard_normal((o, hidden)) * np.sqrt(2 / hidden)).astype(np.float32),
        "b2": np.zeros(o, dtype=np.float32),
    }
    lr = np.float32(lr)
    losses = np.zeros(steps, dtype=np.float32)
    for t in range(steps):
        losses[t], grads = mlp_grads(params, X, Y)
        params = {k: params[k] - lr * grads[k] for k in params}
    return params, losses
