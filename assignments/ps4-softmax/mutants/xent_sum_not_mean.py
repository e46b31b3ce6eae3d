"""Adds up the per-example losses instead of averaging them."""

import numpy as np

EXPECT = {"cross_entropy": "xent.sum_not_mean"}


def cross_entropy(logits, labels):
    z = logits - logits.max(axis=1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return -np.sum(log_p[np.arange(len(labels)), labels])
