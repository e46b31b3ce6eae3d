"""`check(name)` in the student's kernel: run the visible cases of `selfcheck.json`.

`selfcheck.json` is written next to the release notebook by `autograder.judge.visible` at release
time: public inputs, the expected outputs, and what each known misconception returns on them;
data only, no code. A wrong answer is named by the misconception it looks like. Public, like
everything a student imports; the authoritative grade comes from the hidden suite.
"""

from __future__ import annotations

import inspect
import json
import math
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from autograder.sandbox.activations import BY_NAME
from autograder.selfcheck.closeness import matches
from autograder.selfcheck.values import show

CHECKS_FILE = "selfcheck.json"
CHECKS_FORMAT = 1
_RTOL = 1e-5
_ATOL = 1e-6
_XOR_INPUTS = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])


#: Activations a visible case passes by name; the grading worker has the same under these names.
ACTIVATIONS = BY_NAME


@dataclass(frozen=True)
class Named:
    """A function that a visible case passes by name (an activation such as "relu")."""

    name: str


def encode_value(value: Any) -> Any:
    """`value` as JSON: arrays as nested lists with a dtype tag, ints and floats kept apart.

    A NumPy scalar is stored as an array of shape [] and comes back as that scalar.
    """
    if isinstance(value, Named):
        return {"function": value.name}
    if isinstance(value, np.ndarray | np.generic):
        array = np.asarray(value)
        if array.dtype.kind not in "biufU":
            raise TypeError(f"cannot store an array of dtype {array.dtype} in {CHECKS_FILE}")
        return {
            "array": _finite_or_text(array.tolist()),
            "dtype": "str" if array.dtype.kind == "U" else array.dtype.name,
            "shape": list(array.shape),
        }
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"float": repr(value)}
    if isinstance(value, tuple):
        return {"tuple": [encode_value(v) for v in value]}
    if isinstance(value, list):
        return [encode_value(v) for v in value]
    if isinstance(value, dict):
        return {"dict": {str(k): encode_value(v) for k, v in value.items()}}
    raise TypeError(f"cannot store a {type(value).__name__} in {CHECKS_FILE}")


def _finite_or_text(nested: Any) -> Any:
    """nan and ±inf as the strings "nan", "inf", "-inf" (JSON has no such numbers)."""
    if isinstance(nested, list):
        return [_finite_or_text(v) for v in nested]
    if isinstance(nested, float) and not math.isfinite(nested):
        return repr(nested)
    return nested


def _text_to_float(nested: Any) -> Any:
    if isinstance(nested, list):
        return [_text_to_float(v) for v in nested]
    return float(nested)


def decode_value(data: Any, resolve: Callable[[str], Any] = ACTIVATIONS.__getitem__) -> Any:
    """The value `encode_value` stored; a function name becomes `resolve(name)`."""
    if data is None or isinstance(data, bool | int | float | str):
        return data
    if isinstance(data, list):
        return [decode_value(v, resolve) for v in data]
    if isinstance(data, dict):
        if "function" in data:
            return resolve(str(data["function"]))
        if "float" in data:
            return float(data["float"])
        if "tuple" in data:
            return tuple(decode_value(v, resolve) for v in data["tuple"])
        if "dict" in data:
            return {str(k): decode_value(v, resolve) for k, v in data["dict"].items()}
        if "array" in data:
            dtype = str(data["dtype"])
            nested = data["array"]
            if dtype != "str" and np.dtype(dtype).kind == "f":
                nested = _text_to_float(nested)
            array = np.array(nested, dtype=str if dtype == "str" else dtype).reshape(data["shape"])
            return array[()] if array.ndim == 0 else array  # a NumPy scalar, as np.float64(2.5)
    raise ValueError(f"{CHECKS_FILE}: cannot read the value {str(data)[:80]}")


@dataclass(frozen=True)
class Outcome:
    """What one call of the student's function did, as plain data."""

    value: Any = None
    raised: str = ""  # the exception's class name; "" when the call returned
    message: str = ""
    warnings: tuple[str, ...] = ()  # NumPy's RuntimeWarnings (overflow, invalid value, ...)
    mutated: tuple[int, ...] = ()  # positions of array arguments the call changed in place


