"""Plain Python loops over neurons, examples and entries; lists where the contract allows."""

import numpy as np


def dense(W, x, b, activation):
    W, x, b = np.asarray(W, dtype=float), np.asarray(x, dtype=float), np.asarray(b, dtype=float)
    if W.ndim != 2 or x.ndim != 1 or b.ndim != 1 or len(x) != W.shape[1] or len(b) != W.shape[0]:
        raise ValueError("dense needs W (m, n), x (n,), b (m,)")
    z = []
    for i in range(W.shape[0]):
        total = b[i]
        for j in range(W.shape[1]):
            total += W[i, j] * x[j]
        z.append(total)
    return activation(np.array(z))


def dense_batch(X, W, b, activation):
    rows = []
    for example in X:
        row = []
        for i in range(len(W)):
            total = b[i]
            for j in range(len(example)):
                total += W[i][j] * example[j]
            row.append(total)
        rows.append(row)
    return activation(np.array(rows))


def forward(X, layers):
    out = X
    for W, b, activation in layers:
        out = dense_batch(out, W, b, activation)
    return out


def collapse(weights):
    product = [list(row) for row in weights[0]]
    for W in weights[1:]:
        rows, inner, cols = len(W), len(product), len(product[0])
        product = [
            [sum(W[i][k] * product[k][j] for k in range(inner)) for j in range(cols)]
            for i in range(rows)
        ]
    return product


def xor_network():
    # h1 = relu(x1 - x2), h2 = relu(x2 - x1): exactly one is 1 when the inputs differ.
    W1 = [[1.0, -1.0], [-1.0, 1.0]]
    b1 = [0.0, 0.0]
    W2 = [1.0, 1.0]
    b2 = 0.0
    return W1, b1, W2, b2
