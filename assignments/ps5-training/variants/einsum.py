"""Every product and sum written with np.einsum; the ReLU slope from np.heaviside."""

import numpy as np


def gd_linear(x, y, lr, steps):
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    theta = np.zeros(2)
    losses = np.empty(steps)
    for t in range(steps):
        r = theta[0] * x + theta[1] - y
        losses[t] = np.einsum("i,i->", r, r) / r.size
        theta = theta - lr * 2 * np.array([np.einsum("i,i->", r, x), np.einsum("i->", r)]) / r.size
    return theta[0], theta[1], losses


def mlp_grads(params, X, Y):
    X = np.asarray(X, dtype=float)
    Z = np.einsum("nd,hd->nh", X, params["W1"]) + params["b1"]
    H = np.maximum(Z, 0)
    R = np.einsum("nh,oh->no", H, params["W2"]) + params["b2"] - Y
    G = 2 * R / R.size
    G_Z = np.einsum("no,oh->nh", G, params["W2"]) * np.heaviside(Z, 0.0)
    grads = {
        "W1": np.einsum("nh,nd->hd", G_Z, X),
        "b1": np.einsum("nh->h", G_Z),
        "W2": np.einsum("no,nh->oh", G, H),
        "b2": np.einsum("no->o", G),
    }
    return np.einsum("no,no->", R, R) / R.size, grads


def train_mlp(X, Y, hidden, lr, steps, seed):
    rng = np.random.default_rng(seed)
    n, o = np.shape(X)[1], np.shape(Y)[1]
    W1 = rng.standard_normal((hidden, n)) * np.sqrt(2 / n)
    W2 = rng.standard_normal((o, hidden)) * np.sqrt(2 / hidden)
    params = {"W1": W1, "b1": np.zeros(hidden), "W2": W2, "b2": np.zeros(o)}
    losses = np.empty(steps)
    for t in range(steps):
        losses[t], grads = mlp_grads(params, X, Y)
        params = {k: v - lr * grads[k] for k, v in params.items()}
    return params, losses
