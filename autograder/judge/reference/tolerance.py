"""How close a student's answer must be to the reference: one small table, per function and dtype.

The policy (spec/student-api.md): values are right within float32 accuracy of the float64
reference, rtol 1e-5 and atol 1e-6 on values of order one, so a student who computes in float32
is not wrong. The rows:

| functions                                         | float64 answer   | float32 answer   |
|---------------------------------------------------|------------------|------------------|
| layer_params count_params weight_shapes           | exact            | exact            |
| param_bytes predict xor_network                   |                  |                  |
| relu sigmoid tanh softmax                         | 1e-5, 1e-6       | 1e-5, 1e-6       |
| neuron dense dense_batch forward collapse         | 1e-5, 1e-6       | 1e-5, 1e-6       |
| cross_entropy mse mlp_grads                       | 1e-5, 1e-6       | 1e-5, 1e-6       |
| gd_linear                                         | 1e-5, 1e-6       | 1e-4, 1e-5       |
| train_mlp                                         | 1e-4, 1e-6       | 1e-3, 1e-5       |

(rtol, atol pairs.) Integer answers (counts, shapes, bytes, labels) are exact: an off-by-one is
a misconception, never rounding. gd_linear feeds each step's rounding into the next over
hundreds of steps, so its float32 row is looser; every misconception it must tell apart (a
factor 2, a wrong sign, a missing bias update) moves the values by far more. (mlp_grads in
float32 stays within the contract on order-one data: measured at rtol 1.2e-6.)
xor_network and train_mlp are judged on outcome (scores > 0.5, loss under the task's threshold):
their rows are for cross-checking the references across backends, where float64 on a GPU sums
in another order than on the CPU over thousands of steps.

Scale: the atol is for values of order one. For large values call `Tolerance.scaled(scale)`
with the largest magnitude among the inputs and the reference answer; the atol grows with it,
the rtol stays. The inputs count because float32 rounds an input of 1e4 by about 6e-4, which
moves softmax(z) by that much relative to each probability: no float32 answer can do better.
Half-precision answers (float16, bfloat16) get the float32 row: the contract asks for float32
accuracy, and they usually miss it. Any other dtype (integers, bools) gets the float64 row.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["EXACT", "Tolerance", "tolerance_for"]


@dataclass(frozen=True)
class Tolerance:
    """Relative and absolute tolerance, as np.testing.assert_allclose takes them."""

    rtol: float
    atol: float

    def scaled(self, scale: float) -> Tolerance:
        """This tolerance for values of magnitude `scale`: atol grows with it beyond 1."""
        return Tolerance(self.rtol, self.atol * max(1.0, abs(float(scale))))


EXACT = Tolerance(0.0, 0.0)
_CONTRACT = Tolerance(1e-5, 1e-6)

# function -> (tolerance for a float64 answer, tolerance for a float32-or-narrower answer)
_TABLE: dict[str, tuple[Tolerance, Tolerance]] = {
    **dict.fromkeys(
        ("layer_params", "count_params", "weight_shapes", "param_bytes", "predict", "xor_network"),
        (EXACT, EXACT),
    ),
    **dict.fromkeys(
        (
            "relu",
            "sigmoid",
            "tanh",
            "softmax",
            "neuron",
            "dense",
            "dense_batch",
            "forward",
            "collapse",
            "cross_entropy",
            "mse",
            "mlp_grads",
        ),
        (_CONTRACT, _CONTRACT),
    ),
    "gd_linear": (_CONTRACT, Tolerance(1e-4, 1e-5)),
    "train_mlp": (Tolerance(1e-4, 1e-6), Tolerance(1e-3, 1e-5)),
}


def _is_narrow_float(dtype: npt.DTypeLike | str) -> bool:
    """True for float32 and narrower floats, bfloat16 included."""
    if isinstance(dtype, str):
        dtype = dtype.removeprefix("torch.")  # str(torch.float32) is "torch.float32"
        if dtype == "bfloat16":  # NumPy has no bfloat16
            return True
    resolved = np.dtype(dtype)
    return resolved.kind == "f" and resolved.itemsize < 8


def tolerance_for(function_name: str, dtype: npt.DTypeLike | str = "float64") -> Tolerance:
    """Tolerance for comparing an answer of this dtype from function_name with the reference."""
    try:
        wide, narrow = _TABLE[function_name]
    except KeyError:
        known = ", ".join(sorted(_TABLE))
        raise ValueError(f"no tolerance for {function_name!r}; known functions: {known}") from None
    return narrow if _is_narrow_float(dtype) else wide
