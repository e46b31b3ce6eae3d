"""Where grading runs: warm judge processes on this machine, or a Dask cluster.

A judge process starts once, imports pytest, the suite's needs and the references, starts its
own zygote of workers and one pytest session, then takes submissions one at a time from a
shared queue until there are none (so a slow notebook holds up no one else's); every finished
submission goes back to the parent at once. With `--scheduler ADDRESS` the submissions go to a
Dask cluster in chunks, as tasks that carry the course's suite, source notebook and the
submissions with them, so the cluster's machines need the `autograder` package but no copy of
the course.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import multiprocessing as mp
import os
import queue
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import autograder
from autograder.course.layout import load_course
from autograder.errors import AutograderError, UsageError
from autograder.models import GradeResult, Submission
from autograder.sandbox.jail import Limits
from autograder.sandbox.lifetime import die_with_parent
from autograder.sandbox.session import Launcher

log = logging.getLogger(__name__)

Pair = tuple[str, str]  # (student_id, notebook path)
Chunk = tuple[Pair, ...]


def jailed(limits: Limits) -> Launcher:
    """The launcher every judge uses to grade: workers forked by a zygote, jailed."""
    from autograder.sandbox.launcher import ZygoteLauncher

    return ZygoteLauncher(limits=limits)


@dataclass(frozen=True)
class JudgeJob:
    """What every judge needs to know, whichever machine it runs on.

    `launcher` starts the judge's student sessions (see `sandbox.session`): the jail, or, in
    the project's own tests, an in-process fake.
    """

    course_root: str
    assignment_id: str
    backend: str = "numpy"
    limits: Limits = field(default_factory=Limits)
    launcher: Callable[[Limits], Launcher] = jailed


def chunked(pairs: Sequence[Pair], *, workers: int, largest: int = 8) -> list[Chunk]:
    """Split the batch into Dask tasks: small enough to balance, large enough to amortise start-up."""
    size = max(1, min(largest, len(pairs) // max(1, workers * 4)))
    return [tuple(pairs[i : i + size]) for i in range(0, len(pairs), size)]


def _judge(
    job: JudgeJob,
    next_pair: Callable[[], Pair | None],
    emit: Callable[[GradeResult], None],
    *,
    slot: int | None = None,
) -> None:
    """One judge: a zygote, a reference backend and a pytest session for all its submissions.

    With a `slot`, the judge and its zygote move to one CPU (`pinned`) once both are warm.
    """
    # What is loaded by now (NumPy, pytest, a forked judge's whole inheritance) lives as long as
    # the judge: untracked by its collector, which would otherwise walk it again and again (and,
    # in a fork, copy it page by page) while the suite is collected and the examples drawn.
    gc.freeze()
    launcher = job.launcher(job.limits)  # a zygote warms up meanwhile
    with contextlib.closing(launcher), pinned(slot) as settle:
        from autograder.course.notebook import load_submission
        from autograder.judge.proxy import Reference
        from autograder.judge.reference.backend import load_backend
        from autograder.judge.runner import grade_stream

        course = load_course(Path(job.course_root))
        spec = course.assignment(job.assignment_id)
        reference = Reference(load_backend(job.backend))  # BackendError: the parent says why

        def next_submission() -> Submission | None:
            pair = next_pair()
            return None if pair is None else load_submission(pair[0], job.assignment_id, Path(pair[1]))

        grade_stream(
            course,
            spec,
            next_submission,
            launcher=launcher,
            reference=reference,
            on_result=emit,
            on_start=settle,
        )


@contextlib.contextmanager
def pinned(slot: int | None) -> Iterator[Callable[[], None]]:
    """A `settle()` that moves this process to one CPU, and makes it yield to its workers; both
    are undone on leaving. Each worker moves to the CPU of the judge that takes it (it is told
    the judge's CPUs when confined: `Zygote.spawn`), while the zygote stays free to run on any,
    so that the next student's worker is forked and prepared on a CPU that is free, if any.

    A judge and its worker take turns, one call at a time, about a hundred round trips a
    submission. On one CPU a turn is a cheap context switch; across CPUs each is a wake-up of
    another CPU, which on a virtual machine costs several times more (a Python round trip of
    one byte: 11 us on one CPU, 49 us across two, on the 2-core machine the benchmark uses).
    Judge `slot` takes the slot-th CPU this process may use, so judges spread over them. It
    settles only when grading starts: until then its imports, its suite and the zygote's
    warm-up run in parallel on whatever CPUs are free.

    The judge runs as SCHED_BATCH, which never preempts the task running when it wakes: a
    worker sending one frame per cell, or starting up, goes on until it waits, and the judge
    then reads what came in one go instead of interrupting it at every frame (about 2 ms a
    notebook). Timeouts still fire, at most a scheduler tick late.
    """
    allowed = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    batched = False

    def settle() -> None:
        nonlocal batched
        if slot is None:
            return
        with contextlib.suppress(OSError, AttributeError):  # not Linux: the default policy
            os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))
            batched = True
        if len(allowed) < 2:
            return
        os.sched_setaffinity(0, {allowed[slot % len(allowed)]})

    try:
        yield settle
    finally:
        if allowed:
            os.sched_setaffinity(0, allowed)
        if batched:
            os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))


def _judge_process(job: JudgeJob, slot: int, tasks: Any, results: Any, parent: int) -> None:
    die_with_parent(parent)

    def next_pair() -> Pair | None:
        pair: Pair | None = tasks.get()
        return pair

    try:
        _judge(job, next_pair, lambda r: results.put(("result", r)), slot=slot)
        results.put(("done", None))
    except AutograderError as exc:  # the parent raises it as it is (its class and message)
        results.put(("fatal", exc))
    except BaseException as exc:  # report a judge's crash to the parent instead of hanging it
        log.exception("judge process failed")
        results.put(("fatal", AutograderError(f"a judge process failed: {type(exc).__name__}: {exc}")))


class LocalPool:
    """Judges on this machine: `judges` forked processes, or this process when fewer than two.

    Forked processes start at once, so that their imports, their suite and their zygotes warm
    up while the parent opens the gradebook and works out what to grade; `run` then feeds them.
    """

    def __init__(self, job: JudgeJob, judges: int, *, forked: bool = False) -> None:
        self.job = job
        self.procs: list[Any] = []
        self._fed = False
        if judges < 1 or (judges < 2 and not forked):
            return
        import autograder.judge.runner  # noqa: F401  (imported once here, not once in each judge)

        gc.freeze()  # before the forks, so that no judge starts by collecting what it inherited

        ctx = mp.get_context("fork")
        self.tasks = ctx.Queue()
        self.results = ctx.Queue()
        self.procs = [
            ctx.Process(
                target=_judge_process, args=(job, slot, self.tasks, self.results, os.getpid()), daemon=True
            )
            for slot in range(judges)
        ]
        for p in self.procs:
            p.start()

    def run(self, pairs: Sequence[Pair], on_result: Callable[[GradeResult], None]) -> None:
        """Grade `pairs`; each result goes to `on_result` as soon as it is in."""
        if not self.procs:
            if pairs:
                pending = iter(pairs)
                _judge(self.job, lambda: next(pending, None), on_result, slot=0)
            return
        for pair in pairs:
            self.tasks.put(pair)
        self._stop_feeding()
        if not pairs:
            return
        finished = 0
        while finished < len(self.procs):
            try:
                kind, payload = self.results.get(timeout=1.0)
            except queue.Empty:
                if all(not p.is_alive() for p in self.procs) and self.results.empty():
                    raise AutograderError(
                        "the judge processes stopped without finishing the batch (killed for memory?); "
                        "what was graded is recorded: run again with -v to see why they stopped"
                    ) from None
                continue
            if kind == "result":
                on_result(payload)
            elif kind == "done":
                finished += 1
            else:
                raise payload

    def submit(self, pair: Pair) -> None:
        """Hand one more submission to the judges (a long-lived pool: `autograder serve`)."""
        self.tasks.put(pair)

    def poll(self, timeout_s: float) -> GradeResult | None:
        """The next finished submission of a long-lived pool, or None after `timeout_s`."""
        try:
            kind, payload = self.results.get(timeout=timeout_s)
        except queue.Empty:
            if self.procs and all(not p.is_alive() for p in self.procs):
                raise AutograderError("the judge processes stopped (killed for memory?)") from None
            return None
        if kind == "fatal":
            raise payload
        return payload if kind == "result" else None

    def _stop_feeding(self) -> None:
        if not self._fed:
            self._fed = True
            for _ in self.procs:
                self.tasks.put(None)

    def close(self) -> None:
        if self.procs:
            # Judges stopped early (Ctrl-C) read no more tasks: exiting must not wait to feed them.
            self.tasks.cancel_join_thread()
        for p in self.procs:
            if p.is_alive():
                p.terminate()
            p.join(timeout=5)
        self.procs = []

    def __enter__(self) -> LocalPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --- Dask ------------------------------------------------------------------------------------


def bundle(job: JudgeJob, chunk: Chunk) -> dict[str, bytes]:
    """The files one remote task needs: config, the assignment's suite and source, the notebooks."""
    root = Path(job.course_root)
    files: dict[str, bytes] = {}
    wanted = [root / "nbgrader_config.py", root / "source" / job.assignment_id / f"{job.assignment_id}.ipynb"]
    wanted += [
        p
        for p in (root / "assignments" / job.assignment_id).rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    ]
    for path in wanted:
        files[str(path.relative_to(root))] = path.read_bytes()
    for student, notebook in chunk:
        where = f"submitted/{student}/{job.assignment_id}"
        if Path(notebook).name != f"{job.assignment_id}.ipynb":
            # One upload of `autograder serve` (uploads/<a>/<student>/<id>.ipynb): that notebook
            # alone, under the name nbgrader's layout gives it.
            files[f"{where}/{job.assignment_id}.ipynb"] = Path(notebook).read_bytes()
            continue
        folder = Path(notebook).parent
        for path in folder.iterdir() if folder.is_dir() else []:
            if path.is_file() and not path.is_symlink():
                files[f"{where}/{path.name}"] = path.read_bytes()
    return files


def grade_bundle(
    job: JudgeJob, files: dict[str, bytes], students: list[str], version: str
) -> list[GradeResult]:
    """A Dask task: rebuild the course from `files` in a temp dir and grade it there."""
    if version != autograder.__version__:
        raise RuntimeError(f"this Dask worker has autograder {autograder.__version__}, the client {version}")
    root = Path(tempfile.mkdtemp(prefix="autograder-task-"))
    try:
        for rel, data in files.items():
            target = (root / rel).resolve()
            if root.resolve() not in target.parents:
                raise RuntimeError(f"refusing a bundle path outside the task folder: {rel}")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        local = JudgeJob(str(root), job.assignment_id, job.backend, job.limits, job.launcher)
        chunk = tuple(
            (s, str(root / "submitted" / s / job.assignment_id / f"{job.assignment_id}.ipynb"))
            for s in students
        )
        out: list[GradeResult] = []
        pending = iter(chunk)
        _judge(local, lambda: next(pending, None), out.append)
        return out
    finally:
        shutil.rmtree(root, ignore_errors=True)


def dask_client(scheduler: str, *, timeout_s: float = 10.0) -> Any:
    """A `distributed.Client` on the cluster at `scheduler`, or a UsageError that says why not."""
    from distributed import Client

    try:
        return Client(scheduler, timeout=f"{timeout_s:g}s")
    except (OSError, TimeoutError) as exc:
        raise UsageError(f"cannot reach the Dask scheduler at {scheduler} ({exc}).") from None


@dataclass(frozen=True)
class TaskLost:
    """A submission a Dask cluster did not grade: why, and whether to queue it again.

    `retry`: the cluster dropped it (the scheduler went away), which says nothing about the
    notebook; otherwise the task failed (its workers kept dying on it, or it raised).
    """

    pair: Pair
    reason: str
    retry: bool


class DaskPool:
    """A long-lived pool on a Dask cluster (`autograder serve --scheduler`): `submit` one
    submission at a time, `poll` for what is done. Each submission is one task built by
    `bundle` and graded by `grade_bundle`, as `run_dask` grades a batch; a worker that dies
    mid-task has its task run again elsewhere by Dask (up to its `allowed-failures`).
    """

    def __init__(self, job: JudgeJob, client: Any) -> None:
        self.job = job
        self.client = client
        self.pending: dict[Any, Pair] = {}
        self.ready: list[GradeResult | TaskLost] = []

    def submit(self, pair: Pair) -> None:
        future = self.client.submit(
            grade_bundle,
            self.job,
            bundle(self.job, (pair,)),
            [pair[0]],
            autograder.__version__,
            pure=False,
        )
        self.pending[future] = pair

    def poll(self, timeout_s: float = 0.0) -> GradeResult | TaskLost | None:
        """The next finished submission (a result, or why there is none), or None."""
        del timeout_s  # futures are looked at, not waited on: the caller's loop sleeps
        if not self.ready:
            for future in [f for f in self.pending if f.done()]:
                self.ready.extend(self._outcome(future, self.pending.pop(future)))
        return self.ready.pop(0) if self.ready else None

    def _outcome(self, future: Any, pair: Pair) -> list[GradeResult | TaskLost]:
        from distributed import KilledWorker

        if future.status == "finished":
            results: list[GradeResult] = future.result()
            return list(results)
        if future.status != "error":  # cancelled or lost with the scheduler
            return [TaskLost(pair, "the Dask cluster dropped the task (its scheduler went away)", True)]
        exc = future.exception()
        if isinstance(exc, KilledWorker):
            return [
                TaskLost(
                    pair,
                    "the Dask workers grading this notebook died each time it was tried "
                    "(killed for memory, or the worker machines stopped)",
                    False,
                )
            ]
        return [TaskLost(pair, f"grading failed on the Dask cluster: {type(exc).__name__}: {exc}", False)]

    def lost(self) -> list[Pair]:
        """Give up on every task still out (the client lost its scheduler): their pairs."""
        pairs = list(self.pending.values())
        for future in self.pending:
            with contextlib.suppress(Exception):
                future.cancel()
        self.pending = {}
        return pairs

    def close(self) -> None:
        """Cancel what is still out; the client is the caller's (one for every assignment)."""
        self.lost()


def run_dask(
    job: JudgeJob, pairs: Sequence[Pair], *, scheduler: str, on_result: Callable[[GradeResult], None]
) -> None:
    """Send the submissions in chunks to the Dask cluster at `scheduler`; record results as they come."""
    from distributed import as_completed

    client = dask_client(scheduler)
    try:
        workers = max(1, sum(client.nthreads().values()))
        chunks = chunked(pairs, workers=workers)
        futures = [
            client.submit(
                grade_bundle,
                job,
                bundle(job, chunk),
                [s for s, _ in chunk],
                autograder.__version__,
                pure=False,
            )
            for chunk in chunks
        ]
        for future in as_completed(futures):
            try:
                results = future.result()
            except AutograderError:
                raise
            except Exception as exc:
                raise AutograderError(f"a Dask task failed: {type(exc).__name__}: {exc}") from None
            for result in results:
                on_result(result)
    finally:
        client.close()
