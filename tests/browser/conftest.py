"""Debian's Chromium driven by Playwright (no browser download), and a JupyterLab to point it at."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from autograder.course.layout import Course, copy_course
from autograder.judge import visible

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Lab:
    """A running JupyterLab: where it serves, and its token."""

    url: str
    token: str
    root: Path
    log: Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_until_up(lab: Lab, process: subprocess.Popen[bytes], timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"jupyter lab exited with {process.returncode}:\n{lab.log.read_text()[-3000:]}"
            )
        try:
            with urllib.request.urlopen(f"{lab.url}/api/status?token={lab.token}", timeout=2) as reply:
                if reply.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.25)
    raise RuntimeError(f"jupyter lab did not answer within {timeout_s:g} s:\n{lab.log.read_text()[-3000:]}")


def start_lab(root: Path, state: Path) -> tuple[Lab, subprocess.Popen[bytes]]:
    """`jupyter lab` of this venv on a free localhost port, serving `root`, its state kept in `state`."""
    port = _free_port()
    token = secrets.token_hex(16)
    for name in ("config", "data", "runtime", "workspaces", "ipython"):
        (state / name).mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),  # so that the kernel imports this checkout's autograder.selfcheck
        "JUPYTER_CONFIG_DIR": str(state / "config"),
        "JUPYTER_DATA_DIR": str(state / "data"),
        "JUPYTER_RUNTIME_DIR": str(state / "runtime"),
        "IPYTHONDIR": str(state / "ipython"),
        "JUPYTER_PLATFORM_DIRS": "1",
    }
    log = state / "jupyter.log"
    lab = Lab(f"http://127.0.0.1:{port}", token, root, log)
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jupyterlab",
                "--no-browser",
                "--ServerApp.ip=127.0.0.1",
                f"--ServerApp.port={port}",
                "--ServerApp.port_retries=0",
                f"--IdentityProvider.token={token}",
                f"--ServerApp.root_dir={root}",
                f"--LabApp.workspaces_dir={state / 'workspaces'}",
                # window.jupyterapp: set cell text and run cells through JupyterLab's own model
                # and commands instead of typing into the editor (no autocomplete, no timing).
                "--LabApp.expose_app_in_browser=True",
                "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
                *(["--ServerApp.allow_root=True"] if os.geteuid() == 0 else []),  # CI containers run as root
            ],
            env=env,
            cwd=root,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_until_up(lab, process)
    except BaseException:
        stop_lab(process)
        raise
    return lab, process


def stop_lab(process: subprocess.Popen[bytes]) -> None:
    """Stop the server we started, and the kernels it started (its own process group)."""
    if process.poll() is None:
        process.terminate()  # jupyter_server shuts its kernels down on SIGTERM
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=15)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # whatever of this server's own group is left
    process.wait()


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory, repo_course: Course) -> Iterator[Lab]:
    """JupyterLab serving a student's folder: the ps4 release notebook and its selfcheck.json."""
    base = tmp_path_factory.mktemp("lab")
    student = base / "student"
    student.mkdir()
    shutil.copy(repo_course.release_notebook("ps4-softmax"), student)
    course = copy_course(repo_course, base / "course")
    shutil.copy(visible.write_checks(course, "ps4-softmax"), student)
    server, process = start_lab(student, base / "state")
    try:
        yield server
    finally:
        stop_lab(process)


@pytest.fixture
def serve_lab(tmp_path: Path) -> Iterator[Callable[[Path], Lab]]:
    """Start JupyterLab (with nbgrader's server extensions, formgrader among them) on a folder;
    stopped at the end of the test."""
    started: list[subprocess.Popen[bytes]] = []

    def serve(root: Path) -> Lab:
        server, process = start_lab(root, tmp_path / f"state{len(started)}")
        started.append(process)
        return server

    yield serve
    for process in started:
        stop_lab(process)
