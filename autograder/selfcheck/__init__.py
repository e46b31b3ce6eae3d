"""Self-checks that run in the student's own kernel: visible tests, quizzes and `check(name)`.

Everything here is public. It holds no hidden test and no quiz key in clear text: a quiz
answer is checked against a salted SHA-256 of its normalised form, so a release notebook can
say "right" or "not yet" without printing the answer. `check("softmax")` (from
`selfcheck_cases`) runs a function's visible cases and names the misconception a wrong answer
looks like. The authoritative grade always comes from the hidden suite in the trusted judge;
these checks are a guide for the student.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from autograder.selfcheck import answers, closeness, values

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

class SelfCheckError(AssertionError):
    """A visible check or a quiz answer that is not right yet (nbgrader counts it as failed)."""


def _short(value: Any) -> str:
    """A value as the judge's messages show it (`values.show`), on one line."""
    return " ".join(values.show(value, limit=160).split())


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
    __tracebackhide__ = True  # the message is the point, not this frame
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
    if not closeness.matches(got_arr, want_arr, rtol=rtol, atol=atol):
        raise SelfCheckError(
            f"{what}: returned {_short(got_arr)}, expected {_short(want_arr)}. {hint}".strip()
        )


def expect_equal(got: Any, want: Any, what: str, *, hint: str = "") -> None:
    """Check exact equality of plain values (ints, strings, tuples, lists of them)."""
    __tracebackhide__ = True  # the message is the point, not this frame
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
    __tracebackhide__ = True  # the message is the point, not this frame
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


def quiz_key(
    question_id: str, answer: Any, *, tolerance: float | None = None, kind: str | None = None
) -> str:
    """The opaque key a notebook's quiz cell carries for `answer` (used by course authors).

    `kind` defaults to what `answer` looks like (a number with a tolerance is `numeric`, a
    letter `choice`, letters `multi`, whole numbers `shape`); see `answers` for the rule.
    """
    kind = kind or answers.infer_kind(answer, tolerance)
    try:
        return answers.opaque_key(question_id, kind, answer, tolerance=tolerance or 0.0)
    except ValueError as exc:
        raise ValueError(f"quiz {question_id}: cannot make a key for {answer!r} ({exc})") from None


def _matches(question_id: str, answer: Any, key: str) -> bool:
    """Whether `answer` is right by the key's hashes: `answers.is_right`'s rule, key unseen."""
    kind, tolerance, hashes = answers.parse_key(key)
    token = answers.answer_token(kind, answer, tolerance=tolerance)
    return token is not None and answers.token_digest(question_id, kind, tolerance, token) in hashes


def _written(question_id: str, namespace: dict[str, Any]) -> answers.Answer:
    """How the notebook's own text assigns `answer_<id>`, from IPython's input history."""
    history = namespace.get("In")
    if not isinstance(history, list) or not all(isinstance(h, str) for h in history):
        return answers.Answer(False)  # not in IPython: nothing to read
    return answers.read_answer(history, f"answer_{question_id}")


def quiz(question_id: str, answer: Any, key: str, *, hint: str = "", choices: Sequence[str] = ()) -> None:
    """Say whether a quiz answer is right, without revealing the key; raise when it is not.

    The grade reads the answer from the notebook's text (`answer_<id> = <value>`), so an answer
    computed by code is pointed out here, where the student can still fix it.
    """
    __tracebackhide__ = True  # IPython and pytest show the message, not this frame
    if answer is None or answer is Ellipsis:
        raise SelfCheckError(f"quiz {question_id}: no answer yet. Replace the ... with yours.")
    try:
        right = _matches(question_id, answer, key)
    except ValueError:
        raise SelfCheckError(
            f"quiz {question_id}: this cell's key is not one this version of autograder reads; "
            "download the assignment's notebook again."
        ) from None
    frame = inspect.currentframe()
    caller = frame.f_back if frame is not None else None
    written = _written(question_id, caller.f_globals if caller is not None else {})
    del frame, caller
    if written.problem:
        raise SelfCheckError(f"quiz {question_id}: {written.problem}; the grader reads only that.")
    if right:
        print(f"quiz {question_id}: right.")
        return
    shown = f"{answer!r}{answers.quote_options(answer, choices)}"
    raise SelfCheckError(f"quiz {question_id}: {shown} is not right yet. {hint}".strip())


def _message_only(
    shell: Any, etype: type[BaseException], value: BaseException, tb: Any, tb_offset: int | None = None
) -> list[str]:
    """IPython's display of a SelfCheckError: its message, not a traceback into this package.

    The cell still ends in an error output, with the exception's name and message (nbgrader
    counts the test cell as failed); only the traceback the student reads is left out.
    """
    stb = [f"{etype.__name__}: {value}"]
    shell._showtraceback(etype, value, stb)  # IPython leaves the showing to the handler
    return stb


def _show_messages_in_ipython() -> None:
    """In a Jupyter kernel (IPython already imported), show a failed check as its message."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is not None and hasattr(shell, "set_custom_exc"):
        shell.set_custom_exc((SelfCheckError,), _message_only)


_show_messages_in_ipython()

# Re-exported so that notebooks import everything a student uses from one place.
from autograder.selfcheck.cases import CheckResult, check  # noqa: E402
