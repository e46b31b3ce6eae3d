"""Property tests while grading: Hypothesis's examples drawn once per judge, replayed per student.

A check decorated with `@given` is not run by Hypothesis for each student. The judge draws its
examples once (Hypothesis is derandomized, so every student would get the same ones), replays
them all against each student, and reports the failure with the smallest input. The first call
each example makes is worked out once too, so that all of a test's first calls reach the
student's worker in one message.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from autograder.judge.proxy import (
    CallPlan,
    StudentCrashed,
    StudentMissing,
    StudentProxy,
    StudentTimeout,
    fresh_copy,
)


def hypothesis_home() -> Path:
    """Where Hypothesis keeps its caches while we grade: the user's cache folder, never the
    course root (its default, `./.hypothesis`, is the grader's working directory)."""
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "autograder" / "hypothesis"


def load_hypothesis_profile() -> None:
    """The settings examples are drawn with: derandomized, 25 of them, no database or deadline."""
    from hypothesis import HealthCheck, settings
    from hypothesis.configuration import set_hypothesis_home_dir

    set_hypothesis_home_dir(hypothesis_home())

    settings.register_profile(
        "judge",
        max_examples=25,
        derandomize=True,
        database=None,
        deadline=None,
        report_multiple_bugs=False,
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    settings.load_profile("judge")


@contextlib.contextmanager
def without_local_constants() -> Iterator[None]:
    """Draw examples as if no module of ours were imported.

    Hypothesis (since 6.131) mixes into about one draw in twenty the literal constants it finds
    in the source of whatever *local* modules are imported at that moment: this package's own
    (an editable install is local), a course's, anything imported before. The inputs a student
    reads would then change with any edit to the grader and with what ran earlier in the
    process. Within this block that pool is empty and its cache fresh, so a test's examples
    depend on its seed and its strategies alone.
    """
    try:
        from hypothesis.internal.conjecture import providers
        from hypothesis.internal.constants_ast import Constants
    except ImportError:  # a Hypothesis without local constants: nothing to switch off
        yield
        return
    if not hasattr(providers, "_get_local_constants") or not hasattr(providers, "CONSTANTS_CACHE"):
        yield
        return
    saved = providers._get_local_constants, providers.CONSTANTS_CACHE
    providers._get_local_constants = Constants  # an empty pool
    providers.CONSTANTS_CACHE = type(saved[1])(1024)
    try:
        yield
    finally:
        providers._get_local_constants, providers.CONSTANTS_CACHE = saved


def _key(item: pytest.Function) -> str:
    return f"{item.path}::{item.originalname}"


def example_seed(item: pytest.Function) -> int:
    """The seed a property test draws its examples from: its own, from its assignment folder,
    file and name alone.

    The examples a student reads in a message must be the same on every run, resumed or not,
    on any machine of a cluster, whichever other tests were drawn before it in the same judge,
    and whatever changed elsewhere in the grader's code.
    """
    path = Path(str(item.path))
    name = f"{path.parent.name}/{path.name}::{item.originalname}"
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big")


class ExampleCache:
    """Each property test's examples, drawn once per judge process and replayed per student.

    Hypothesis is derandomized, so it draws the same examples for every student; drawing costs
    milliseconds each. The judge draws them once (recording what a passing run would see),
    replays all of them for each student, and reports the failure with the smallest input.
    Hypothesis's shrinking is not run while grading: its cost is unbounded (hundreds of calls
    into a slow student function), and the smallest of the drawn failing inputs serves the
    student as well.
    """

    def __init__(self) -> None:
        self._examples: dict[str, list[tuple[tuple[Any, ...], dict[str, Any]]]] = {}
        self._first_calls: dict[str, CallPlan] = {}

    def examples(
        self, item: pytest.Function, fixtures: list[str]
    ) -> list[tuple[tuple[Any, ...], dict[str, Any]]]:
        key = _key(item)
        if key not in self._examples:
            handle = item.obj.hypothesis
            original = handle.inner_test
            recorded: list[tuple[tuple[Any, ...], dict[str, Any]]] = []

            def record(*args: Any, **kwargs: Any) -> None:
                drawn = {k: v for k, v in kwargs.items() if k not in fixtures}
                # deepcopy, as before: fresh_copy here changes which examples Hypothesis draws next
                # (so which failing input a student is shown), for reasons not yet understood.
                recorded.append(copy.deepcopy((args, drawn)))

            handle.inner_test = record
            # What `@hypothesis.seed` sets: it wins over `derandomize`, whose seed is a digest
            # of the test function as Python sees it.
            item.obj._hypothesis_internal_use_seed = example_seed(item)
            try:
                with without_local_constants():
                    item.obj(**dict.fromkeys(fixtures))
            finally:
                handle.inner_test = original
            self._examples[key] = recorded
        return self._examples[key]

    def replay(self, item: pytest.Function) -> None:
        """Run a property test's every example against the student in `item.funcargs`; raise
        the failure of the smallest failing input, if any.

        Each example's first call goes to the worker ahead, all in one message (see
        `StudentProxy.prefetch`).
        """
        handle = item.obj.hypothesis
        fixtures = list(item._fixtureinfo.argnames)
        funcargs = {name: item.funcargs[name] for name in fixtures}
        student = funcargs.get("student")
        if isinstance(student, StudentProxy):
            student.prefetch(self.first_calls(item, fixtures, funcargs))
        failures: list[tuple[int, int, Exception]] = []
        try:
            for args, drawn in self.examples(item, fixtures):
                try:
                    handle.inner_test(*fresh_copy(args), **funcargs, **fresh_copy(drawn))
                except (StudentMissing, StudentTimeout, StudentCrashed):
                    raise  # the same for every input: no need to try the others
                except Exception as exc:
                    failures.append((_input_size((args, drawn)), len(failures), exc))
        finally:
            if isinstance(student, StudentProxy):
                student.drop_prefetched()
        if failures:
            raise min(failures, key=lambda f: (f[0], f[1]))[2]

    def first_calls(self, item: pytest.Function, fixtures: list[str], funcargs: dict[str, Any]) -> CallPlan:
        """The first call of a student function that each example makes, in order.

        Before any answer comes back, a check's first call depends on its example alone, so it
        is the same for every student: worked out once per judge, by running each example
        against a stand-in for `student` that stops the check there, and planned then (each
        call's key and, by the judge's `CallLimits`, its time limit), so that each student pays
        for the sending alone. Examples that make no call first are left out.
        """
        key = _key(item)
        if key not in self._first_calls:
            handle = item.obj.hypothesis
            planned = []
            for args, drawn in self.examples(item, fixtures):
                try:
                    handle.inner_test(
                        *fresh_copy(args), **{**funcargs, "student": _FirstCallOnly()}, **fresh_copy(drawn)
                    )
                except _FirstCall as first:
                    planned.append((first.name, first.args, first.kwargs))  # the plan copies them
                except Exception:
                    continue
            self._first_calls[key] = CallPlan.of(planned)
        return self._first_calls[key]


class _FirstCall(BaseException):
    """Stops a check at its first call (a BaseException: a check's `except Exception` lets it by)."""

    def __init__(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        super().__init__(name)
        self.name, self.args, self.kwargs = name, args, kwargs


class _FirstCallOnly:
    """Stands in for `student` while `ExampleCache.first_calls` works out a check's first call."""

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name.startswith("_") or hasattr(StudentProxy, name):  # call, get, last...: not planned
            raise AttributeError(name)

        def first(*args: Any, **kwargs: Any) -> Any:
            raise _FirstCall(name, args, kwargs)

        return first


def _input_size(value: Any) -> int:
    """How big an input is, to pick the smallest failing example."""
    if isinstance(value, np.ndarray):
        return int(value.size)
    if isinstance(value, list | tuple):
        return sum(_input_size(v) for v in value) + 1
    if isinstance(value, dict):
        return sum(_input_size(v) for v in value.values()) + 1
    return 1
