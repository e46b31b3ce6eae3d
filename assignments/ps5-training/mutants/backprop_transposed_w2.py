"""Sends the gradient back through W2ᵀ instead of W2: raises unless o == h, wrong values when it runs.

train_mlp (the source solution) calls this mlp_grads, so its outcome is not judged.
"""

import numpy as np

EXPECT = {"mlp_grads": "backprop.transposed"}
EXCUSED = ("train_mlp",)


def mlp_grads(params, X, Y):
    Z = X @ params["W1"].T + params["b1"]
    H = np.maximum(Z, 0)
    R = H @ params["W2"].T + params["b2"] - Y
    G = 2 * R / R.size
    G_Z = (G @ params["W2"].T) * (Z > 0)
    return np.mean(R ** 2), {"W1": G_Z.T @ X, "b1": G_Z.sum(axis=0), "W2": G.T @ H, "b2": G.sum(axis=0)}
