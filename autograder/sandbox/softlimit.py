"""A soft wall-clock limit inside the worker: a timer signal that stops student code in time.

The judge's hard limit kills the whole worker, and everything the notebook built dies with it:
the cells after the one that hung have to be run again in a fresh worker, and the function
that hung is found out again by the next cell or check that calls it. A soft limit lets the
worker find the hang itself and stay alive: when a cell or a call runs past its time, a
`SIGALRM` samples the student's frames, samples them again `sample_s` later, then raises
`SoftTimeout` into the running code (and again every `repeat_s`, should the code swallow it).
The innermost of the student's functions still running at both samples is the one that hangs:
a training loop calling a fast helper a thousand times names the loop, not the helper.

`HungFunctions` then makes the function that hung fail at once wherever it is called again,
in later cells and by the judge's calls. Student code can block the signal, replace its
handler or loop inside C; the judge's hard limit, a little later, stays the backstop. Nothing
here imports the judge.
"""

from __future__ import annotations

import signal
import threading
from types import CodeType, FrameType, FunctionType
from typing import Any

#: How long after the limit the second sample is taken (the first is taken at the limit).
SAMPLE_S = 0.2
#: How often the timeout is raised again into code that caught it.
REPEAT_S = 0.05


class SoftTimeout(BaseException):
    """Raised into student code whose time is up; a BaseException, so `except Exception` lets it pass."""


def student_frames(frame: FrameType | None) -> list[FrameType]:
    """The frames of functions defined in notebook cells on this stack, outermost first."""
    found = []
    while frame is not None:
        code = frame.f_code
        if code.co_filename.startswith("<cell") and code.co_name != "<module>":
            found.append(frame)
        frame = frame.f_back
    found.reverse()
    return found


class SoftLimit:
    """One worker's soft limit: `start(limit_s)` before student code, `stop()` after it.

    After `stop()`, `timed_out` says whether the limit stopped the code (it raised), and
    `stuck` holds the code objects of the student functions running at both samples,
    outermost first.
    """

    def __init__(self, *, sample_s: float = SAMPLE_S, repeat_s: float = REPEAT_S) -> None:
        self.sample_s = sample_s
        self.repeat_s = repeat_s
        self.armed = False
        self.phase = 0
        self.first: list[FrameType] = []
        self.stuck: list[CodeType] = []
        self.enabled = False

    def install(self) -> None:
        """Take over SIGALRM; only a worker's main thread can (a worker run as a thread of the
        test process, `tests/fakes.py`, keeps the judge's hard limit alone)."""
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGALRM, self._on_alarm)
            self.enabled = True

    @property
    def timed_out(self) -> bool:
        return self.phase >= 2

    def start(self, limit_s: float | None) -> None:
        """Arm the limit (none when `limit_s` is None)."""
        self.phase = 0
        self.first = []
        self.stuck = []
        if limit_s is None or not self.enabled:
            self.armed = False
            return
        self.armed = True
        signal.setitimer(signal.ITIMER_REAL, max(limit_s, 0.001))

    def stop(self) -> None:
        if self.enabled:
            signal.setitimer(signal.ITIMER_REAL, 0)
        self.armed = False
        self.first = []

    def _on_alarm(self, signum: int, frame: FrameType | None) -> Any:
        if not self.armed:
            return
        if self.phase == 0:
            self.phase = 1
            self.first = student_frames(frame)
            signal.setitimer(signal.ITIMER_REAL, self.sample_s)
            return
        if self.phase == 1:
            self.phase = 2
            second = student_frames(frame)
            # A loop in the cell itself, calling fast functions, blames none of them.
            self.stuck = [f.f_code for f in second if any(f is g for g in self.first)]
            self.first = []
            signal.setitimer(signal.ITIMER_REAL, self.repeat_s, self.repeat_s)
        raise SoftTimeout


def _hung(*args: Any, **kwargs: Any) -> Any:
    """What a function that ran past its time limit becomes: it fails at once, every time."""
    raise TimeoutError("it ran past its time limit earlier and is not run again while grading")


class HungFunctions:
    """The student's functions that ran past a limit (name -> why), in namespace `ns`."""

    def __init__(self, ns: dict[str, Any]) -> None:
        self.ns = ns
        self.why: dict[str, str] = {}

    def blame(self, stuck: list[CodeType], called: str | None) -> list[str]:
        """The functions to mark hung after a timeout: the one the judge called (if any) and
        the innermost student function that was running all along (`SoftLimit.stuck`), by
        their global names."""
        names = [called] if called else []
        by_code = {}
        for name, value in list(self.ns.items()):
            if type(value) is FunctionType and type(name) is str:
                by_code[value.__code__] = name
        for code in reversed(stuck):
            if code in by_code:
                names.append(by_code[code])
                break
        return list(dict.fromkeys(names))

    def mark(self, names: list[str], why: str) -> None:
        for name in names:
            self.why.setdefault(name, why)
        self.restub()

    def restub(self) -> None:
        """Make every hung function fail at once wherever it is called from: its code is
        swapped in place, so references held elsewhere (another function, a list of
        activations) stop too; a cell that defines it again gets the same treatment."""
        for name in self.why:
            fn = self.ns.get(name)
            if type(fn) is not FunctionType or fn.__code__ is _hung.__code__:
                continue
            try:
                fn.__code__ = _hung.__code__
            except ValueError:  # a closure: the name alone is replaced
                self.ns[name] = _hung
