"""Self-checks that run in the student's own kernel: visible tests, quizzes and `check(name)`.

Everything here is public. It holds no hidden test and no quiz key in clear text: a quiz
answer is checked against a salted SHA-256 of its normalised form, so a release notebook can
say "right" or "not yet" without printing the answer. `check("softmax")` (from
`selfcheck_cases`) runs a function's visible cases and names the misconception a wrong answer
looks like. The authoritative grade always comes from the hidden suite in the trusted judge;
these checks are a guide for the student.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

__all__ = [
    "CheckResult",
    "SelfCheckError",
    "check",
    "expect_close",
    "expect_equal",
    "expect_raises",
    "quiz",
    "quiz_key",
]

_SALT = "matrix-machines"


class SelfCheckError(AssertionError):
    """A visible check or a quiz answer that is not right yet (nbgrader counts it as failed)."""


def _short(value: Any) -> str:
    text = np.array2string(np.asarray(value), precision=4, threshold=12, max_line_width=80)
    return " ".join(text.split())


def expect_close(
    got: Any,
    want: Any,
    what: str,
    *,
    rtol: float = 1e-5,
    atol: float = 1e-6,
    hint: str = "",
) -> None:
    """Check that `got` has `want`'s shape and values (float32 accuracy is enough)."""
    want_arr = np.asarray(want, dtype=float)
    try:
        got_arr = np.asarray(got, dtype=float)
    except (TypeError, ValueError) as exc:
        raise SelfCheckError(
            f"{what}: returned {type(got).__name__}, which NumPy cannot read as numbers ({exc})."
        ) from None
    if got_arr.shape != want_arr.shape:
        raise SelfCheckError(
            f"{what}: returned shape {got_arr.shape}, expected {want_arr.shape}. {hint}".strip()
        )
    if not np.all(np.isfinite(got_arr)) and np.all(np.isfinite(want_arr)):
        raise SelfCheckError(
            f"{what}: returned {_short(got_arr)}, which has nan or inf; "
            f"expected {_short(want_arr)}. {hint}".strip()
        )
    if not np.allclose(got_arr, want_arr, rtol=rtol, atol=atol, equal_nan=True):
        raise SelfCheckError(
            f"{what}: returned {_short(got_arr)}, expected {_short(want_arr)}. {hint}".strip()
        )


def expect_equal(got: Any, want: Any, what: str, *, hint: str = "") -> None:
    """Check exact equality of plain values (ints, strings, tuples, lists of them)."""
    if type(want) is int and isinstance(got, float | np.floating):
        raise SelfCheckError(
            f"{what}: returned the float {got!r}; a count is a whole number, return an int. {hint}".strip()
        )
    same = got == want
    if isinstance(same, np.ndarray):
        same = bool(same.all()) and np.shape(got) == np.shape(want)
    if not same:
        raise SelfCheckError(f"{what}: returned {got!r}, expected {want!r}. {hint}".strip())


def expect_raises(
    exc_type: type[BaseException],
    func: Callable[..., Any],
    *args: Any,
    what: str,
    hint: str = "",
) -> None:
    """Check that calling `func(*args)` raises `exc_type`."""
    try:
        func(*args)
    except exc_type:
        return
    except Exception as exc:  # the student's own error: say which
        raise SelfCheckError(
            f"{what}: raised {type(exc).__name__}({exc}), expected {exc_type.__name__}. {hint}".strip()
        ) from None
    raise SelfCheckError(f"{what}: returned normally, expected {exc_type.__name__}. {hint}".strip())


# --- quiz answers ---------------------------------------------------------------------------


def _normalise(answer: Any) -> str | None:
    """One canonical text per answer: choices lower-case, shapes as tuples, numbers as floats."""
    if answer is None or answer is Ellipsis:
        return None
    if isinstance(answer, str):
        return "s:" + " ".join(answer.strip().lower().split())
    if isinstance(answer, bool):
        return "s:" + str(answer).lower()
    if isinstance(answer, int | np.integer):
        return f"n:{int(answer)}"
    if isinstance(answer, float | np.floating):
        value = float(answer)
        return f"n:{value!r}" if math.isfinite(value) else None
    if isinstance(answer, set | frozenset) or (
        isinstance(answer, Sequence) and answer and all(isinstance(a, str) for a in answer)
    ):
        # A collection of letters ("which of these") is a set, whichever way it is written.
        return "c:" + ",".join(sorted(str(_normalise(a)) for a in answer))
    if isinstance(answer, Sequence):
        return "t:" + ",".join(str(_normalise(a)) for a in answer)
    return None


def _digest(question_id: str, text: str) -> str:
    return hashlib.sha256(f"{_SALT}|{question_id}|{text}".encode()).hexdigest()[:20]


def _grid(value: float, tolerance: float) -> Iterable[str]:
    """Grid cells (of a quarter tolerance) that lie within `tolerance` of `value`."""
    step = tolerance / 4
    centre = math.floor(value / step)
    for k in range(centre - 5, centre + 6):
        lo, hi = k * step, (k + 1) * step
        if hi >= value - tolerance and lo <= value + tolerance:
            yield f"g:{k}"


def quiz_key(question_id: str, answer: Any, *, tolerance: float | None = None) -> str:
    """The opaque key a notebook's quiz cell carries for `answer` (used by course authors)."""
    if tolerance is not None:
        value = float(answer)
        cells = sorted({_digest(question_id, f"{tolerance!r}|{c}") for c in _grid(value, tolerance)})
        return f"tol={tolerance!r};" + ",".join(cells)
    text = _normalise(answer)
    if text is None:
        raise ValueError(f"quiz {question_id}: cannot make a key for {answer!r}")
    return _digest(question_id, text)


def _matches(question_id: str, answer: Any, key: str) -> bool:
    if key.startswith("tol="):
        head, _, cells = key.partition(";")
        tolerance = float(head[4:])
        try:
            value = float(answer)
        except (TypeError, ValueError):
            return False
        if not math.isfinite(value):
            return False
        cell = f"g:{math.floor(value / (tolerance / 4))}"
        return _digest(question_id, f"{tolerance!r}|{cell}") in cells.split(",")
    text = _normalise(answer)
    return text is not None and _digest(question_id, text) == key


def quiz(question_id: str, answer: Any, key: str, *, hint: str = "") -> None:
    """Say whether a quiz answer is right, without revealing the key; raise when it is not."""
    if answer is None or answer is Ellipsis:
        raise SelfCheckError(f"quiz {question_id}: no answer yet. Replace the ... with yours.")
    if _matches(question_id, answer, key):
        print(f"quiz {question_id}: right.")
        return
    raise SelfCheckError(f"quiz {question_id}: {answer!r} is not right yet. {hint}".strip())


# Re-exported so that notebooks import everything a student uses from one place.
from autograder.selfcheck.cases import CheckResult, check  # noqa: E402
