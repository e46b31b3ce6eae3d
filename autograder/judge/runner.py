"""The trusted side's run loop: an assignment's hidden pytest suite against students' sessions.

One pytest session grades a stream of submissions: the suite is collected once per judge, then
the plugin's run loop takes the next submission, has the launcher start its session (see
`sandbox.session`), runs every check against it (`JudgePlugin._check`; what a check is worth
and what its failure means is `checks`) and records the row (`results`) through `on_result`.
A check receives a `proxy.StudentProxy` as `student` and a `proxy.Reference` as `ref`; what
suites import is `suite`. Hypothesis is derandomized, so the same notebook and suite always
give the same row.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pytest
from _pytest.runner import runtestprotocol

from autograder.course.layout import AssignmentSpec, Course
from autograder.course.notebook import NotebookError, cells_to_run, read_source_cells
from autograder.errors import AutograderError, CourseError
from autograder.judge import checks
from autograder.judge import quiz as quizzes
from autograder.judge.checks import DISCARD, PASS_THROUGH, Check, direct_params, item_of
from autograder.judge.examples import ExampleCache, load_hypothesis_profile
from autograder.judge.grading import CheckOutcome, grade_item
from autograder.judge.limits import CallLimits, LimitPolicy, cell_limits, time_reference, time_source_cells
from autograder.judge.proxy import (
    Reference,
    StudentProxy,
)
from autograder.judge.results import INTERNAL_ERROR, build_result, error_result
from autograder.models import GradeResult, ItemResult, Submission
from autograder.sandbox.client import WorkerLost
from autograder.sandbox.process import hidden_paths
from autograder.sandbox.scratch import copy_submission_files
from autograder.sandbox.session import Launcher, StudentSession

log = logging.getLogger(__name__)

__all__ = ["JudgePlugin", "grade_stream"]


@dataclass
class Subject:
    """One submission in the chunk, with the cells to run and its recorded outcomes."""

    submission: Submission
    cells: list[tuple[int, str, str | None]]
    outcomes: list[CheckOutcome] = field(default_factory=list)
    done: bool = False


class _Removals:
    """Removes each student's scratch folder in a thread, off the next student's path.

    Removing a folder the worker had a mount on waits for the kernel to let the mount go
    (~1-2 ms, asleep). One removal runs at a time and at most one more waits, so scratch
    folders never pile up on disk; `close` waits for the last.
    """

    def __init__(self) -> None:
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="scratch-removal")
        self.last: Future[None] | None = None

    def __call__(self, path: Path) -> None:
        if self.last is not None:
            self.last.result()
        self.last = self.pool.submit(shutil.rmtree, path, ignore_errors=True)

    def close(self) -> None:
        self.pool.shutdown(wait=True)


def _remove_now(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


class JudgePlugin:
    """pytest plugin: the `student` and `ref` fixtures and the outcome recorder."""

    def __init__(
        self,
        *,
        course: Course,
        spec: AssignmentSpec,
        subjects: Callable[[], Subject | None],
        launcher: Launcher,
        reference: Reference,
        on_result: Callable[[GradeResult], None],
        scratch_root: Path,
        examples: ExampleCache,
        on_start: Callable[[], None] = lambda: None,
        source_cells: Sequence[tuple[int, str, str | None]] = (),
        remove: Callable[[Path], None] = _remove_now,
    ) -> None:
        self.course = course
        self.remove = remove  # what removes a student's scratch folder once the worker is gone
        self.source_cells = source_cells
        self.spec = spec
        self.next_subject = subjects
        self.current: Subject | None = None
        self.proxy: StudentProxy | None = None
        self.launcher = launcher
        self.reference = reference
        self.on_result = on_result
        self.scratch_root = scratch_root
        self.examples = examples
        self.on_start = on_start
        self.hidden = course.hidden_paths()
        self.collect_errors: list[str] = []
        self.items = {i.name for i in spec.items}
        self.tested: set[str] = set()
        self._warned = False
        self.fatal = ""  # why nobody could be graded, when it is not the suite's fault
        self.call_limits = CallLimits(spec, time_reference(reference))
        self.source_cell_s: dict[Any, float] | None = None  # the source solution's cell times

    # --- pytest hooks ---
    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.collect_errors.append(f"{report.nodeid}: {str(report.longrepr).splitlines()[-1]}")

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        for item in items:
            if "student" not in getattr(item, "fixturenames", ()):
                self.collect_errors.append(f"{item.nodeid}: takes no `student` fixture, so it grades nothing")
                continue
            name, _ = item_of(item)
            if name not in self.items:
                self.collect_errors.append(
                    f"{item.nodeid}: checks '{name}', which is not an item of assignment.toml"
                )
            self.tested.add(name)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> bool:
        """Every check against each submission in turn, until the stream runs dry."""
        if self.collect_errors or self.items - self.tested:
            return True  # a broken suite grades nobody; grade_stream says why
        # Every item is a test function taking `student` (pytest_collection_modifyitems).
        items = [item for item in session.items if isinstance(item, pytest.Function)]
        for item in items:  # draw the examples while the zygote may still be warming up
            if hasattr(item.obj, "hypothesis"):
                self.examples.examples(item, list(item._fixtureinfo.argnames))
        try:
            self.launcher.wait_ready()
        except RuntimeError as exc:
            self.fatal = str(exc)
            return True
        self.on_start()
        # The suite, pytest and the examples live as long as the judge: leave them out of every
        # later collection, which then looks only at what grading one notebook allocated.
        gc.freeze()
        checks = [Check(item, *item_of(item), direct_params(item)) for item in items]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # as `-W ignore` does for checks pytest runs
            while (subject := self.next_subject()) is not None:
                self.current = subject
                self._grade(subject, checks)
                self.current = None
        return True

    def _grade(self, subject: Subject, checks: list[Check]) -> None:
        """Start the student's worker, run every check against it, record the result.

        Should a check end the session instead (pytest failing, an interrupt), nothing is
        recorded here and `subject.done` stays false: `grade_stream` records the error.
        """
        cell_limits = self._cell_limits(subject)  # the first time, timing the source: not this student's
        start = time.monotonic()
        scratch = Path(tempfile.mkdtemp(prefix="s-", dir=self.scratch_root))
        process = self.launcher.launch(
            [(i, s) for i, s, _ in subject.cells],
            scratch,
            hide=self.hidden,
            cell_timeout_s=self.spec.cell_timeout_s,
            total_timeout_s=self.spec.notebook_timeout_s,
            cell_limits=cell_limits,
        )
        try:
            self.proxy = self._start(subject, process, scratch)
            if self.proxy is None:  # no checks to run: the grader could not start the notebook
                result = error_result(subject.submission, self.spec, INTERNAL_ERROR)
            else:
                for i, check in enumerate(checks):
                    self._check(check, checks[i + 1].item if i + 1 < len(checks) else None)
                try:
                    result = self._finish(subject, self.proxy, process, time.monotonic() - start)
                except Exception:  # a grader's bug must cost this row its detail, never the row
                    log.exception("could not finish grading %s", subject.submission.student_id)
                    result = error_result(subject.submission, self.spec, INTERNAL_ERROR)
            self.on_result(result)
            subject.done = True
        finally:
            self.proxy = None
            process.close()
            self.remove(scratch)

    def _start(self, subject: Subject, process: StudentSession, scratch: Path) -> StudentProxy | None:
        """The proxy the checks call; None when the grader (not the notebook) could not start."""
        try:
            copy_submission_files(subject.submission.path.parent, scratch)
            process.start()
            self._warn_if_not_isolated(process)
            return StudentProxy(process, self.spec, limits=self.call_limits)
        except WorkerLost as lost:  # the notebook itself ended every worker
            return StudentProxy(None, self.spec, start_error=lost.reason)
        except Exception:  # no worker to grade it in (a jail that fails, a full disk): ours to fix
            log.exception("could not start grading %s", subject.submission.student_id)
            return None

    def _cell_limits(self, subject: Subject) -> dict[int, float]:
        """Each cell's time limit, from the source solution's own time (timed once a judge, by
        a launcher that can: the production one; with any other, every cell gets the ceiling)."""
        if self.source_cell_s is None:
            time_cells = getattr(self.launcher, "time_cells", None)
            self.source_cell_s = {}
            if time_cells is not None:
                scratch = Path(tempfile.mkdtemp(prefix="s-", dir=self.scratch_root))
                try:
                    self.source_cell_s = time_source_cells(
                        lambda cells: time_cells(
                            cells,
                            scratch,
                            hide=self.hidden,
                            cell_timeout_s=self.spec.cell_timeout_s,
                            total_timeout_s=self.spec.notebook_timeout_s,
                        ),
                        self.source_cells,
                    )
                finally:
                    shutil.rmtree(scratch, ignore_errors=True)
        policy = LimitPolicy.of(self.spec)
        return cell_limits(policy, self.spec.cell_timeout_s, self.source_cell_s, subject.cells)

    def _check(self, check: Check, nextitem: pytest.Item | None) -> None:
        """Run one check against the current student and record its outcome.

        A check that needs only `student`, `ref` and its parameters is called directly with
        them: no hooks, no reports, no captured output, the outcome taken from the exception
        itself. pytest's protocol would spend more on those than on most checks, for nothing
        anybody reads or any student may see. Any other check (a fixture of its own, tmp_path,
        a skip mark) runs through pytest's protocol, and `pytest_runtest_makereport` records it.
        """
        item = check.item
        if check.direct is None:
            runtestprotocol(item, log=False, nextitem=nextitem)
            return
        skipped, error = False, None
        item.funcargs = {**check.direct, "student": self.proxy, "ref": self.reference}
        try:
            with contextlib.redirect_stdout(DISCARD):  # as pytest's capture: a check's prints go
                item.runtest()
        except PASS_THROUGH:
            raise
        except pytest.skip.Exception:  # a skipped check (say, torch absent) counts for nothing
            skipped = True
        except BaseException as exc:  # as in pytest, SystemExit from a check is its failure
            error = exc
        finally:
            item.funcargs = {}
        if not skipped and self.current is not None:
            self.current.outcomes.append(checks.outcome(check.name, check.weight, error))

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> pytest.TestReport:
        """Record the outcome of a check that runs through pytest's protocol; a bare report.

        pytest's own report would render a traceback (about 17 ms a failure) that nobody reads
        and no student may see.
        """
        error = call.excinfo.value if call.excinfo is not None else None
        skipped = isinstance(error, pytest.skip.Exception)  # counts for nothing
        if (
            self.current is not None
            and not skipped
            and (call.when == "call" or (call.when == "setup" and error is not None))
        ):
            name, weight = item_of(item)
            self.current.outcomes.append(checks.outcome(name, weight, error))
        outcome: Literal["passed", "failed", "skipped"] = "passed"
        longrepr: tuple[str, int, str] | str | None = None
        if skipped:
            outcome, longrepr = "skipped", (str(item.path), 0, "skipped")
        elif error is not None:
            outcome, longrepr = "failed", type(error).__name__
        return pytest.TestReport(
            item.nodeid,
            item.location,
            {},
            outcome,
            longrepr,
            "setup" if call.when == "collect" else call.when,  # makereport never sees collect
            duration=call.duration,
            start=call.start,
            stop=call.stop,
        )

    @pytest.hookimpl(tryfirst=True)
    def pytest_pyfunc_call(self, pyfuncitem: pytest.Function) -> bool | None:
        if not hasattr(pyfuncitem.obj, "hypothesis"):
            return None  # pytest calls it
        self.examples.replay(pyfuncitem)
        return True

    # --- fixtures ---
    @pytest.fixture(scope="session")
    def ref(self) -> Reference:
        return self.reference

    @pytest.fixture
    def student(self) -> StudentProxy:
        """The current student's proxy, for checks that pytest sets up (see `_check`)."""
        assert self.proxy is not None, "the student fixture lives only inside the run loop"
        return self.proxy

    def _warn_if_not_isolated(self, process: StudentSession) -> None:
        """Say once (per judge) what this machine does not isolate; see the README."""
        iso = process.isolation()
        # Namespaces or Landlock each hide the course and the network (the batch's first line
        # lists every layer); without both, nothing does.
        if self._warned or iso.get("namespaces", True) or iso.get("landlock", 0):
            return
        self._warned = True
        notes = "; ".join(str(n) for n in iso.get("notes", [])) or "no namespaces, no Landlock"
        log.warning(
            "workers are not isolated here (%s): student code can reach the network and read the "
            "course. See the README's security model.",
            notes,
        )

    def _finish(
        self, subject: Subject, proxy: StudentProxy, process: StudentSession, duration: float
    ) -> GradeResult:
        items: list[ItemResult] = []
        for spec_item in self.spec.items:
            outcomes = [o for o in subject.outcomes if o.item == spec_item.name]
            items.append(
                grade_item(
                    spec_item, outcomes, self.spec.misconceptions, duration_s=proxy.spent_s(spec_item.name)
                )
            )
        # Read from the notebook's text, whatever its code cells did (a hang, an exit).
        items += quizzes.grade_quiz([source for _, source, _ in subject.cells], self.spec.quiz)
        grade_ids = {i: g for i, _, g in subject.cells}
        return build_result(subject.submission, grade_ids, items, process, self.spec, duration)


