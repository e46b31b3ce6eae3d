"""Biases folded into the weights with a column of ones; Glorot-uniform start; tuples and lists back."""

import numpy as np


def gd_linear(x, y, lr, steps):
    A = np.column_stack([np.asarray(x, dtype=float), np.ones(len(x))])   # (N, 2)
    y = np.asarray(y, dtype=float)
    theta = np.zeros(2)
    losses = []
    for _ in range(steps):
        r = A @ theta - y
        losses.append(r @ r / len(y))
        theta = theta - lr * (2 / len(y)) * (A.T @ r)
    return tuple(theta) + (losses,)


def mlp_grads(params, X, Y):
    X1 = np.hstack([X, np.ones((len(X), 1))])                           # (N, n + 1)
    V1 = np.hstack([params["W1"], np.reshape(params["b1"], (-1, 1))])   # (h, n + 1)
    V2 = np.hstack([params["W2"], np.reshape(params["b2"], (-1, 1))])   # (o, h + 1)
    Z = X1 @ V1.T
    H1 = np.hstack([np.maximum(Z, 0), np.ones((len(X), 1))])            # (N, h + 1)
    R = H1 @ V2.T - Y
    G = 2 * R / R.size
    G_V2 = G.T @ H1
    G_Z = (G @ V2[:, :-1]) * (Z > 0)
    G_V1 = G_Z.T @ X1
    grads = {"W1": G_V1[:, :-1], "b1": G_V1[:, -1], "W2": G_V2[:, :-1], "b2": G_V2[:, -1].tolist()}
    return (R**2).mean(), grads


def train_mlp(X, Y, hidden, lr, steps, seed):
    rng = np.random.default_rng(seed)
    n, o = X.shape[1], Y.shape[1]
    a1, a2 = np.sqrt(6 / (n + hidden)), np.sqrt(6 / (hidden + o))
    params = {
        "W1": rng.uniform(-a1, a1, size=(hidden, n)),
        "b1": np.zeros(hidden),
        "W2": rng.uniform(-a2, a2, size=(o, hidden)),
        "b2": np.zeros(o),
    }
    losses = []
    for _ in range(steps):
        loss, grads = mlp_grads(params, X, Y)
        losses.append(loss)
        params = {k: np.asarray(params[k]) - lr * np.asarray(grads[k]) for k in params}
    return params, losses
