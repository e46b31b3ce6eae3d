"""Counts the weights of every layer and forgets the biases."""

EXPECT = {"layer_params": "params.no_bias", "count_params": "params.no_bias"}


def layer_params(n_in, n_out):
    return n_out * n_in


def count_params(sizes):
    total = 0
    for i in range(len(sizes) - 1):
        total += sizes[i] * sizes[i + 1]
    return total
