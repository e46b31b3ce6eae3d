"""`autograder serve`: the web process (uvicorn) and its grading process, started and watched.

The grading process is a fresh interpreter (`python -m autograder.serve.queue`), not a fork of
the web server: it holds the course's grade lock, the warm judges and nothing of the web
side's threads. If it dies it is started again, and it finds the queue where it was.
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import uvicorn
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.types import ASGIApp

from autograder.course.layout import Course
from autograder.errors import UsageError
from autograder.serve.app import create_app, open_service

log = logging.getLogger(__name__)


def _start_grader(course: Course, workers: int, scheduler: str | None) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-m",
        "autograder.serve.queue",
        str(course.root),
        "--workers",
        str(workers),
        "--parent",
        str(os.getpid()),
    ]
    if scheduler:
        command += ["--scheduler", scheduler]
    return subprocess.Popen(command, stdin=subprocess.DEVNULL)


@contextlib.contextmanager
def grader_process(course: Course, workers: int, scheduler: str | None = None) -> Iterator[None]:
    """The grading process for the duration of the block, restarted if it dies."""
    proc = _start_grader(course, workers, scheduler)
    time.sleep(0.5)
    if proc.poll() is not None:
        raise UsageError(
            "the grading process could not start (is `autograder grade` running on this course? "
            "see the message above)."
        )
    stop = threading.Event()

    def watch() -> None:
        nonlocal proc
        while not stop.wait(1.0):
            if proc.poll() is not None:
                log.error("the grading process stopped (exit %s); starting it again", proc.returncode)
                proc = _start_grader(course, workers, scheduler)

    watcher = threading.Thread(target=watch, name="grader-watch", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        stop.set()
        watcher.join(timeout=5)
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def with_prefix(app: ASGIApp, prefix: str) -> ASGIApp:
    """`app` under a URL prefix (JupyterHub proxies a service at /services/<name>/, unstripped)."""
    prefix = "/" + prefix.strip("/")
    if prefix == "/":
        return app
    return Starlette(routes=[Mount(prefix, app=app)])


def serve(
    course: Course,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int | None = None,
    prefix: str | None = None,
    scheduler: str | None = None,
) -> None:
    """Serve `course` until interrupted, under `prefix` (default: $JUPYTERHUB_SERVICE_PREFIX or /).

    With `scheduler` (a Dask scheduler's address) submissions are graded on that cluster; the
    queue stays in the course's database, and `workers` is then the least number graded at once
    (the cluster's threads when it has more).
    """
    svc = open_service(course)
    if not svc.specs:
        raise UsageError(
            "no assignment of this course is released, so none can take submissions; "
            "run `autograder release ASSIGNMENT` first."
        )
    judges = workers or (1 if scheduler else os.cpu_count() or 1)
    with grader_process(course, judges, scheduler):
        app = with_prefix(create_app(svc), prefix or os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/"))
        config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False)
        uvicorn.Server(config).run()
