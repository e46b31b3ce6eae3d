"""What a hidden check holds: the `student` proxy into a worker, and the `ref` reference.

Calling `student.softmax(z)` sends `z` to the student's worker as `.npy` bytes, within that
function's time budget, and returns the answer as plain data, or raises a `StudentFailure`
saying why there is none. `ref.softmax(z)` runs the reference solution on the chosen backend
and returns NumPy values. The hidden suites import these names from `autograder.judge.suite`.
"""

from __future__ import annotations

import copy
import re
import time
from collections import defaultdict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from autograder.course.layout import AssignmentSpec
from autograder.judge.diagnose import show
from autograder.judge.reference import backend as backends
from autograder.judge.reference import np_ref, xp_ref
from autograder.sandbox.client import CallReply
from autograder.sandbox.protocol import FuncRef
from autograder.sandbox.session import StudentSession
from autograder.selfcheck import environment

if TYPE_CHECKING:
    from autograder.judge.limits import CallLimits


def builtin(name: str) -> FuncRef:
    """A course activation (relu, sigmoid, tanh, identity) to pass to a student function."""
    return FuncRef(name, "builtin")


def own(name: str) -> FuncRef:
    """The student's own function `name`, to pass to another of their functions."""
    return FuncRef(name, "student")


class StudentFailure(Exception):
    """A call that gave no answer; `kind` is the outcome kind, `message` is for the student."""

    kind = "error"
    diagnosis = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class StudentRaised(StudentFailure):
    """The student's function raised; `ename` is the exception's type name."""

    def __init__(self, message: str, ename: str, evalue: str) -> None:
        super().__init__(message)
        self.ename = ename
        self.evalue = evalue


class StudentMissing(StudentFailure):
    kind = "missing"
    diagnosis = "missing"


class StudentTimeout(StudentFailure):
    kind = "timeout"
    diagnosis = "timeout"


class StudentCrashed(StudentFailure):
    """The call ended the worker process, or its answer was not plain data."""


def _call_text(name: str, args: Sequence[Any], kwargs: dict[str, Any]) -> str:
    """`softmax([1., 2.] (shape (2,)))`: a call as a student's message names it (failures only)."""
    return f"{name}({_describe_args(args, kwargs)})"


def _describe_args(args: Sequence[Any], kwargs: dict[str, Any]) -> str:
    parts = [show(a, limit=50) if not isinstance(a, FuncRef) else a.name for a in args]
    parts += [f"{k}={show(v, limit=30)}" for k, v in kwargs.items()]
    return ", ".join(parts)