def grade_stream(
    course: Course,
    spec: AssignmentSpec,
    next_submission: Callable[[], Submission | None],
    *,
    launcher: Launcher,
    reference: Reference,
    on_result: Callable[[GradeResult], None],
    examples: ExampleCache | None = None,
    on_start: Callable[[], None] = lambda: None,
) -> None:
    """Grade submissions from `next_submission` until it gives None; each goes to `on_result`.

    `on_start` runs once the suite is collected and the zygote is warm, before the first.

    One pytest session serves the whole stream: the suite is imported, rewritten and collected
    once. Should the session itself fail (an internal error, not a student's), the submission
    it was grading is recorded as an error and a fresh session takes the rest.
    """
    try:
        source = read_source_cells(course.source_notebook(spec.assignment_id))
        released = course.release_notebook(spec.assignment_id)
        release_cells = read_source_cells(released) if released.is_file() else ()
    except (OSError, NotebookError) as exc:
        raise CourseError(f"{course.source_notebook(spec.assignment_id)}: cannot be read ({exc}).") from None
    launcher.prepare([c.source for c in release_cells if c.cell_type == "code"])
    launcher.share(hidden_paths(course.hidden_paths()))
    exhausted = False
    pulled = 0

    def next_subject() -> Subject | None:
        nonlocal exhausted, pulled
        while (sub := next_submission()) is not None:
            pulled += 1
            if sub.error:
                on_result(error_result(sub, spec, sub.error))
                continue
            try:
                return Subject(sub, cells_to_run(sub.cells, source, release_cells))
            except NotebookError as exc:
                on_result(error_result(sub, spec, f"{sub.path.name}: {exc}"))
        exhausted = True
        return None

    load_hypothesis_profile()
    examples = examples or ExampleCache()
    while not exhausted:
        before = pulled
        scratch_root = Path(tempfile.mkdtemp(prefix="autograder-"))
        os.chmod(scratch_root, 0o711)  # workers may enter their own folder, not list the others
        removals = _Removals()
        plugin = JudgePlugin(
            remove=removals,
            course=course,
            spec=spec,
            subjects=next_subject,
            launcher=launcher,
            reference=reference,
            on_result=on_result,
            scratch_root=scratch_root,
            examples=examples,
            on_start=on_start,
            source_cells=[(c.index, c.source, c.grade_id) for c in source if c.cell_type == "code"],
        )
        try:
            code = pytest.main(_pytest_args(spec), plugins=[plugin])
        finally:
            removals.close()
            shutil.rmtree(scratch_root, ignore_errors=True)
        if code == pytest.ExitCode.INTERRUPTED:
            raise KeyboardInterrupt
        if plugin.fatal:
            raise AutograderError(plugin.fatal)
        if plugin.collect_errors:
            raise CourseError(f"hidden suite of {spec.assignment_id}: {plugin.collect_errors[0]}")
        untested = plugin.items - plugin.tested
        if untested:
            raise CourseError(
                f"{spec.folder}: the hidden suite has no check for {', '.join(sorted(untested))}."
            )
        if pulled == before and not exhausted:
            raise CourseError(
                f"pytest could not run the hidden suite of {spec.assignment_id} (exit code {code}); "
                f"`python -m pytest {spec.folder}` shows pytest's own message."
            )
        stopped = plugin.current
        if stopped is not None and not stopped.done:
            log.error("the judge's pytest session ended early (exit code %s)", code)
            on_result(error_result(stopped.submission, spec, INTERNAL_ERROR))


def _pytest_args(spec: AssignmentSpec) -> list[str]:
    return [str(p) for p in spec.suite_files] + [
        "-p",
        "no:cacheprovider",
        "-p",
        "no:terminal",
        "-p",
        "no:stepwise",
        "--import-mode=importlib",
        # Plugins installed beside the grader (pytest-timeout, anyio, Hypothesis's own) add
        # hooks to every check of every student; a suite uses pytest and our two fixtures only.
        "--disable-plugin-autoload",
        "--capture=sys",  # never touch fds 1 and 2: a Dask worker's logging lives there
        "-p",
        "no:unraisableexception",  # it runs gc.collect() at every session end (~0.25 s)
        "-p",
        "no:threadexception",
        "-p",
        "no:logging",
        "-p",
        "no:doctest",
        "-c",
        os.devnull,
        "--rootdir",
        str(spec.folder),
        "-W",
        "ignore",
        "--strict-markers",
        "-o",
        "markers=item: the item a check belongs to",
    ]
