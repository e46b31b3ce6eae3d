"""Shifts by the max (no overflow) but then takes log of the probability: when the right class
is far below the max, p underflows to 0 and the loss is inf (found by a student, issue #16)."""

import numpy as np

EXPECT = {"cross_entropy": "xent.unstable"}


def cross_entropy(logits, labels):
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    return -np.mean(np.log(p[np.arange(len(labels)), labels]))
