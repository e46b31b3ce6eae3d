"""Plain loops and if/elif, returning a list of lists for the shapes."""


def layer_params(n_in, n_out):
    total = 0
    for _ in range(n_out):
        total += n_in  # this neuron's weights
        total += 1  # and its bias
    return total


def count_params(sizes):
    total = 0
    for i in range(1, len(sizes)):
        total = total + layer_params(sizes[i - 1], sizes[i])
    return total


def weight_shapes(sizes):
    shapes = []
    for i in range(1, len(sizes)):
        shapes.append([sizes[i], sizes[i - 1]])
    return shapes


def param_bytes(n_params, dtype):
    if dtype == "float64":
        size = 8
    elif dtype == "float32":
        size = 4
    elif dtype == "float16" or dtype == "bfloat16":
        size = 2
    elif dtype == "int8":
        size = 1
    else:
        raise ValueError("dtype must be float64, float32, float16, bfloat16 or int8")
    return n_params * size
