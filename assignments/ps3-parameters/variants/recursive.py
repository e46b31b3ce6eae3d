"""Recursion over the size list, returning Python ints and a list of tuples built from the end."""


def layer_params(n_in, n_out):
    return int(n_out * n_in + n_out)


def count_params(sizes):
    sizes = [int(s) for s in sizes]
    if len(sizes) < 2:
        return 0
    return layer_params(sizes[0], sizes[1]) + count_params(sizes[1:])


def weight_shapes(sizes):
    sizes = [int(s) for s in sizes]
    if len(sizes) < 2:
        return []
    return [(sizes[1], sizes[0])] + weight_shapes(sizes[1:])


def param_bytes(n_params, dtype):
    table = dict(float64=8, float32=4, float16=2, bfloat16=2, int8=1)
    if dtype in table:
        return table[dtype] * n_params
    raise ValueError(dtype)
