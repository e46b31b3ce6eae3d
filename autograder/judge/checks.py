"""One hidden check as the judge runs it: which item it grades, how it is called, its outcome.

The run loop (`runner.JudgePlugin`) calls each check against each student; this module says
what a check is worth (`item_of`), whether it can be called directly with `student`, `ref`
and its parameters (`direct_params`), and what its exception means for the student
(`outcome`), so that the loop itself holds only the order of things.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from autograder.judge.diagnose import Misconception
from autograder.judge.grading import CheckOutcome
from autograder.judge.proxy import StudentFailure

log = logging.getLogger(__name__)


class Discard:
    """A stdout that keeps nothing."""

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


DISCARD = Discard()

#: What ends the whole session rather than one check, as in pytest's runner.
PASS_THROUGH = (KeyboardInterrupt, pytest.exit.Exception)


def outcome(item: str, weight: float, exc: BaseException | None) -> CheckOutcome:
    if exc is None:
        return CheckOutcome(item, True, weight)
    if isinstance(exc, Misconception):
        return CheckOutcome(
            item, False, weight, "misconception", exc.diagnosis, exc.message, exc.failing_input
        )
    if isinstance(exc, StudentFailure):
        return CheckOutcome(item, False, weight, exc.kind, exc.diagnosis, exc.message)
    name = type(exc).__name__
    if name in ("Flaky", "FlakyFailure", "FlakyReplay"):
        return CheckOutcome(
            item,
            False,
            weight,
            "misconception",
            "other",
            f"{item}: gave different answers for the same input.",
        )
    if isinstance(exc, AssertionError):
        # A bare assert: its first line is the suite's own message only when one was given.
        first = str(exc).splitlines()[0] if str(exc) else ""
        text = first if first and not first.startswith("assert ") else "a hidden check did not pass"
        return CheckOutcome(item, False, weight, "misconception", "other", f"{item}: {text}.")
    log.error("internal error in a hidden check for %s: %s: %s", item, name, exc)
    return CheckOutcome(
        item,
        False,
        weight,
        "error",
        "error",
        f"{item}: the grader could not finish a check (internal {name}); "
        "your instructor can see the details.",
    )


@dataclass(frozen=True)
class Check:
    """One collected check: its item of the assignment, its weight, and (when it needs nothing
    but `student`, `ref` and its parameters) the parameters to call it with directly."""

    item: pytest.Function
    name: str
    weight: float
    direct: dict[str, Any] | None


_OUR_FIXTURES = frozenset({"student", "ref"})
#: Marks that pytest's setup acts on: a check that has one goes through it.
_SETUP_MARKS = ("skip", "skipif", "xfail", "usefixtures")


def direct_params(item: pytest.Function) -> dict[str, Any] | None:
    """The parameters of a check that needs no pytest setup at all, or None."""
    callspec = getattr(item, "callspec", None)
    params = dict(callspec.params) if callspec is not None else {}
    if set(item._fixtureinfo.names_closure) - _OUR_FIXTURES - set(params):
        return None  # other fixtures (tmp_path, a conftest's): pytest sets them up
    if any(item.get_closest_marker(mark) is not None for mark in _SETUP_MARKS):
        return None
    return params


def item_of(item: pytest.Item) -> tuple[str, float]:
    """The item of the assignment a check belongs to, and its weight (`@pytest.mark.item`, else
    its file's name)."""
    marker = item.get_closest_marker("item")
    if marker is not None and marker.args:
        return str(marker.args[0]), float(marker.kwargs.get("weight", 1.0))
    module = Path(str(item.fspath)).stem.removeprefix("test_")
    return module, 1.0