class StudentProxy:
    """Calls into one student's worker, within each function's time budget."""

    def __init__(
        self,
        process: StudentSession | None,
        spec: AssignmentSpec,
        start_error: str = "",
        limits: CallLimits | None = None,
    ) -> None:
        self._process = process
        self._limits = limits
        self._start_error = start_error
        self._budget = {i.name: i.timeout_s for i in spec.items}
        self._call_timeout = {i.name: i.call_timeout_s for i in spec.items}
        self._spent: dict[str, float] = defaultdict(float)
        self._timed_out: set[str] = set()
        # Answers to calls sent ahead (`prefetch`): (call key, reply, seconds it took, its timeout).
        self._ahead: deque[tuple[Any, CallReply, float, float]] = deque()
        self.last: CallReply | None = None

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name.startswith("_"):
            raise AttributeError(name)
        return lambda *args, **kwargs: self.call(name, *args, **kwargs)

    def spent_s(self, name: str) -> float:
        return self._spent[name]

    def _timeout(
        self, name: str, spent: float, args: Sequence[Any] = (), kwargs: dict[str, Any] | None = None
    ) -> float:
        """The time limit of `name`'s next call after `spent` seconds of it; 0 once spent.

        With `limits` (`judge.limits.CallLimits`), each call's limit is calibrated from the
        reference's time on the same input; without, it is the item's `call_timeout_s`.
        """
        if self._limits is not None:
            per_call = self._limits.limit(name, args, kwargs or {})
        else:
            per_call = self._call_timeout.get(name, 10.0)
        return self._within_budget(name, spent, per_call)

    def _within_budget(self, name: str, spent: float, per_call: float) -> float:
        """A call limit `per_call` (from `_timeout` with nothing spent), cut to what is left of
        `name`'s budget after `spent` seconds of it."""
        return max(0.0, min(self._budget.get(name, 20.0) - spent, per_call))

    def prefetch(self, calls: CallPlan | Sequence[tuple[str, tuple[Any, ...], dict[str, Any]]]) -> None:
        """Send `calls` to the worker in one message and read all their answers now; each later
        `call` with the same function and arguments takes its answer instead of asking again.

        For a property test's examples, whose first calls do not depend on any answer: one
        round trip instead of one per example. The calls run in the order given, each within
        its time limit as if called one by one; reading stops at the first that times out or
        ends the worker, and the calls after it are made as usual when the check makes them.
        A call that does not come as planned drops the answers still ahead. A `CallPlan` made
        once serves every student; plain calls are planned here.
        """
        self._ahead.clear()
        if self._process is None:
            return
        plan = calls if isinstance(calls, CallPlan) else CallPlan.of(calls)
        count = len(plan.calls)
        if self._timed_out:  # a function that timed out is not sent again, nor anything after it
            count = next((i for i, (name, _, _) in enumerate(plan.calls) if name in self._timed_out), count)
        if not count:
            return
        if self._limits is not None:
            raw = self._limits.planned(plan)
        else:
            raw = tuple(self._call_timeout.get(name, 10.0) for name, _, _ in plan.calls)
        names = [name for name, _, _ in plan.calls[:count]]
        per_call = [self._within_budget(name, 0.0, limit) for name, limit in zip(names, raw, strict=False)]
        limits = [
            self._within_budget(name, self._spent[name], limit)
            for name, limit in zip(names, per_call, strict=True)
        ]
        ahead = self._process.send_ahead(plan.calls[:count], limits)
        if ahead is None:
            return
        spent = defaultdict(float, self._spent)
        try:
            for name, key, limit in zip(names[: ahead.pending], plan.keys, per_call, strict=False):
                timeout = self._within_budget(name, spent[name], limit)
                if timeout <= 0:  # its budget is spent: `call` says so, as without prefetching
                    break
                start = time.monotonic()
                reply = ahead.next(name, timeout_s=timeout)
                seconds = time.monotonic() - start
                spent[name] += seconds
                self._ahead.append((key, reply, seconds, timeout))
                if not ahead.pending:
                    break
        finally:
            ahead.stop()

    def drop_prefetched(self) -> None:
        """Forget the answers sent ahead that no call took."""
        self._ahead.clear()

    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Call the student's `name`; return plain data or raise a StudentFailure."""
        if self._process is None:
            raise StudentCrashed(
                f"{_call_text(name, args, kwargs)}: the notebook could not be run ({self._start_error})."
            )
        if self._ahead:
            key, reply, seconds, timeout = self._ahead[0]
            if key == _call_key(name, args, kwargs):
                self._ahead.popleft()
                self._spent[name] += seconds
                return self._answer(name, args, kwargs, reply, timeout)
            self._ahead.clear()  # not the call planned: ask the worker from here on
        budget = self._budget.get(name, 20.0)
        if name in self._timed_out or budget - self._spent[name] <= 0:
            raise StudentTimeout(
                f"{name}: stopped after {budget:g} s in total (time limit). "
                "Check that it finishes quickly; loops over large inputs can be slow."
            )
        timeout = self._timeout(name, self._spent[name], args, kwargs)
        start = time.monotonic()
        reply = self._process.call(name, args, kwargs, timeout_s=timeout)
        self._spent[name] += time.monotonic() - start
        return self._answer(name, args, kwargs, reply, timeout)

    def _answer(
        self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any], reply: CallReply, timeout: float
    ) -> Any:
        """The value of a call's reply, or the StudentFailure that says why there is none."""
        self.last = reply
        if reply.ok:
            return reply.value
        call = _call_text(name, args, kwargs)  # formatted only now: most calls succeed
        if reply.kind == "missing":
            self._raise_if_its_cell_failed(name)
        if reply.kind == "missing" or reply.ename == "NotImplementedError":
            raise StudentMissing(f"{name}: not written yet (no function {name}, or still the stub).")
        if reply.kind == "timeout":
            self._timed_out.add(name)
            why = reply.evalue or f"no answer within {timeout:.3g} s (time limit)"
            raise StudentTimeout(f"{call}: {why}. Check that it terminates.")
        if reply.kind == "raised":
            where = f" (line {reply.line} of its cell)" if reply.line else ""
            raise StudentRaised(
                f"{call} raised {reply.ename}: {reply.evalue}{where}.",
                reply.ename,
                reply.evalue,
            )
        if reply.kind == "crashed":
            raise StudentCrashed(f"{call}: {reply.evalue}.")
        raise StudentCrashed(f"{call}: returned something that is not plain data ({reply.evalue}).")

    def _raise_if_its_cell_failed(self, name: str) -> None:
        """A function that is not defined because the cell that defines it raised (an import the
        grader lacks, a typo above the def) or did not finish: say which cell, what it raised and
        what to do, instead of "not written yet"."""
        if self._process is None:
            return
        define = re.compile(rf"^def\s+{re.escape(name)}\s*\(", re.MULTILINE)
        ended = {c.index: (c.ok, c.ename, c.evalue) for c in self._process.results()}
        for index, source in self._process.cells:
            if not define.search(source):
                continue
            ok, ename, evalue = ended.get(index, (True, "", ""))
            if ok or ename == "NotImplementedError":
                return
            where = f"{name}: not defined, because the cell that defines it (cell {index + 1})"
            if ename in ("TimeoutError", "ProcessExit", "BudgetExceeded"):
                failure: type[StudentFailure] = StudentTimeout if ename != "ProcessExit" else StudentCrashed
                raise failure(f"{where} did not finish: {evalue}.")
            advice = environment.missing_module_advice(ename, evalue) or (
                "fix that error, then run the cell again"
            )
            advice = advice[0].upper() + advice[1:]
            raise StudentRaised(f"{where} raised {ename}: {evalue}. {advice}.", ename, evalue)

    def get(self, name: str) -> CallReply:
        if self._process is None:
            return CallReply(False, kind="crashed", evalue=self._start_error)
        return self._process.get(name, timeout_s=5.0)


