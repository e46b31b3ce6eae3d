"""Averages the bias gradients over the examples instead of summing: N times too small.

train_mlp here uses its own correct gradients, so that only mlp_grads is at fault.
"""

import numpy as np

EXPECT = {"mlp_grads": "backprop.bias_grad_not_summed"}


def mlp_grads(params, X, Y):
    Z = X @ params["W1"].T + params["b1"]
    H = np.maximum(Z, 0)
    R = H @ params["W2"].T + params["b2"] - Y
    G = 2 * R / R.size
    G_Z = (G @ params["W2"]) * (Z > 0)
    return np.mean(R ** 2), {"W1": G_Z.T @ X, "b1": G_Z.mean(axis=0), "W2": G.T @ H, "b2": G.mean(axis=0)}


def train_mlp(X, Y, hidden, lr, steps, seed):
    rng = np.random.default_rng(seed)
    n, o = X.shape[1], Y.shape[1]
    p = {"W1": rng.standard_normal((hidden, n)) * np.sqrt(2 / n), "b1": np.zeros(hidden),
         "W2": rng.standard_normal((o, hidden)) * np.sqrt(2 / hidden), "b2": np.zeros(o)}
    losses = []
    for _ in range(steps):
        loss, g = _right_grads(p, X, Y)
        losses.append(loss)
        p = {k: p[k] - lr * g[k] for k in p}
    return p, np.array(losses)


def _right_grads(p, X, Y):
    Z = X @ p["W1"].T + p["b1"]
    H = np.maximum(Z, 0)
    R = H @ p["W2"].T + p["b2"] - Y
    G = 2 * R / R.size
    G_Z = (G @ p["W2"]) * (Z > 0)
    return np.mean(R ** 2), {"W1": G_Z.T @ X, "b1": G_Z.sum(0), "W2": G.T @ H, "b2": G.sum(0)}
