"""Returns the position of the largest score, not its label."""

import numpy as np

EXPECT = {"predict": "predict.returns_index"}


def predict(scores, classes):
    return np.argmax(scores, axis=-1)
