"""Computes softmax naively, then its log: inf or nan for large logits."""

import numpy as np

EXPECT = {"cross_entropy": "xent.unstable"}


def cross_entropy(logits, labels):
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return -np.mean(np.log(p[np.arange(len(labels)), labels]))
