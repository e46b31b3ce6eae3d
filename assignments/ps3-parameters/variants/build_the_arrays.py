"""Counts by building the (empty) weight and bias arrays and asking NumPy for sizes and itemsize."""

import numpy as np


def layer_params(n_in, n_out):
    W = np.empty((int(n_out), int(n_in)), dtype=np.int8)
    b = np.empty(int(n_out), dtype=np.int8)
    return W.size + b.size


def count_params(sizes):
    return sum(layer_params(a, b) for a, b in zip(list(sizes)[:-1], list(sizes)[1:]))


def weight_shapes(sizes):
    sizes = list(sizes)
    return [np.empty((b, a), dtype=np.int8).shape for a, b in zip(sizes[:-1], sizes[1:])]


def param_bytes(n_params, dtype):
    if dtype not in ("float64", "float32", "float16", "bfloat16", "int8"):
        raise ValueError(f"param_bytes: no such dtype {dtype!r}")
    itemsize = 2 if dtype == "bfloat16" else np.dtype(dtype).itemsize  # NumPy has no bfloat16
    return n_params * itemsize
