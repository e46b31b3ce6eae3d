"""The student API contract (shared/spec/student-api.md): functions and misconception ids.

Fixed by the spec; `validate` checks every assignment against it, so a suite cannot quietly
drop a misconception the course promises to name.
"""

from __future__ import annotations

from types import MappingProxyType

FUNCTIONS = MappingProxyType(
    {
        "ps1-neurons": ("relu", "sigmoid", "tanh", "neuron"),
        "ps2-layers": ("dense", "dense_batch", "forward", "collapse", "xor_network"),
        "ps3-parameters": ("layer_params", "count_params", "weight_shapes", "param_bytes"),
        "ps4-softmax": ("softmax", "predict", "cross_entropy", "mse"),
        "ps5-training": ("gd_linear", "mlp_grads", "train_mlp"),
    }
)

MISCONCEPTIONS = MappingProxyType(
    {
        "ps1-neurons": (
            "relu.min_instead_of_max",
            "relu.inplace_mutation",
            "sigmoid.overflow",
            "sigmoid.wrong_sign",
            "neuron.no_bias",
            "neuron.activation_before_bias",
            "neuron.no_shape_check",
        ),
        "ps2-layers": (
            "dense.transposed",
            "dense.no_bias",
            "dense.no_activation",
            "dense.no_shape_check",
            "dense_batch.bias_on_wrong_axis",
            "forward.reversed_order",
            "forward.activation_skipped",
            "collapse.wrong_order",
            "xor.not_separable",
        ),
        "ps3-parameters": (
            "params.no_bias",
            "params.bias_per_input",
            "params.includes_input_layer",
            "params.shape_transposed",
            "params.bits_not_bytes",
            "params.float_result",
        ),
        "ps4-softmax": (
            "softmax.no_max_shift",
            "softmax.wrong_axis",
            "softmax.normalised_over_all",
            "softmax.not_normalised",
            "predict.argmin",
            "predict.returns_index",
            "xent.sum_not_mean",
            "xent.no_softmax",
            "xent.unstable",
            "xent.wrong_sign",
            "mse.sum_not_mean",
            "mse.not_squared",
        ),
        "ps5-training": (
            "gd.wrong_sign",
            "gd.missing_factor_two",
            "gd.loss_after_update",
            "gd.no_bias_update",
            "backprop.no_relu_mask",
            "backprop.sum_not_mean",
            "backprop.transposed",
            "backprop.bias_grad_not_summed",
            "train.diverges",
            "train.no_learning",
        ),
    }
)

#: Diagnoses every item may carry besides its misconceptions.
GENERIC_DIAGNOSES = ("other", "error", "timeout", "missing")
