"""Time limits calibrated from the reference solution (the policy is in docs/authoring.md).

A student's call gets `multiple` times what the reference solution needs on an input of the
same shapes and values of its scalars, never less than a floor and never more than the
assignment's ceiling (`call_timeout_s` of the item). A notebook cell gets `multiple` times what
the source solution's own cell needs, with a floor of its own and `cell_timeout_s` as its
ceiling. The floors are what keep a correct solution written with plain Python loops passing
on the small inputs where the reference takes microseconds; the multiple keeps it passing on
the large ones.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from autograder.course.layout import AssignmentSpec
from autograder.judge.proxy import CallPlan, fresh_copy
from autograder.sandbox.protocol import FuncRef

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LimitPolicy:
    """An assignment's limits: `multiple` x the reference's time, within [floor, ceiling]."""

    multiple: float
    call_floor_s: float
    cell_floor_s: float

    @classmethod
    def of(cls, spec: AssignmentSpec) -> LimitPolicy:
        return cls(spec.limit_multiple, spec.call_floor_s, spec.cell_floor_s)

    def call_limit(self, reference_s: float | None, ceiling_s: float) -> float:
        """A call's limit; the ceiling alone when the reference could not be timed."""
        if reference_s is None:
            return ceiling_s
        return min(ceiling_s, max(self.call_floor_s, self.multiple * reference_s))

    def cell_limit(self, reference_s: float | None, ceiling_s: float) -> float:
        """A cell's limit; the ceiling alone for a cell the source solution does not have."""
        if reference_s is None:
            return ceiling_s
        return min(ceiling_s, max(self.cell_floor_s, self.multiple * reference_s))


def shape_key(value: Any) -> Any:
    """What a call's run time depends on: arrays by dtype and shape, scalars and strings by value."""
    shape = getattr(value, "shape", None)
    if isinstance(shape, tuple) and hasattr(value, "dtype"):
        dtype = value.dtype
        # dtype.str ('<f8') is read in C; str(dtype) ('float64') costs ~15x more, on every call.
        return ("array", getattr(dtype, "str", None) or str(dtype), shape)
    if isinstance(value, int | float | bool | str | type(None) | FuncRef):
        return (type(value).__name__, value)
    if isinstance(value, tuple | list):
        return (type(value).__name__, *(shape_key(v) for v in value))
    if isinstance(value, dict):
        return (
            "dict",
            *((str(k), shape_key(v)) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))),
        )
    return (type(value).__name__,)


#: Plans whose limits a judge remembers: one per property test of a suite, far fewer than this.
PLANS_REMEMBERED = 1024


class CallLimits:
    """Per judge: each call's limit, from the reference's time on the same shapes (timed once)."""

    def __init__(
        self, spec: AssignmentSpec, timed: Callable[[str, Sequence[Any], dict[str, Any]], float | None]
    ):
        self.policy = LimitPolicy.of(spec)
        self.ceiling = {i.name: i.call_timeout_s for i in spec.items}
        self._timed = timed
        self._seconds: dict[Any, float | None] = {}
        self._planned: dict[CallPlan, tuple[float, ...]] = {}  # by identity: plans live per judge

    def limit(self, name: str, args: Sequence[Any], kwargs: dict[str, Any]) -> float:
        ceiling = self.ceiling.get(name, 10.0)
        try:
            key = (name, shape_key(tuple(args)), shape_key(kwargs))
            hash(key)
        except TypeError:
            return ceiling
        if key not in self._seconds:
            self._seconds[key] = self._timed(name, args, kwargs)
        return self.policy.call_limit(self._seconds[key], ceiling)

    def planned(self, plan: CallPlan) -> tuple[float, ...]:
        """`limit` of each call of `plan`, worked out for the first student and remembered for
        the others (a plan is made once per judge, and its calls' shapes never change).

        The reference is timed on writable copies of the plan's read-only inputs, as it is on
        a check's own inputs."""
        limits = self._planned.get(plan)
        if limits is None:
            limits = tuple(
                self.limit(name, fresh_copy(args), fresh_copy(kwargs)) for name, args, kwargs in plan.calls
            )
            if len(self._planned) < PLANS_REMEMBERED:  # a plan made afresh each time is not kept
                self._planned[plan] = limits
        return limits


def time_reference(reference: Any) -> Callable[[str, Sequence[Any], dict[str, Any]], float | None]:
    """A timer of `reference`'s function `name` on the given input, uncached (None if it has none).

    The best of two runs, so that a first run's warm-up (imports, caches) does not count.
    """

    def timed(name: str, args: Sequence[Any], kwargs: dict[str, Any]) -> float | None:
        try:
            compute = reference.uncached(name)
        except AttributeError:
            return None
        best = None
        for _ in range(2):
            start = time.perf_counter()
            # An input the reference rejects (a shape check) is timed all the same.
            with contextlib.suppress(Exception):
                compute(*args, **kwargs)
            seconds = time.perf_counter() - start
            best = seconds if best is None else min(best, seconds)
            if seconds > 0.5:  # slow enough that warm-up does not matter; do not pay twice
                break
        return best

    return timed


def cell_seconds(
    results: dict[int, tuple[bool, float]], cells: Sequence[tuple[int, str, str | None]]
) -> dict[Any, float]:
    """The source solution's time per cell, by grade id where it has one, else by its source."""
    out: dict[Any, float] = {}
    for index, source, grade_id in cells:
        if index in results and results[index][0]:
            out[grade_id or ("source", source)] = results[index][1]
    return out


def cell_limits(
    policy: LimitPolicy,
    ceiling_s: float,
    reference: dict[Any, float],
    cells: Sequence[tuple[int, str, str | None]],
) -> dict[int, float]:
    """Each of a student's cells' limit: found in the source by grade id (an answer or a test
    cell) or by its source text (a cell as released), else the ceiling (a cell of their own)."""
    limits = {}
    for index, source, grade_id in cells:
        seconds = reference.get(grade_id) if grade_id else None
        if seconds is None:
            seconds = reference.get(("source", source))
        limits[index] = policy.cell_limit(seconds, ceiling_s)
    return limits


def time_source_cells(
    time_cells: Callable[[Sequence[tuple[int, str]]], dict[int, tuple[bool, float]]],
    cells: Sequence[tuple[int, str, str | None]],
) -> dict[Any, float]:
    """Run the source solution's code cells in a fresh worker (`time_cells`, as the launcher's
    `time_cells`: index -> (ran without error, seconds)) and return each cell's time (see
    `cell_seconds`).

    The source notebook holds nothing a worker may not run: graded notebooks run its locked
    cells, hidden tests included, already. A cell of it that fails is left out (its cells
    then get the ceiling), and so is everything when the notebook cannot be run at all.
    """
    try:
        timed = time_cells([(i, s) for i, s, _ in cells])
    except Exception as exc:  # no worker, or the source itself hung or crashed: the ceilings hold
        log.warning("could not time the source solution's cells (%s); cells get cell_timeout_s", exc)
        return {}
    seconds = cell_seconds(timed, cells)
    slowest = max(seconds.values(), default=0.0)
    log.info(
        "the source solution's %d cells took %.2f s (the slowest %.2f s); cell limits follow from them",
        len(seconds),
        sum(seconds.values()),
        slowest,
    )
    return seconds
