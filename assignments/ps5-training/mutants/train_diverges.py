"""Adds lr times the gradient: gradient ascent, so the loss grows until it overflows."""

import numpy as np

EXPECT = {"train_mlp": "train.diverges"}


def train_mlp(X, Y, hidden, lr, steps, seed):
    rng = np.random.default_rng(seed)
    n, o = X.shape[1], Y.shape[1]
    params = {"W1": rng.standard_normal((hidden, n)) * np.sqrt(2 / n), "b1": np.zeros(hidden),
              "W2": rng.standard_normal((o, hidden)) * np.sqrt(2 / hidden), "b2": np.zeros(o)}
    losses = []
    for _ in range(steps):
        loss, grads = mlp_grads(params, X, Y)  # noqa: F821  (the notebook's own mlp_grads)
        losses.append(loss)
        params = {k: params[k] + lr * grads[k] for k in params}
    return params, np.array(losses)
