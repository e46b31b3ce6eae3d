"""Works in bits and converts with floor division; shapes as a tuple of tuples via itertools."""

import itertools
import math

BITS = {"float64": 64, "float32": 32, "float16": 16, "bfloat16": 16, "int8": 8}


def layer_params(n_in, n_out):
    return math.prod((n_out, n_in + 1))


def count_params(sizes):
    return sum(itertools.starmap(layer_params, itertools.pairwise(sizes)))


def weight_shapes(sizes):
    return tuple((int(b), int(a)) for a, b in itertools.pairwise(sizes))


def param_bytes(n_params, dtype):
    try:
        bits = BITS[dtype]
    except KeyError:
        raise ValueError(f"unsupported dtype: {dtype}") from None
    return n_params * bits // 8
