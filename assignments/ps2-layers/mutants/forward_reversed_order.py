"""Applies the layers from the last to the first."""

import numpy as np

EXPECT = {"forward": "forward.reversed_order"}


def forward(X, layers):
    out = np.asarray(X)
    for W, b, activation in reversed(layers):
        out = activation(out @ np.asarray(W).T + np.asarray(b))
    return out
