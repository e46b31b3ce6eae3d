"""`autograder serve`: the web process (uvicorn) and its grading process, started and watched.

The grading process is a fresh interpreter (`python -m autograder.serve.queue`), not a fork of
the web server: it holds the course's grade lock, the warm judges and nothing of the web
side's threads. If it dies it is started again, and it finds the queue where it was.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from urllib.parse import urlparse

import uvicorn
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.types import ASGIApp

from autograder.course.layout import Course
from autograder.errors import UsageError
from autograder.serve import hub as hub_auth
from autograder.serve import tokens
from autograder.serve.app import Service, create_app, open_service

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
    return subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        # The hub's token (serve --hub) is the web side's alone: the grader never talks to the hub.
        env={k: v for k, v in os.environ.items() if not k.startswith("JUPYTERHUB_")},
    )


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


def listen_address(host: str | None, port: int | None, hub: bool) -> tuple[str, int]:
    """Where to listen: as given, else (as a hub service) $JUPYTERHUB_SERVICE_URL's, else 127.0.0.1:8000."""
    url = urlparse(os.environ.get("JUPYTERHUB_SERVICE_URL", "")) if hub else None
    default_host = (url.hostname if url else None) or "127.0.0.1"
    default_port = (url.port if url else None) or 8000
    return host or default_host, port or default_port


def with_hub(svc: Service, cfg: hub_auth.HubConfig) -> Service:
    """`svc` signing people in through the JupyterHub `cfg` describes."""
    engine = svc.engine

    def students() -> frozenset[str]:
        return frozenset(tokens.gradebook_students(engine))

    log.info(
        "signing in through JupyterHub at %s (instructors: the groups %s)",
        cfg.hub_url,
        ", ".join(sorted(cfg.instructor_groups)),
    )
    return dataclasses.replace(svc, hub=hub_auth.HubClient(cfg, svc.course.course_id, students))


def serve(
    course: Course,
    *,
    host: str | None = None,
    port: int | None = None,
    workers: int | None = None,
    prefix: str | None = None,
    hub: bool | None = None,
    hub_url: str | None = None,
    callback_url: str | None = None,
    instructor_groups: tuple[str, ...] = (),
    scheduler: str | None = None,
) -> None:
    """Serve `course` until interrupted, under `prefix` (default: $JUPYTERHUB_SERVICE_PREFIX or /).

    `hub`: sign in through JupyterHub (None: when this process has a hub service's environment).
    With `scheduler` (a Dask scheduler's address) submissions are graded on that cluster; the
    queue stays in the course's database, and `workers` is then the least number graded at once
    (the cluster's threads when it has more).
    """
    if hub is None:
        hub = hub_auth.in_hub_environment(os.environ)
    cfg = None
    if hub:  # the hub's settings first: a missing one is the error to show
        cfg = hub_auth.hub_config(
            os.environ,
            course_id=course.course_id,
            secret=hub_auth.cookie_secret(course.state_dir),
            hub_url=hub_url,
            callback_url=callback_url,
            instructor_groups=instructor_groups,
        )
    svc = open_service(course)
    if cfg is not None:
        svc = with_hub(svc, cfg)
    host, port = listen_address(host, port, hub)
    if not svc.specs:
        raise UsageError(
            "no assignment of this course is released, so none can take submissions; "
            "run `autograder release ASSIGNMENT` first."
        )
    judges = workers or (1 if scheduler else os.cpu_count() or 1)
    with grader_process(course, judges, scheduler):
        app = with_prefix(create_app(svc), prefix or os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/"))
        config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False)
        try:
            uvicorn.Server(config).run()
        finally:
            if svc.hub is not None:
                svc.hub.close()