def call_function(func: Callable[..., Any], args: Sequence[Any], kwargs: dict[str, Any]) -> Outcome:
    """Call `func` here, noting what it raised, the NumPy warnings it gave and what it mutated."""
    before = [a.copy() if type(a) is np.ndarray else None for a in args]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            # Underflow to 0 is harmless (and expected after the max shift); the rest is not.
            with np.errstate(over="warn", invalid="warn", divide="warn", under="ignore"):
                value = func(*args, **kwargs)
        except Exception as exc:  # the student's own error, whatever it is: report it
            text = " ".join(str(exc).split())
            return Outcome(raised=type(exc).__name__, message=text[:200])
    mutated = tuple(
        i
        for i, (old, new) in enumerate(zip(before, args, strict=True))
        if old is not None and not np.array_equal(old, new, equal_nan=old.dtype.kind in "fc")
    )
    warned = tuple(str(w.message) for w in caught if issubclass(w.category, RuntimeWarning))
    return Outcome(value=value, warnings=warned, mutated=mutated)


def _kind_family(kind: str) -> str:
    return {"u": "i", "i": "i"}.get(kind, kind)


def _same(got: Any, want: Any, rtol: float, atol: float) -> bool:
    """Whether `got` is the answer `want`, as the contract reads answers (student-api.md)."""
    if want is None:
        return got is None
    if isinstance(want, bool):
        return isinstance(got, bool | np.bool_) and bool(got) == want
    if isinstance(want, str):
        return isinstance(got, str) and got == want
    if isinstance(want, int):
        # A count is an int: 109386.0 is not right even though it is equal.
        return isinstance(got, int | np.integer) and not isinstance(got, bool) and int(got) == want
    if isinstance(want, float | np.ndarray | np.generic):
        want_arr = np.asarray(want)
        try:
            got_arr = np.asarray(got)
        except Exception:  # whatever object a student returns, it is simply not the answer
            return False
        if got_arr.shape != want_arr.shape:
            return False
        if want_arr.dtype.kind == "f":
            if got_arr.dtype.kind not in "iuf":
                return False
            return matches(got_arr.astype(float), want_arr, rtol=rtol, atol=atol)
        # Labels, indices and flags are exact, and a label is not an index.
        same_kind = _kind_family(got_arr.dtype.kind) == _kind_family(want_arr.dtype.kind)
        return same_kind and bool(np.array_equal(got_arr, want_arr))
    if isinstance(want, tuple | list):
        if isinstance(got, np.ndarray) and got.ndim == 0:
            return False
        if not isinstance(got, tuple | list | np.ndarray) or len(got) != len(want):
            return False
        return all(_same(g, w, rtol, atol) for g, w in zip(got, want, strict=True))
    if isinstance(want, dict):
        return (
            isinstance(got, dict)
            and set(got) == set(want)
            and all(_same(got[k], want[k], rtol, atol) for k in want)
        )
    return False


def _show(value: Any, limit: int = 160) -> str:
    """A value as the judge's messages show it (`values.show`), on one line."""
    return " ".join(show(value, limit=limit).split())


def judge_property(kind: str, value: Any) -> tuple[str, str, str]:
    """For an answer judged on outcome: (what went wrong, "" when nothing; what was returned; what
    was expected). What went wrong is a short tag that a misconception's outcome may share."""
    if kind == "xor":
        expected = "weights whose scores relu(X W1ᵀ + b1) W2ᵀ + b2 are > 0.5 exactly for [0, 1, 1, 0]"
        try:
            W1, b1, W2, b2 = (np.asarray(v, dtype=float) for v in value)
            scores = (np.maximum(_XOR_INPUTS @ W1.T + b1, 0) @ W2.T + b2).reshape(4)
        except (TypeError, ValueError):
            return "unreadable", f"{_show(value)}, not (W1, b1, W2, b2) of fitting shapes", expected
        fired = [int(s > 0.5) for s in scores]
        return ("" if fired == [0, 1, 1, 0] else "not_xor"), f"weights with scores {_show(scores)}", expected
    if kind == "loss_falls":
        expected = "(params, losses) with finite losses that fall"
        try:
            losses = np.asarray(value[1], dtype=float).reshape(-1)
            first, last = float(losses[0]), float(losses[-1])
        except (TypeError, ValueError, IndexError, KeyError):
            return "unreadable", _show(value), expected
        got = f"losses from {first:.4g} to {last:.4g}"
        if not np.all(np.isfinite(losses)) or last > first:
            return "rises", got, expected
        if float(np.ptp(losses)) <= 1e-12 + 1e-9 * abs(first):
            return "flat", got, expected
        return "", got, expected
    raise ValueError(f"{CHECKS_FILE}: unknown property {kind!r}")