_IMMUTABLE = (int, float, complex, bool, str, bytes, type(None), FuncRef)


def fresh_copy(value: Any) -> Any:
    """A copy that its user may change freely: of arrays, numbers and containers of them.

    Ten times faster than `copy.deepcopy` on the values checks pass around (examples replayed
    for every student, remembered reference answers), which is paid for thousands of times a
    batch.
    """
    kind = type(value)
    if kind is np.ndarray:
        return value.copy()
    if kind in _IMMUTABLE:
        return value
    if kind is tuple:
        return tuple(fresh_copy(v) for v in value)
    if kind is list:
        return [fresh_copy(v) for v in value]
    if kind is dict:
        return {k: fresh_copy(v) for k, v in value.items()}
    return copy.deepcopy(value)


#: Inputs up to this many elements are remembered (see `Reference`); larger ones are rare.
MEMO_ELEMENTS = 4096
MEMO_ENTRIES = 4096


#: Values keyed by their type and themselves (see `_memo_key`).
_PLAIN = frozenset({int, float, bool, str, type(None), FuncRef})
#: Array and scalar dtypes keyed by their bytes: numbers only (not objects, strings, dates).
_NUMERIC = frozenset("biufc")


def _memo_key(value: Any) -> Any:
    """A hashable stand-in for an input, equal exactly when the inputs are; None if there is none.

    Paid for about 350 times a submission (every reference answer, every call sent ahead and
    every call that takes one): one pass, no intermediate lists, and a type rather than its
    name as each part's tag.
    """
    kind = type(value)
    if kind is np.ndarray:
        if value.size > MEMO_ELEMENTS or value.dtype.kind not in _NUMERIC:
            return None
        return (np.ndarray, value.dtype.str, value.shape, value.tobytes())
    if kind in _PLAIN:
        return (kind, value)
    if kind is tuple or kind is list:
        parts: list[Any] = [kind]
        for item in value:
            part = _memo_key(item)
            if part is None:
                return None
            parts.append(part)
        return tuple(parts)
    if kind is dict:
        if not all(type(k) is str for k in value):
            return None
        pairs: list[Any] = [dict]
        for name in sorted(value):
            part = _memo_key(value[name])
            if part is None:
                return None
            pairs.append((name, part))
        return tuple(pairs)
    if isinstance(value, np.generic) and value.dtype.kind in _NUMERIC:
        return (np.generic, value.dtype.str, value.tobytes())
    return None


