"""Loops over all len(sizes) layers, so sizes[i - 1] at i = 0 invents a layer from the output."""

EXPECT = {"count_params": "params.includes_input_layer"}


def count_params(sizes):
    total = 0
    for i in range(len(sizes)):
        total += sizes[i] * (sizes[i - 1] + 1)
    return total
