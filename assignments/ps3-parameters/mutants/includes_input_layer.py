"""Treats the input layer like the others: it gets a bias per neuron and a weight matrix."""

EXPECT = {"count_params": "params.includes_input_layer", "weight_shapes": "params.includes_input_layer"}


def count_params(sizes):
    weights = sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
    biases = sum(sizes)  # every neuron of every layer, the input layer's too
    return weights + biases


def weight_shapes(sizes):
    shapes = []
    for i in range(len(sizes)):
        shapes.append((sizes[i], sizes[i - 1]))  # i = 0 wraps round to the last size
    return shapes
