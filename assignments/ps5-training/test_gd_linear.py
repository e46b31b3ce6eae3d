"""Hidden checks for gd_linear(x, y, lr, steps): the fitted line and the loss history."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from autograder.judge.suite import Misconception, as_float_array, matches, show


def gd_model(x, y, lr, steps, *, sign=1.0, factor=2.0, after=False, bias=True):
    """Gradient descent as a known misconception does it: (w, b, losses)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    w = b = 0.0
    losses = []
    for _ in range(steps):
        residual = w * x + b - y
        if not after:
            losses.append(np.mean(residual**2))
        grad_w, grad_b = factor * np.mean(residual * x), factor * np.mean(residual)
        w -= sign * lr * grad_w
        if bias:
            b -= sign * lr * grad_b
        if after:
            losses.append(np.mean((w * x + b - y) ** 2))
    return w, b, np.array(losses)


def wrong_models(x, y, lr, steps):
    return [
        ("gd.wrong_sign", lambda: gd_model(x, y, lr, steps, sign=-1.0)),
        ("gd.missing_factor_two", lambda: gd_model(x, y, lr, steps, factor=1.0)),
        ("gd.loss_after_update", lambda: gd_model(x, y, lr, steps, after=True)),
        ("gd.no_bias_update", lambda: gd_model(x, y, lr, steps, bias=False)),
    ]


def _scalar(value, name, what):
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        array = None
    if array is None or array.size != 1:
        raise Misconception("other", f"{what}: {name} is {show(value)}, not a single number.")
    return float(array.reshape(()))


def _same(answer, model):
    return all(matches(a, m) for a, m in zip(answer, model, strict=True))


def check(student, ref, x, y, lr, steps):
    what = f"gd_linear(x, y, lr={lr}, steps={steps}) for x = {show(x)}, y = {show(y)}"
    got = student.gd_linear(x, y, lr, steps)
    if not isinstance(got, list | tuple) or len(got) != 3:
        raise Misconception("other", f"{what}: returned {show(got)}; expected a tuple (w, b, losses).")
    w = _scalar(got[0], "w", what)
    b = _scalar(got[1], "b", what)
    losses = as_float_array(got[2], what=f"{what}: losses")
    want_w, want_b, want_losses = ref.gd_linear(x, y, lr, steps)
    answer = (w, b, losses)
    if _same(answer, (want_w, want_b, want_losses)):
        return
    diagnosis = "other"
    for name, model in wrong_models(x, y, lr, steps):
        with np.errstate(all="ignore"):
            if _same(answer, model()):
                diagnosis = name
                break
    if losses.shape != np.shape(want_losses):
        detail = f"returned {losses.shape[0] if losses.ndim == 1 else losses.shape} losses, expected {steps}"
    elif not (matches(w, want_w) and matches(b, want_b)):
        detail = f"returned w = {w:.6g}, b = {b:.6g}, expected w = {want_w:.6g}, b = {want_b:.6g}"
    else:
        detail = f"returned w and b right but losses = {show(losses)}, expected {show(want_losses)}"
    raise Misconception(diagnosis, f"{what}: {detail}.", failing_input=what)


@pytest.mark.item("gd_linear", weight=3)
def test_a_noisy_line(student, ref):
    x = np.linspace(-1.0, 3.0, 12)
    noise = np.random.default_rng(51).normal(scale=0.1, size=12)
    check(student, ref, x, 1.5 * x - 0.5 + noise, 0.05, 40)


@pytest.mark.item("gd_linear")
def test_a_single_step(student, ref):
    check(student, ref, np.array([1.0, 2.0, 3.0]), np.array([2.0, 3.0, 5.0]), 0.1, 1)


@pytest.mark.item("gd_linear")
def test_integer_data(student, ref):
    x = np.arange(6)
    check(student, ref, x, 2 * x + 1, 0.02, 30)


@pytest.mark.item("gd_linear", weight=2)
@given(
    st.integers(0, 2**16),
    st.integers(2, 12),
    st.sampled_from([0.01, 0.05, 0.1]),
    st.integers(1, 30),
)
def test_random_lines(student, ref, seed, n, lr, steps):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2.0, 2.0, size=n)
    y = rng.normal() * x + rng.normal() + 0.2 * rng.normal(size=n)
    check(student, ref, x, y, lr, steps)
