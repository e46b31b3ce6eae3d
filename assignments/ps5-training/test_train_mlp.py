"""Hidden checks for train_mlp(X, Y, hidden, lr, steps, seed), judged on outcome.

Any initialisation drawn from np.random.default_rng(seed) is accepted, so the losses are not
compared entry by entry. What counts: the returned arrays have the right keys and shapes, the
loss falls, and the final loss reaches a threshold that the reference reaches with room to
spare (measured: the noisy sine ends near 0.002 for seeds 0-4, XOR near 0 for seeds 0-9).
"""

import numpy as np
import pytest

from autograder.judge.suite import Misconception, as_float_array, show

KEYS = ("W1", "b1", "W2", "b2")
SINE_THRESHOLD = 0.01
XOR_THRESHOLD = 0.05


def sine_task():
    rng = np.random.default_rng(2024)
    X = np.linspace(-1.0, 1.0, 64).reshape(-1, 1)
    return X, np.sin(np.pi * X) + 0.05 * rng.standard_normal(X.shape)


def xor_task():
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    return X, np.array([[0.0], [1.0], [1.0], [0.0]])


def describe(X, Y, hidden, lr, steps, seed):
    call = f"train_mlp(X, Y, hidden={hidden}, lr={lr}, steps={steps}, seed={seed})"
    return f"{call} for X {X.shape}, Y {Y.shape}"


def run(student, X, Y, hidden, lr, steps, seed):
    """Call the student; check the shapes of what came back; return (params, losses, what)."""
    what = describe(X, Y, hidden, lr, steps, seed)
    got = student.train_mlp(X, Y, hidden, lr, steps, seed)
    if not isinstance(got, list | tuple) or len(got) != 2:
        raise Misconception("other", f"{what}: returned {show(got)}; expected a tuple (params, losses).")
    params, losses = got
    if not isinstance(params, dict) or set(params) != set(KEYS):
        keys = sorted(params) if isinstance(params, dict) else type(params).__name__
        raise Misconception(
            "other", f"{what}: params is {keys}; expected a dict with the keys 'W1', 'b1', 'W2', 'b2'."
        )
    n, o = X.shape[1], Y.shape[1]
    shapes = {"W1": (hidden, n), "b1": (hidden,), "W2": (o, hidden), "b2": (o,)}
    arrays = {}
    for key, shape in shapes.items():
        arrays[key] = as_float_array(params[key], what=f'{what}: params["{key}"]')
        if arrays[key].shape != shape:
            raise Misconception(
                "other", f'{what}: params["{key}"] has shape {arrays[key].shape}, expected {shape}.'
            )
    losses = as_float_array(losses, what=f"{what}: losses")
    if losses.shape != (steps,):
        raise Misconception("other", f"{what}: losses has shape {losses.shape}, expected ({steps},).")
    return arrays, losses, what


def loss_of(params, X, Y):
    with np.errstate(all="ignore"):
        hidden = np.maximum(X @ params["W1"].T + params["b1"], 0.0)
        return float(np.mean((hidden @ params["W2"].T + params["b2"] - Y) ** 2))


def expect_falls(losses, what):
    """The loss history falls; a rise or nan is `train.diverges`, a flat one `train.no_learning`."""
    first, last = float(losses[0]), float(losses[-1])
    if not np.all(np.isfinite(losses)) or last > first:
        raise Misconception(
            "train.diverges",
            f"{what}: the loss went from {first:.4g} to {last:.4g} (losses = {show(losses)}); "
            "it should fall.",
        )
    if float(np.ptp(losses)) <= 1e-12 + 1e-9 * abs(first):
        raise Misconception(
            "train.no_learning", f"{what}: the loss stayed at {first:.4g} for all {len(losses)} steps."
        )


def expect_fit(params, losses, X, Y, threshold, what):
    last = float(losses[-1])
    if last > threshold:
        raise Misconception(
            "other",
            f"{what}: the loss fell from {float(losses[0]):.4g} only to {last:.4g}; "
            f"gradient descent gets below {threshold:g} here.",
        )
    final = loss_of(params, X, Y)
    if not final <= threshold:
        raise Misconception(
            "other",
            f"{what}: losses[-1] is {last:.4g}, but the returned params give loss {final:.4g}; "
            "return the trained arrays.",
        )


@pytest.mark.item("train_mlp", weight=3)
def test_fits_a_noisy_sine(student):
    X, Y = sine_task()
    params, losses, what = run(student, X, Y, 32, 0.05, 2000, 0)
    expect_falls(losses, what)
    expect_fit(params, losses, X, Y, SINE_THRESHOLD, what)


@pytest.mark.item("train_mlp", weight=2)
def test_learns_xor(student):
    # XOR can stall in a poor start (dead ReLUs); one of two seeds must learn it.
    X, Y = xor_task()
    failures = []
    for seed in (0, 1):
        params, losses, what = run(student, X, Y, 8, 0.1, 1000, seed)
        expect_falls(losses, what)
        try:
            expect_fit(params, losses, X, Y, XOR_THRESHOLD, what)
        except Misconception as exc:
            failures.append(exc)
            continue
        hidden = np.maximum(X @ params["W1"].T + params["b1"], 0.0)
        scores = (hidden @ params["W2"].T + params["b2"])[:, 0]
        if list(scores > 0.5) != [False, True, True, False]:
            raise Misconception(
                "other",
                f"{what}: the trained scores {show(scores)} do not give XOR's [0, 1, 1, 0] when cut at 0.5.",
            )
        return
    raise failures[0]


@pytest.mark.item("train_mlp")
def test_the_seed_decides_the_run(student):
    rng = np.random.default_rng(57)
    X, Y = rng.normal(size=(10, 3)), rng.normal(size=(10, 2))
    _, first, what = run(student, X, Y, 6, 0.05, 20, 3)
    expect_falls(first, what)
    _, again, _ = run(student, X, Y, 6, 0.05, 20, 3)
    if not np.array_equal(first, again):
        raise Misconception(
            "other",
            f"{what}: two calls with the same seed gave different losses; draw the initial weights "
            "from np.random.default_rng(seed).",
        )
    _, other, _ = run(student, X, Y, 6, 0.05, 20, 4)
    if np.array_equal(first, other):
        raise Misconception(
            "other", f"{what}: seeds 3 and 4 gave the same losses; the initial weights should depend on seed."
        )
