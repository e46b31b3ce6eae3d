"""Averages the bias gradients over the examples instead of summing: N times too small.

train_mlp (the source solution) calls this mlp_grads, so its outcome is not judged.
"""

import numpy as np

EXPECT = {"mlp_grads": "backprop.bias_grad_not_summed"}
EXCUSED = ("train_mlp",)


def mlp_grads(params, X, Y):
    Z = X @ params["W1"].T + params["b1"]
    H = np.maximum(Z, 0)
    R = H @ params["W2"].T + params["b2"] - Y
    G = 2 * R / R.size
    G_Z = (G @ params["W2"]) * (Z > 0)
    return np.mean(R ** 2), {"W1": G_Z.T @ X, "b1": G_Z.mean(axis=0), "W2": G.T @ H, "b2": G.mean(axis=0)}