def describe_problem(
    outcome: Outcome, expect: dict[str, Any], params: Sequence[str], tol: tuple[float, float]
) -> str:
    """What is wrong with `outcome`, as the end of a sentence; "" when it is right."""
    said = f"{outcome.raised}: {outcome.message}" if outcome.message else outcome.raised
    if "raises" in expect:
        if outcome.raised == expect["raises"]:
            return ""
        got = f"your function raised {said}" if outcome.raised else f"you returned {_show(outcome.value)}"
        return f"{got}; expected a {expect['raises']}"
    if outcome.raised:
        return f"your function raised {said}" + (
            "" if "property" in expect else f"; expected {_show(decode_value(expect['value']))}"
        )
    if "property" in expect:
        wrong, got, wanted = judge_property(str(expect["property"]), outcome.value)
        return f"you returned {got}; expected {wanted}" if wrong else ""
    want = decode_value(expect["value"])
    if not _same(outcome.value, want, *tol):
        return f"you returned {_show(outcome.value)}; expected {_show(want)}"
    if outcome.mutated:
        names = ", ".join(params[i] if i < len(params) else f"#{i + 1}" for i in outcome.mutated)
        return f"you returned the right values but changed the argument {names} in place"
    if outcome.warnings:
        return f"you returned the right values, but NumPy warned: {outcome.warnings[0]}"
    return ""


def _looks_like(
    outcome: Outcome, expect: dict[str, Any], wrong: dict[str, Any], tol: tuple[float, float]
) -> bool:
    """Whether a wrong outcome is what a known misconception gives on this case."""
    if "raises" in wrong:
        return bool(outcome.raised == wrong["raises"])
    if outcome.raised:
        return False
    if "property" in wrong:
        return judge_property(str(expect["property"]), outcome.value)[0] == str(wrong["property"])
    if not _same(outcome.value, decode_value(wrong["value"]), *tol):
        return False
    if wrong.get("warns") and not outcome.warnings:
        return False
    return not set(wrong.get("mutates", ())) - set(outcome.mutated)


@dataclass(frozen=True)
class FunctionCheck:
    """The visible cases of one function: a line for each, and how many passed."""

    name: str
    passed: int
    total: int
    lines: tuple[str, ...]
    status: str  # passed | failed | missing | unchecked
    diagnoses: tuple[str, ...] = ()


def check_function(
    name: str,
    entry: dict[str, Any],
    misconceptions: dict[str, Any],
    call: Callable[[dict[str, Any]], Outcome],
) -> FunctionCheck:
    """Run each case of `entry` through `call` and say what each result means."""
    cases = list(entry.get("cases", []))
    params = [str(p) for p in entry.get("params", [])]
    lines: list[str] = []
    diagnoses: list[str] = []
    passed = 0
    for case in cases:
        outcome = call(case)
        if outcome.raised == "NotImplementedError":
            line = (
                f"{name}: not written yet (it still raises NotImplementedError). "
                "Write it in its answer cell, run that cell, then check again."
            )
            return FunctionCheck(name, 0, len(cases), (line,), "missing")
        tol = float(case.get("rtol", _RTOL)), float(case.get("atol", _ATOL))
        problem = describe_problem(outcome, case["expect"], params, tol)
        if not problem:
            passed += 1
            lines.append(f"{name}: ok on {case.get('show_ok') or case.get('show', '')}")
            continue
        line = f"{name}: for {case.get('show', 'a visible case')} {problem}."
        known = (
            str(w["diagnosis"]) for w in case.get("wrong", []) if _looks_like(outcome, case["expect"], w, tol)
        )
        diagnosis = next(known, "")
        if diagnosis:
            about = misconceptions.get(diagnosis, {})
            line += f" This looks like {about.get('title') or diagnosis} ({diagnosis})."
            line += f" Hint: {about['hint']}" if about.get("hint") else ""
            if diagnosis not in diagnoses:
                diagnoses.append(diagnosis)
        elif case.get("hint"):
            line += f" Hint: {case['hint']}"
        lines.append(line)
    if passed == len(cases):
        lines.append(f"{name}: all {len(cases)} visible checks passed (the graded tests try more inputs).")
        return FunctionCheck(name, passed, len(cases), tuple(lines), "passed")
    lines.append(f"{name}: {passed} of {len(cases)} visible checks passed.")
    return FunctionCheck(name, passed, len(cases), tuple(lines), "failed", tuple(diagnoses))


