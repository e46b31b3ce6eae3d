"""Leans on log-sum-exp written with np.logaddexp.reduce and np.take_along_axis."""

import numpy as np


def softmax(z, axis=-1):
    z = np.asarray(z, dtype=float)
    return np.exp(z - np.logaddexp.reduce(z, axis=axis, keepdims=True))


def predict(scores, classes):
    labels = np.array(list(classes), dtype=object)
    picked = labels[np.argmax(scores, axis=-1)]
    return picked.tolist() if isinstance(picked, np.ndarray) else picked


def cross_entropy(logits, labels):
    lse = np.logaddexp.reduce(logits, axis=1)
    right = np.take_along_axis(logits, np.asarray(labels)[:, None], axis=1)[:, 0]
    return np.mean(lse - right)


def mse(y_true, y_pred):
    return np.square(np.subtract(y_true, y_pred)).mean()
