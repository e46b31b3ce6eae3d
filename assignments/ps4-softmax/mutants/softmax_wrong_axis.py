"""Always normalises over the first axis, whatever `axis` says."""

import numpy as np

EXPECT = {"softmax": "softmax.wrong_axis"}


def softmax(z, axis=-1):
    z = np.asarray(z, dtype=float)
    e = np.exp(z - z.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)
