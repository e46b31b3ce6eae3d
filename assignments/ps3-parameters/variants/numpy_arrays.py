"""Vectorised with NumPy: NumPy integers for the counts, an (L, 2) int array for the shapes."""

import numpy as np


def layer_params(n_in, n_out):
    return np.int64(n_out) * (np.int64(n_in) + 1)


def count_params(sizes):
    s = np.asarray(sizes, dtype=np.int64)
    return np.sum(s[1:] * (s[:-1] + 1))


def weight_shapes(sizes):
    s = np.asarray(sizes, dtype=np.int64)
    return np.stack([s[1:], s[:-1]], axis=1)


def param_bytes(n_params, dtype):
    names = np.array(["float64", "float32", "float16", "bfloat16", "int8"])
    sizes = np.array([8, 4, 2, 2, 1])
    hit = np.flatnonzero(names == dtype)
    if hit.size != 1:
        raise ValueError(f"unknown dtype {dtype!r}")
    return int(n_params) * int(sizes[hit[0]])
