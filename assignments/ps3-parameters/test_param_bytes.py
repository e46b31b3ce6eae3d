"""Hidden checks for param_bytes(n_params, dtype): bytes as an int, ValueError for other dtypes."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autograder.judge.suite import Misconception, StudentCrashed, StudentRaised, expect_int

BITS = {"float64": 64, "float32": 32, "float16": 16, "bfloat16": 16, "int8": 8}




def _confirmed(student):
    """Whether the answer for 1000 float32 numbers is also 8 times too large (32000)."""
    try:
        return float(student.param_bytes(1000, "float32")) == 32000.0
    except (StudentRaised, StudentCrashed, TypeError, ValueError):
        return False


def check(student, ref, n_params, dtype):
    got = student.param_bytes(n_params, dtype)
    try:
        expect_int(
            got,
            ref.param_bytes(n_params, dtype),
            what=f"param_bytes({n_params}, {dtype!r})",
            models=[("params.bits_not_bytes", lambda: n_params * BITS[dtype])],
            float_diagnosis="params.float_result",
        )
    except Misconception as exc:
        if exc.diagnosis == "params.bits_not_bytes" and not _confirmed(student):
            raise Misconception("other", exc.message, failing_input=exc.failing_input) from None
        raise


def check_raises(student, n_params, dtype):
    what = f"param_bytes({n_params}, {dtype!r})"
    try:
        got = student.param_bytes(n_params, dtype)
    except StudentRaised as exc:
        if exc.ename == "ValueError":
            return
        raise Misconception(
            "other",
            f"{what} raised {exc.ename}: {exc.evalue}; expected a ValueError, since "
            f"{dtype!r} is not one of the five dtypes.",
        ) from None
    raise Misconception(
        "other",
        f"{what}: returned {got!r}; expected a ValueError, since {dtype!r} is not one of "
        "float64, float32, float16, bfloat16, int8.",
    )


@pytest.mark.item("param_bytes", weight=2)
def test_the_mnist_network_in_float32(student, ref):
    check(student, ref, 109386, "float32")


@pytest.mark.item("param_bytes")
@pytest.mark.parametrize("dtype", list(BITS))
def test_one_thousand_numbers_of_each_dtype(student, ref, dtype):
    check(student, ref, 1000, dtype)


@pytest.mark.item("param_bytes")
def test_a_seven_billion_parameter_model_in_bfloat16(student, ref):
    check(student, ref, 7_000_000_000, "bfloat16")


@pytest.mark.item("param_bytes")
def test_no_parameters(student, ref):
    check(student, ref, 0, "float64")


@pytest.mark.item("param_bytes", weight=2)
@given(st.integers(0, 10**12), st.sampled_from(sorted(BITS)))
def test_random_counts(student, ref, n_params, dtype):
    check(student, ref, n_params, dtype)


@pytest.mark.item("param_bytes")
@pytest.mark.parametrize("dtype", ["float8", "int4", "fp32", ""])
def test_unknown_dtypes_raise_value_error(student, dtype):
    check_raises(student, 100, dtype)


@pytest.mark.item("param_bytes", weight=0.5)
@pytest.mark.parametrize("dtype", ["int32", "complex64"])
def test_numpy_dtypes_outside_the_table_raise_value_error(student, dtype):
    check_raises(student, 100, dtype)
