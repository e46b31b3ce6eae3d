"""Picks the class with the smallest score."""

import numpy as np

EXPECT = {"predict": "predict.argmin"}


def predict(scores, classes):
    index = np.argmin(scores, axis=-1)
    return np.asarray(classes)[index]
