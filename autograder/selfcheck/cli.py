"""`autograder check NOTEBOOK`: a student's own notebook, checked from a shell as `check()` would.

The notebook's code cells run in a jailed worker (`process.Zygote`, `client.StudentProcess`), the same
as grading uses, rather than in a Jupyter kernel through nbclient: a notebook that loops forever,
exits or eats memory is stopped by the worker's limits and reported instead of hanging the shell,
the run needs no kernel spec or ZeroMQ, and only plain data comes back. Nothing hidden is involved:
the test cells are those of the student's notebook, and the function checks are the visible cases
of the `selfcheck.json` next to it, judged here by the same code as `selfcheck.check`.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autograder.course.notebook import NotebookError, read_cells
from autograder.errors import UsageError
from autograder.models import Cell, CellResult
from autograder.sandbox.client import CallReply, StudentProcess, WorkerLost
from autograder.sandbox.process import Zygote, jail_spec, paths_beside
from autograder.sandbox.protocol import FuncRef
from autograder.sandbox.scratch import copy_submission_files
from autograder.selfcheck import answers, environment
from autograder.selfcheck import cases as selfcheck
from autograder.selfcheck.cases import FunctionCheck, Outcome


@dataclass(frozen=True)
class CellCheck:
    """How one test or quiz cell of the notebook ran."""

    grade_id: str
    status: str  # passed | failed | not_written | error
    message: str = ""


@dataclass(frozen=True)
class CheckReport:
    """What `autograder check` found; `lines()` is what it prints."""

    notebook: Path
    checks_file: Path | None
    cells: tuple[CellCheck, ...]
    functions: tuple[FunctionCheck, ...]
    notes: tuple[str, ...] = ()

    @property
    def has_failures(self) -> bool:
        """Whether any test or quiz cell, or any visible check, did not pass."""
        return any(c.status != "passed" for c in self.cells) or any(
            f.status in ("failed", "missing") for f in self.functions
        )

    def lines(self) -> list[str]:
        out = [*self.notes]
        if self.cells:
            width = max(len(c.grade_id) for c in self.cells)
            out.append(f"{self.notebook.name}: test and quiz cells")
            for c in self.cells:
                text = {"passed": "passed", "not_written": "not written yet"}.get(c.status, c.status)
                out.append(f"  {c.grade_id:<{width}}  {text}{': ' + c.message if c.message else ''}")
        if self.functions:
            out.append(f"visible checks ({self.checks_file.name if self.checks_file else 'none'})")
            out += [f"  {line}" for f in self.functions for line in f.lines]
        passed = sum(c.status == "passed" for c in self.cells)
        summary = f"{passed} of {len(self.cells)} test and quiz cells passed"
        if self.functions:
            summary += f"; {sum(f.passed for f in self.functions)} of "
            summary += f"{sum(f.total for f in self.functions)} visible checks passed"
        missing = [f.name for f in self.functions if f.status == "missing"]
        if missing:
            summary += f"; not written yet: {', '.join(missing)}"
        out.append(summary + ".")
        return out


def check_notebook(
    path: Path,
    *,
    checks_file: Path | None = None,
    cell_timeout_s: float = 30.0,
    total_timeout_s: float = 300.0,
    call_timeout_s: float = 10.0,
    zygote: Zygote | None = None,
) -> CheckReport:
    """Run the notebook at `path` in a worker; report its test and quiz cells and `check()` of each function.

    `checks_file` defaults to the nearest selfcheck.json (the notebook's folder, or up to two
    folders above it). `zygote` reuses a running one (tests); by default one is started and
    stopped. Failing checks are results, not errors; UsageError is for a notebook that cannot be
    read or run at all.
    """
    try:
        cells = read_cells(path.read_bytes(), name=path.name)
    except FileNotFoundError:
        raise UsageError(f"no notebook {path}; give the path of your .ipynb file.") from None
    except OSError as exc:
        raise UsageError(f"{path} cannot be read ({exc.strerror}).") from None
    except NotebookError as exc:
        raise UsageError(str(exc)) from None
    notes: list[str] = []
    found = checks_file or selfcheck.find_checks(start=path.resolve().parent)
    checks: dict[str, Any] | None = None
    if found is None:
        notes.append(f"no {selfcheck.CHECKS_FILE} next to {path.name}: only its test and quiz cells are run.")
    else:
        try:
            checks = selfcheck.load_checks(found)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    code = [(c.index, c.source) for c in cells if c.cell_type == "code"]
    with contextlib.ExitStack() as stack:
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="autograder-check-"))
        os.chmod(tmp, 0o711)  # the worker (its own uid when we are root) must reach its folder
        scratch = Path(tmp) / "work"
        scratch.mkdir()
        copy_submission_files(path.resolve().parent, scratch)
        if zygote is None:
            try:
                zygote = stack.enter_context(Zygote())
            except RuntimeError as exc:
                raise UsageError(f"cannot start a Python worker to run {path.name}: {exc}") from None
        process = StudentProcess(
            zygote,
            jail_spec(scratch, hide=_course_paths(path), serial=0),
            code,
            cell_timeout_s=cell_timeout_s,
            total_timeout_s=total_timeout_s,
        )
        stack.callback(process.close)
        try:
            process.start()
        except WorkerLost as lost:
            notes.append(f"the notebook could not be run to the end ({lost.reason}).")
        results = {r.index: r for r in process.results()}
        functions = _function_checks(process, checks, call_timeout_s) if checks else ()
    return CheckReport(path, found, _cell_checks(cells, results), functions, tuple(notes))


def _course_paths(notebook: Path) -> list[Path]:
    """What the worker must not see when the notebook lies inside a course (hidden suites...)."""
    from autograder.course.layout import load_course
    from autograder.errors import CourseError

    for folder in list(notebook.resolve().parents)[:4]:
        if (folder / "nbgrader_config.py").is_file():
            try:
                return load_course(folder).hidden_paths()
            except CourseError:
                # A course we cannot read may still hold hidden suites: hide all of it.
                return paths_beside(folder)
    return []


def _cell_checks(cells: Sequence[Cell], results: dict[int, CellResult]) -> tuple[CellCheck, ...]:
    by_id = {c.grade_id: c for c in cells if c.grade_id}
    out = []
    for cell in cells:
        if cell.cell_type != "code" or not cell.grade_id:
            continue
        result = results.get(cell.index)
        if cell.is_solution and not cell.is_grade:
            # An answer cell: only worth a line when it fails for another reason than the stub.
            if result is not None and not result.ok and result.ename != "NotImplementedError":
                advice = environment.missing_module_advice(result.ename, result.evalue)
                said = f"{result.ename}: {result.evalue}" + (f" ({advice})" if advice else "")
                out.append(CellCheck(cell.grade_id, "error", said))
            continue
        if not cell.is_grade:
            continue
        if result is None:
            out.append(CellCheck(cell.grade_id, "error", "did not run: the notebook stopped before it"))
            continue
        if cell.grade_id.startswith("quiz_"):
            # The grade reads the answer from the text: say so here when it cannot be read.
            variable = "answer_" + cell.grade_id.removeprefix("quiz_")
            written = answers.read_answer([c.source for c in cells if c.cell_type == "code"], variable)
            if written.problem:
                said = f"{written.problem}; the grader reads only that"
                out.append(CellCheck(cell.grade_id, "failed", said))
                continue
        if result.ok:
            out.append(CellCheck(cell.grade_id, "passed"))
            continue
        answer_id = (
            cell.grade_id.removeprefix("test_")
            if cell.grade_id.startswith("test_")
            else ("answer_" + cell.grade_id.removeprefix("quiz_"))
        )
        answer = by_id.get(answer_id)
        answer_result = results.get(answer.index) if answer is not None else None
        stub = answer_result is not None and answer_result.ename == "NotImplementedError"
        unanswered = result.ename == "SelfCheckError" and ": no answer yet" in result.evalue
        if result.ename == "NotImplementedError" or stub or unanswered:
            out.append(CellCheck(cell.grade_id, "not_written"))
        elif result.ename == "SelfCheckError":
            out.append(CellCheck(cell.grade_id, "failed", result.evalue))
        else:
            out.append(CellCheck(cell.grade_id, "error", f"{result.ename}: {result.evalue}".rstrip(": ")))
    return tuple(out)


def _outcome(reply: CallReply, timeout_s: float) -> Outcome:
    """A worker's reply as the Outcome that `selfcheck` judges."""
    if reply.ok:
        # The worker warns on underflow too; an exp that underflows to 0 is right, not a slip.
        warned = tuple(
            w.removeprefix("RuntimeWarning: ")
            for w in reply.warnings
            if w.startswith("RuntimeWarning: ") and "underflow" not in w
        )
        return Outcome(value=reply.value, warnings=warned, mutated=reply.mutated)
    if reply.kind == "timeout":
        return Outcome(raised="TimeoutError", message=f"no answer within {timeout_s:g} s")
    if reply.kind == "crashed":
        return Outcome(raised="ProcessExit", message=reply.evalue or "the call ended the Python process")
    if reply.kind == "unreadable":
        return Outcome(raised="TypeError", message=f"returned a value that is not plain data: {reply.evalue}")
    return Outcome(raised=reply.ename or "Exception", message=reply.evalue)


def _function_checks(
    process: StudentProcess, checks: dict[str, Any], timeout_s: float
) -> tuple[FunctionCheck, ...]:
    functions: dict[str, Any] = checks["functions"]
    misconceptions: dict[str, Any] = checks.get("misconceptions", {})
    out = []
    for name, entry in functions.items():
        if process.get(name, timeout_s=timeout_s).kind == "missing":
            line = f"{name}: not defined; its answer cell did not run (or renamed the function)."
            out.append(FunctionCheck(name, 0, len(entry["cases"]), (line,), "missing"))
            continue

        stuck: list[Outcome] = []

        def call(case: dict[str, Any], name: str = name, stuck: list[Outcome] = stuck) -> Outcome:
            if stuck:  # one call that hung or ended the process is enough: do not wait on each case
                return stuck[0]
            args, kwargs = selfcheck.decode_call(case, FuncRef)
            outcome = _outcome(process.call(name, args, kwargs, timeout_s=timeout_s), timeout_s)
            if outcome.raised in ("TimeoutError", "ProcessExit"):
                stuck.append(outcome)
            return outcome

        out.append(selfcheck.check_function(name, entry, misconceptions, call))
    return tuple(out)
