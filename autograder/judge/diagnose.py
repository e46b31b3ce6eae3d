"""Checks and misconception classifiers that the hidden suites share (trusted side).

A check looks at a value that came back from the worker, which is plain data by the time it
arrives (`protocol`): it checks type, then shape, then values, and on a mismatch raises
`Misconception` with a diagnosis id and a one-line message for the student that names the
input, what came back and what was expected. Which misconception? `classify` replays the
known wrong models of the function on the same input and names the one the student's answer
agrees with; when none does, the diagnosis is `other`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeAlias

import numpy as np

# Closeness is one rule for the judge and the self-check (worker-visible, in selfcheck).
from autograder.selfcheck.closeness import ATOL, RTOL, matches

# So is the picture of a value in a student's message.
from autograder.selfcheck.values import clip, show

__all__ = [
    "ATOL",
    "RTOL",
    "Misconception",
    "Models",
    "as_float_array",
    "classify",
    "clip",
    "expect_close",
    "expect_int",
    "matches",
    "raises",
    "show",
]

#: Known wrong models of a function on one input: id -> thunk, or (id, thunk) pairs when
#: several wrong models share an id.
Models: TypeAlias = Mapping[str, Callable[[], Any]] | Iterable[tuple[str, Callable[[], Any]]]


class Misconception(AssertionError):
    """A failed check, with the diagnosis the judge records and the student's message."""

    def __init__(self, diagnosis: str, message: str, *, failing_input: str = "") -> None:
        super().__init__(message)
        self.diagnosis = diagnosis
        self.message = " ".join(message.split())
        self.failing_input = failing_input


def as_float_array(got: Any, *, what: str) -> np.ndarray[Any, np.dtype[np.float64]]:
    """Read an answer as a float array, the way `np.asarray` would, or say why not."""
    if isinstance(got, dict) or got is None or isinstance(got, str):
        raise Misconception("other", f"{what}: returned {show(got)}, not numbers.")
    try:
        array = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        raise Misconception(
            "other", f"{what}: returned {show(got)}, which NumPy cannot read as an array of numbers."
        ) from None
    return array


def classify(
    got: Any,
    models: Models,
    *,
    rtol: float = RTOL,
    atol: float = ATOL,
) -> str:
    """The first misconception whose model gives the student's answer, else `other`."""
    pairs = models.items() if isinstance(models, Mapping) else models
    for diagnosis, model in pairs:
        try:
            with np.errstate(all="ignore"):
                wrong = model()
        except (ArithmeticError, ValueError, TypeError, IndexError):
            continue
        if matches(got, wrong, rtol=rtol, atol=atol):
            return diagnosis
    return "other"


def expect_close(
    got: Any,
    want: Any,
    *,
    what: str,
    models: Models | None = None,
    rtol: float = RTOL,
    atol: float = ATOL,
    failing_input: str = "",
) -> np.ndarray[Any, np.dtype[np.float64]]:
    """Check shape then values of an array answer; classify a wrong one.

    `what` names the call and its input ("softmax(z) for z = [1, 2, 3]"); it starts every
    message. Returns the answer as a float array for further checks.
    """
    array = as_float_array(got, what=what)
    expected = np.asarray(want, dtype=np.float64)
    if matches(array, expected, rtol=rtol, atol=atol):
        return array
    diagnosis = classify(array, models or {}, rtol=rtol, atol=atol)
    if array.shape != expected.shape:
        detail = f"returned shape {array.shape}, expected {expected.shape}"
    elif not np.all(np.isfinite(array)) and np.all(np.isfinite(expected)):
        detail = f"returned {show(array)}, which has nan or inf; expected {show(expected)}"
    else:
        detail = f"returned {show(array)}, expected {show(expected)}"
    raise Misconception(diagnosis, f"{what}: {detail}.", failing_input=failing_input or what)


def expect_int(
    got: Any, want: int, *, what: str, models: Models | None = None, float_diagnosis: str = "other"
) -> int:
    """Check a count: a Python or NumPy integer with the right value."""
    if isinstance(got, bool) or not isinstance(got, int | np.integer):
        if isinstance(got, float | np.floating) and math.isfinite(float(got)):
            if float(got) == want:
                raise Misconception(
                    float_diagnosis,
                    f"{what}: returned {got!r}, a float; the right count as an int is {want}.",
                )
            # A float with the wrong value is wrong first of all: name what explains the value.
            diagnosis = classify(float(got), models or {})
            raise Misconception(diagnosis, f"{what}: returned {got!r}, a float; expected the int {want}.")
        if isinstance(got, np.ndarray) and got.ndim == 0 and got.dtype.kind in "iu":
            got = int(got)
        else:
            raise Misconception("other", f"{what}: returned {show(got)}; expected the int {want}.")
    if int(got) != want:
        diagnosis = classify(int(got), models or {}, rtol=0, atol=0)
        raise Misconception(diagnosis, f"{what}: returned {int(got)}, expected {want}.")
    return int(got)


def raises(thunk: Callable[[], Any], exc_type: type[BaseException] = ValueError) -> bool:
    """Whether a wrong model raises `exc_type` on this input (NumPy warnings silenced)."""
    try:
        with np.errstate(all="ignore"):
            thunk()
    except exc_type:
        return True
    return False
