"""Right counts, but as floats: a float literal in the formula and a 0.0 accumulator."""

EXPECT = {"layer_params": "params.float_result", "count_params": "params.float_result"}


def layer_params(n_in, n_out):
    return n_out * (n_in + 1.0)


def count_params(sizes):
    total = 0.0
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        total += n_out * (n_in + 1)
    return total
