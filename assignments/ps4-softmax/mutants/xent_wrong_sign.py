"""Forgets the minus sign: the loss comes out negative."""

import numpy as np

EXPECT = {"cross_entropy": "xent.wrong_sign"}


def cross_entropy(logits, labels):
    z = logits - logits.max(axis=1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return np.mean(log_p[np.arange(len(labels)), labels])