def _call_key(name: str, args: Sequence[Any], kwargs: dict[str, Any]) -> Any:
    """The key of a call `name(*args, **kwargs)`, equal exactly when the calls are (the same
    function, equal inputs); None if an input has none.

    The name, then each argument's key (a tuple), then, if there are keyword arguments, the
    `dict` type as a separator followed by each keyword (a string) and its value's key.
    """
    parts: list[Any] = [name]
    for value in args:
        part = _memo_key(value)
        if part is None:
            return None
        parts.append(part)
    if kwargs:
        if not all(type(k) is str for k in kwargs):
            return None
        parts.append(dict)
        for keyword in sorted(kwargs):
            part = _memo_key(kwargs[keyword])
            if part is None:
                return None
            parts += (keyword, part)
    return tuple(parts)


@dataclass(frozen=True, eq=False)
class CallPlan:
    """Calls to send ahead (`StudentProxy.prefetch`), with what depends on them alone worked
    out once: each call's key (`_call_key`), so that a plan made once per judge (a property
    test's first calls, `examples.ExampleCache.first_calls`) costs every student only the
    sending. The plan stops before the first call that has no key.

    A plan holds its own read-only copies of the calls' values, so no later change to an input
    can leave a key that no longer describes it. Compared by identity: a `CallLimits`
    remembers each plan's limits by it.
    """

    calls: tuple[tuple[str, tuple[Any, ...], dict[str, Any]], ...]
    keys: tuple[Any, ...]

    @classmethod
    def of(cls, calls: Sequence[tuple[str, tuple[Any, ...], dict[str, Any]]]) -> CallPlan:
        planned, keys = [], []
        for name, args, kwargs in calls:
            key = _call_key(name, args, kwargs)
            if key is None:
                break
            planned.append((name, _read_only(args), _read_only(kwargs)))
            keys.append(key)
        return cls(tuple(planned), tuple(keys))


def _read_only(value: Any) -> Any:
    """A copy of a value that `_memo_key` has a key for, with its arrays made read-only."""
    kind = type(value)
    if kind is np.ndarray:
        copied = value.copy()
        copied.flags.writeable = False
        return copied
    if kind is tuple or kind is list:
        return kind(_read_only(v) for v in value)
    if kind is dict:
        return {k: _read_only(v) for k, v in value.items()}
    return value  # a number, a string, a FuncRef, a NumPy scalar: immutable


class Reference:
    """Reference solutions on one backend; NumPy in, NumPy out.

    Every student meets the same inputs (derandomized examples), and the reference's answer to
    an input is the same for each: it is computed once per judge and handed out as a copy.
    """

    def __init__(self, backend: backends.Backend) -> None:
        self.backend = backend
        self._memo: dict[Any, Any] = {}
        self._functions: dict[str, Callable[..., Any]] = {}  # `ref.<name>`, made once a name

    def _remembered(self, name: str, compute: Callable[..., Any], args: Any, kwargs: Any) -> Any:
        key = _call_key(name, args, kwargs)
        if key is None:
            return compute(*args, **kwargs)
        if key not in self._memo:
            value = compute(*args, **kwargs)
            if len(self._memo) >= MEMO_ENTRIES:
                return value
            self._memo[key] = value
        return fresh_copy(self._memo[key])

    def _function(self, ref: FuncRef) -> Callable[..., Any]:
        module: Any = np_ref if self.backend.name == "numpy" else xp_ref
        return getattr(module, ref.name) if ref.name != "identity" else (lambda z: z)

    def _swap(self, value: Any) -> Any:
        if isinstance(value, FuncRef):
            return self._function(value)
        if isinstance(value, list | tuple):
            return type(value)(self._swap(v) for v in value)
        return value

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name.startswith("_"):
            raise AttributeError(name)
        remembered = self._functions.get(name)
        if remembered is None:
            compute = self.uncached(name)

            def remembered(*a: Any, **k: Any) -> Any:
                return self._remembered(name, compute, a, k)

            self._functions[name] = remembered
        return remembered

    def uncached(self, name: str) -> Callable[..., Any]:
        """The reference function `name`, computed afresh at every call (to time it)."""
        if name.startswith("_") or not hasattr(np_ref, name):
            raise AttributeError(name)
        if self.backend.name == "numpy" or not hasattr(xp_ref, name):
            fn = getattr(np_ref, name)

            def compute(*a: Any, **k: Any) -> Any:
                return fn(*self._swap(a), **{key: self._swap(v) for key, v in k.items()})

        else:
            xfn = getattr(xp_ref, name)

            def compute(*a: Any, **k: Any) -> Any:
                return backends.call_on_backend(
                    self.backend, xfn, *self._swap(a), **{key: self._swap(v) for key, v in k.items()}
                )

        return compute
