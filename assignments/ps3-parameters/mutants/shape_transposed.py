"""Writes each weight shape as (n_in, n_out), one row per input."""

EXPECT = {"weight_shapes": "params.shape_transposed"}


def weight_shapes(sizes):
    return [(n_in, n_out) for n_in, n_out in zip(sizes[:-1], sizes[1:])]
