"""A loop over zip(x, w): stops at the shorter of the two and never complains."""

EXPECT = {"neuron": "neuron.no_shape_check"}


def neuron(x, w, b, activation):
    total = b
    for xi, wi in zip(x, w):
        total += xi * wi
    return float(activation(total))