def decode_call(
    case: dict[str, Any], resolve: Callable[[str], Any] = ACTIVATIONS.__getitem__
) -> tuple[list[Any], dict[str, Any]]:
    """A case's arguments, fresh for each call (a call may change them)."""
    args = [decode_value(a, resolve) for a in case.get("args", [])]
    kwargs = {str(k): decode_value(v, resolve) for k, v in case.get("kwargs", {}).items()}
    return args, kwargs


def find_checks(*, start: Path | None = None, notebook: Path | None = None, levels: int = 2) -> Path | None:
    """The nearest selfcheck.json: next to the notebook, else in `start` or up to `levels` above it."""
    folders: list[Path] = []
    if notebook is not None:
        folders.append(notebook.parent)
    here = (start or Path.cwd()).resolve()
    folders += [here, *list(here.parents)[:levels]]
    for folder in folders:
        candidate = folder / CHECKS_FILE
        if candidate.is_file():
            return candidate
    return None


def load_checks(path: Path) -> dict[str, Any]:
    """Read a selfcheck.json; ValueError says what is wrong with it."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path} cannot be read ({exc}); download it again with the notebook.") from None
    if not isinstance(data, dict) or data.get("format") != CHECKS_FORMAT or "functions" not in data:
        raise ValueError(f"{path} is not a self-check file of this course (format {CHECKS_FORMAT}).")
    return data


@dataclass(frozen=True)
class CheckResult:
    """What `check()` found; it printed the same as lines."""

    functions: tuple[FunctionCheck, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def passed(self) -> int:
        return sum(f.passed for f in self.functions)

    @property
    def total(self) -> int:
        return sum(f.total for f in self.functions)

    @property
    def lines(self) -> list[str]:
        return [*self.notes, *(line for f in self.functions for line in f.lines)]

    def _ipython_display_(self) -> None:
        """Nothing to show in a notebook: `check()` printed its lines already."""

    def __repr__(self) -> str:
        names = ", ".join(f.name for f in self.functions) or "nothing"
        return f"CheckResult({names}: {self.passed} of {self.total} passed)"


def _notebook_path(namespace: dict[str, Any]) -> Path | None:
    """The running notebook's file where the front end says (VS Code, Jupyter Server 2)."""
    for value in (namespace.get("__vsc_ipynb_file__"), os.environ.get("JPY_SESSION_NAME")):
        if isinstance(value, str) and value.endswith(".ipynb") and Path(value).is_absolute():
            return Path(value)
    return None


def check(name: str | None = None, *, path: str | os.PathLike[str] | None = None) -> CheckResult:
    """Run the visible checks of the function `name` (of every function when None) and print them.

    The function is looked up in the calling notebook's namespace. Wrong answers never raise:
    each case prints one line, with the misconception it looks like and a hint.
    """
    frame = inspect.currentframe()
    caller = frame.f_back if frame is not None else None
    namespace: dict[str, Any] = caller.f_globals if caller is not None else vars(sys.modules["__main__"])
    del frame, caller
    if path is not None:
        given = Path(path)
        found: Path | None = given / CHECKS_FILE if given.is_dir() else given
    else:
        found = find_checks(notebook=_notebook_path(namespace))
    if found is None or not found.is_file():
        where = found or Path.cwd()
        note = (
            f"no {CHECKS_FILE} found ({where}); keep it in the folder of the notebook, "
            "as it came with the assignment."
        )
        print(note)
        return CheckResult(notes=(note,))
    try:
        checks = load_checks(found)
    except ValueError as exc:
        print(exc)
        return CheckResult(notes=(str(exc),))
    functions: dict[str, Any] = checks["functions"]
    misconceptions: dict[str, Any] = checks.get("misconceptions", {})
    results = []
    for fname in [name] if name is not None else list(functions):
        if fname not in functions:
            line = f"no visible checks for {fname!r} here (there are for: {', '.join(functions)})."
            results.append(FunctionCheck(fname, 0, 0, (line,), "unchecked"))
            print(line)
            continue
        func = namespace.get(fname)
        if not callable(func):
            line = f"{fname}: not defined yet; run its answer cell first (and keep the name {fname})."
            results.append(FunctionCheck(fname, 0, len(functions[fname]["cases"]), (line,), "missing"))
            print(line)
            continue
        student: Callable[..., Any] = func

        def run(case: dict[str, Any], student: Callable[..., Any] = student) -> Outcome:
            args, kwargs = decode_call(case)
            return call_function(student, args, kwargs)

        result = check_function(fname, functions[fname], misconceptions, run)
        for line in result.lines:
            print(line)
        results.append(result)
    return CheckResult(tuple(results))
