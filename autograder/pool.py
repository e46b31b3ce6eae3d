"""Where grading runs: warm judge processes on this machine, or a Dask cluster.

A judge process starts once, imports pytest, the suite's needs and the references, starts its
own zygote of workers, then takes chunks of submissions from a queue until there are none;
every finished submission goes back to the parent at once, so the parent can record it before
it waits for the next. With `--scheduler ADDRESS` the same chunks go to a Dask cluster as
tasks that carry the course's suite, source notebook and the submissions with them, so the
cluster's machines need the `autograder` package but no copy of the course.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import queue
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import autograder
from autograder.course import load_course
from autograder.errors import AutograderError, CourseError, UsageError
from autograder.jail import Limits
from autograder.lifetime import die_with_parent
from autograder.models import GradeResult

log = logging.getLogger(__name__)

Chunk = tuple[tuple[str, str], ...]  # (student_id, notebook path) pairs


@dataclass(frozen=True)
class JudgeJob:
    """What every judge needs to know, whichever machine it runs on."""

    course_root: str
    assignment_id: str
    backend: str = "numpy"
    limits: Limits = field(default_factory=Limits)


def chunked(pairs: Sequence[tuple[str, str]], *, workers: int, largest: int = 8) -> list[Chunk]:
    """Split the batch into chunks: small enough to balance, large enough to amortise pytest."""
    size = max(1, min(largest, len(pairs) // max(1, workers * 4)))
    return [tuple(pairs[i : i + size]) for i in range(0, len(pairs), size)]


def _judge_chunks(
    job: JudgeJob, next_chunk: Callable[[], Chunk | None], emit: Callable[[GradeResult], None]
) -> None:
    """The judge's loop: one zygote and one reference backend for all its chunks."""
    from autograder.judge import ExampleCache, Reference, grade_chunk
    from autograder.notebook import load_submission
    from autograder.reference.backend import BackendUnavailableError, load_backend
    from autograder.sandbox import Zygote

    course = load_course(Path(job.course_root))
    spec = course.assignment(job.assignment_id)
    try:
        reference = Reference(load_backend(job.backend))
    except BackendUnavailableError as exc:
        raise AutograderError(str(exc)) from None
    examples = ExampleCache()
    with Zygote() as zygote:
        while (chunk := next_chunk()) is not None:
            subs = [load_submission(s, job.assignment_id, Path(p)) for s, p in chunk]
            grade_chunk(
                course,
                spec,
                subs,
                zygote=zygote,
                reference=reference,
                on_result=emit,
                limits=job.limits,
                examples=examples,
            )


def _judge_process(job: JudgeJob, tasks: Any, results: Any, parent: int) -> None:
    die_with_parent(parent)

    def next_chunk() -> Chunk | None:
        chunk: Chunk | None = tasks.get()
        return chunk

    try:
        _judge_chunks(job, next_chunk, lambda r: results.put(("result", r)))
        results.put(("done", None))
    except AutograderError as exc:
        results.put(("fatal", f"{type(exc).__name__}:{exc}"))
    except BaseException as exc:  # report a judge's crash to the parent instead of hanging it
        log.exception("judge process failed")
        results.put(("fatal", f"RuntimeError:a judge process failed: {type(exc).__name__}: {exc}"))


def _raise_fatal(text: str) -> None:
    kind, _, message = text.partition(":")
    error = {"CourseError": CourseError, "UsageError": UsageError}.get(kind, AutograderError)
    raise error(message)


def run_local(
    job: JudgeJob, chunks: list[Chunk], *, workers: int, on_result: Callable[[GradeResult], None]
) -> None:
    """Grade chunks on `workers` judge processes here (in this process when workers == 1)."""
    if not chunks:
        return
    if workers <= 1:
        pending = list(chunks)
        _judge_chunks(job, lambda: pending.pop(0) if pending else None, on_result)
        return
    ctx = mp.get_context("fork")
    tasks = ctx.Queue()
    results = ctx.Queue()
    n = min(workers, len(chunks))
    for chunk in chunks:
        tasks.put(chunk)
    for _ in range(n):
        tasks.put(None)
    procs = [
        ctx.Process(target=_judge_process, args=(job, tasks, results, os.getpid()), daemon=True)
        for _ in range(n)
    ]
    for p in procs:
        p.start()
    finished = 0
    try:
        while finished < n:
            try:
                kind, payload = results.get(timeout=1.0)
            except queue.Empty:
                if all(not p.is_alive() for p in procs) and results.empty():
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
                _raise_fatal(payload)
    finally:
        for p in procs:
            if p.is_alive():
                p.terminate()
            p.join(timeout=5)


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
        folder = Path(notebook).parent
        for path in folder.iterdir() if folder.is_dir() else []:
            if path.is_file() and not path.is_symlink():
                files[f"submitted/{student}/{job.assignment_id}/{path.name}"] = path.read_bytes()
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
        local = JudgeJob(str(root), job.assignment_id, job.backend, job.limits)
        chunk = tuple(
            (s, str(root / "submitted" / s / job.assignment_id / f"{job.assignment_id}.ipynb"))
            for s in students
        )
        out: list[GradeResult] = []
        pending = [chunk]
        _judge_chunks(local, lambda: pending.pop() if pending else None, out.append)
        return out
    finally:
        shutil.rmtree(root, ignore_errors=True)


def run_dask(
    job: JudgeJob, chunks: list[Chunk], *, scheduler: str, on_result: Callable[[GradeResult], None]
) -> None:
    """Send each chunk to the Dask cluster at `scheduler`; record results as they complete."""
    from distributed import Client, as_completed

    try:
        client = Client(scheduler, timeout="10s")
    except (OSError, TimeoutError) as exc:
        raise UsageError(f"cannot reach the Dask scheduler at {scheduler} ({exc}).") from None
    try:
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
