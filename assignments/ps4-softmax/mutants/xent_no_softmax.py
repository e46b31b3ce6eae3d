"""Takes -log of the raw logit of the right class."""

import numpy as np

EXPECT = {"cross_entropy": "xent.no_softmax"}


def cross_entropy(logits, labels):
    return -np.mean(np.log(logits[np.arange(len(labels)), labels]))
