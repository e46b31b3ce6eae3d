"""What a student reads when a function cannot be called: the real reason, not "not written yet"."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from autograder.course.layout import load_course
from autograder.judge.proxy import StudentCrashed, StudentMissing, StudentProxy, StudentRaised, StudentTimeout
from autograder.models import CellResult
from autograder.sandbox.client import CallReply

SPEC = load_course(Path(__file__).resolve().parents[2]).assignment("ps4-softmax")
SOFTMAX = "def softmax(z, axis=-1):\n    return z\n"


@dataclass
class FakeProcess:
    """The cells a notebook ran and how each ended; every call finds no such function."""

    cells: list[tuple[int, str]]
    cell_results: dict[int, tuple[bool, str, str]]
    crashers: dict[str, str] = field(default_factory=dict)
    reply: CallReply = field(default_factory=lambda: CallReply(False, kind="missing"))

    def call(self, name, args, kwargs, *, timeout_s):
        return self.reply

    def results(self) -> list[CellResult]:
        return [CellResult(i, None, ok, ename, evalue) for i, (ok, ename, evalue) in sorted(self.cell_results.items())]


def call_softmax(process: FakeProcess) -> str:
    with pytest.raises((StudentMissing, StudentRaised, StudentTimeout, StudentCrashed)) as info:
        StudentProxy(process, SPEC).softmax(np.zeros(3))
    return f"{type(info.value).__name__}: {info.value.message}"


def test_an_import_the_grader_lacks_is_named_with_what_the_course_provides():
    process = FakeProcess(
        [(0, "import numpy as np"), (4, "import torch\n\n" + SOFTMAX)],
        {0: (True, "", ""), 4: (False, "ModuleNotFoundError", "No module named 'torch'")},
    )
    assert call_softmax(process) == (
        "StudentRaised: softmax: not defined, because the cell that defines it (cell 5) raised "
        "ModuleNotFoundError: No module named 'torch'. The module torch is not available where the "
        "course is graded, which has NumPy, SciPy and Matplotlib; use those, or remove the import."
    )


def test_a_typo_above_the_def_says_fix_that_error():
    process = FakeProcess([(2, "x = undefined_name\n" + SOFTMAX)], {2: (False, "NameError", "name 'undefined_name' is not defined")})
    assert call_softmax(process) == (
        "StudentRaised: softmax: not defined, because the cell that defines it (cell 3) raised "
        "NameError: name 'undefined_name' is not defined. Fix that error, then run the cell again."
    )


def test_a_cell_that_ran_out_of_time_before_the_def_is_a_timeout():
    process = FakeProcess([(2, "while True:\n    pass\n" + SOFTMAX)], {2: (False, "TimeoutError", "the cell ran past its time limit of 20 s")})
    assert call_softmax(process) == (
        "StudentTimeout: softmax: not defined, because the cell that defines it (cell 3) did not "
        "finish: the cell ran past its time limit of 20 s."
    )


@pytest.mark.parametrize(
    ("cells", "results", "reply"),
    [
        ([(2, "x = 1")], {2: (True, "", "")}, CallReply(False, kind="missing")),  # no def at all
        ([(2, SOFTMAX)], {2: (True, "", "")}, CallReply(False, kind="raised", ename="NotImplementedError")),
    ],
    ids=["no_def", "stub"],
)
def test_not_written_yet_only_for_a_stub_or_a_missing_def(cells, results, reply):
    process = FakeProcess(cells, results, reply=reply)
    assert call_softmax(process) == (
        "StudentMissing: softmax: not written yet (no function softmax, or still the stub)."
    )
