"""Writes the weight gradients as Xᵀ G (column-vector habit): shapes (n, h) and (h, o).

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
    G_Z = (G @ params["W2"]) * (Z > 0)
    return np.mean(R ** 2), {"W1": X.T @ G_Z, "b1": G_Z.sum(axis=0), "W2": H.T @ G, "b2": G.sum(axis=0)}
