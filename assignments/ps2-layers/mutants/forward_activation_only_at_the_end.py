"""Chains the linear parts and applies the last activation once, at the end."""

import numpy as np

EXPECT = {"forward": "forward.activation_skipped"}


def forward(X, layers):
    out = np.asarray(X)
    for W, b, activation in layers:
        out = out @ np.asarray(W).T + np.asarray(b)
    return layers[-1][2](out)
