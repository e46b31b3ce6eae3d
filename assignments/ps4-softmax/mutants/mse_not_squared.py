"""Averages the raw differences, so errors of opposite sign cancel."""

import numpy as np

EXPECT = {"mse": "mse.not_squared"}


def mse(y_true, y_pred):
    return np.mean(np.asarray(y_true) - np.asarray(y_pred))
