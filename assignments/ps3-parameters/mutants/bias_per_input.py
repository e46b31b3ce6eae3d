"""Gives every input a bias instead of every neuron: n_in·(n_out + 1), the sizes swapped."""

EXPECT = {"layer_params": "params.bias_per_input", "count_params": "params.bias_per_input"}


def layer_params(n_in, n_out):
    return n_in * (n_out + 1)


def count_params(sizes):
    return sum(n_in * n_out + n_in for n_in, n_out in zip(sizes[:-1], sizes[1:]))
