"""Sums the squared errors instead of averaging them."""

import numpy as np

EXPECT = {"mse": "mse.sum_not_mean"}


def mse(y_true, y_pred):
    return np.sum((np.asarray(y_true) - np.asarray(y_pred)) ** 2)
