"""scipy.special's softmax and logsumexp, as a student who knows SciPy writes them (SciPy is part
of the course's environment, issue #16)."""

import numpy as np
from scipy.special import logsumexp
from scipy.special import softmax as scipy_softmax


def softmax(z, axis=-1):
    return scipy_softmax(z, axis=axis)


def predict(scores, classes):
    return np.asarray(classes)[np.argmax(scores, axis=-1)]


def cross_entropy(logits, labels):
    logits = np.asarray(logits, dtype=float)
    rows = np.arange(len(labels))
    return float(np.mean(logsumexp(logits, axis=1) - logits[rows, labels]))


def mse(y_true, y_pred):
    return float(np.mean((np.asarray(y_pred) - np.asarray(y_true)) ** 2))
