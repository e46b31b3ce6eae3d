"""What a hidden suite imports: the one public module of the judge side for `assignments/<a>/test_*.py`.

A suite's checks take two fixtures, `student` (a proxy: each call crosses to the jailed worker
and comes back as plain data) and `ref` (the reference solutions), and use these names:

- `Misconception`: raise it (an AssertionError) with a misconception id and a message for the
  student; `expect_close`, `expect_int` and `classify` raise it for you.
- `show`, `clip`: an input or a value as a short line a student can read.
- `as_float_array`, `matches`, `raises`, `ATOL`, `RTOL`: plain-data checks on what came back.
- `StudentRaised`, `StudentCrashed`, `StudentTimeout`, `StudentMissing`: what a call to the
  student's function may raise instead of returning.
- `own(name)`: the student's own function `name`, passed to another of theirs.
- `builtin(name)`: a reference activation (`relu`, `sigmoid`, …) that the worker provides,
  passed to the student's function by name; `BY_NAME` lists them.

`docs/authoring.md` says how to write a suite with them.
"""

from autograder.judge.diagnose import (
    ATOL,
    RTOL,
    Misconception,
    as_float_array,
    classify,
    clip,
    expect_close,
    expect_int,
    matches,
    raises,
    show,
)
from autograder.judge.proxy import (
    StudentCrashed,
    StudentFailure,
    StudentMissing,
    StudentRaised,
    StudentTimeout,
    builtin,
    own,
)
from autograder.sandbox.activations import BY_NAME

__all__ = [
    "ATOL",
    "BY_NAME",
    "RTOL",
    "Misconception",
    "StudentCrashed",
    "StudentFailure",
    "StudentMissing",
    "StudentRaised",
    "StudentTimeout",
    "as_float_array",
    "builtin",
    "classify",
    "clip",
    "expect_close",
    "expect_int",
    "matches",
    "own",
    "raises",
    "show",
]
