"""Applies every product and bias but never an activation."""

import numpy as np

EXPECT = {"forward": "forward.activation_skipped"}


def forward(X, layers):
    out = np.asarray(X)
    for W, b, activation in layers:
        out = out @ np.asarray(W).T + np.asarray(b)
    return out
