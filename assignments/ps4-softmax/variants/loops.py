"""Plain Python loops over rows and entries, returning lists where the contract allows."""

import math

import numpy as np


def softmax(z, axis=-1):
    z = np.moveaxis(np.asarray(z, dtype=float), axis, -1)
    out = np.empty_like(z)
    for index in np.ndindex(z.shape[:-1]):
        row = z[index]
        top = max(row)
        exps = [math.exp(v - top) for v in row]
        total = sum(exps)
        out[index] = [e / total for e in exps]
    return np.moveaxis(out, -1, axis)


def predict(scores, classes):
    scores = np.asarray(scores)
    if scores.ndim == 1:
        best = 0
        for i in range(len(scores)):
            if scores[i] > scores[best]:
                best = i
        return classes[best]
    return [predict(row, classes) for row in scores]


def cross_entropy(logits, labels):
    total = 0.0
    for row, label in zip(logits, labels):
        top = max(row)
        log_sum = top + math.log(sum(math.exp(v - top) for v in row))
        total += log_sum - row[label]
    return total / len(labels)


def mse(y_true, y_pred):
    a = np.ravel(y_true)
    b = np.ravel(y_pred)
    return sum((x - y) ** 2 for x, y in zip(a, b)) / len(a)
