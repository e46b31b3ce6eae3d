"""Multiplies by the bits in the type's name and never divides by 8."""

EXPECT = {"param_bytes": "params.bits_not_bytes"}


def param_bytes(n_params, dtype):
    bits = {"float64": 64, "float32": 32, "float16": 16, "bfloat16": 16, "int8": 8}
    if dtype not in bits:
        raise ValueError(f"unknown dtype {dtype}")
    return n_params * bits[dtype]
