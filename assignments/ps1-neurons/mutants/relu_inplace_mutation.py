"""Zeroes the negative entries of the caller's array and returns that same array."""

EXPECT = {"relu": "relu.inplace_mutation"}


def relu(z):
    z[z < 0] = 0
    return z
