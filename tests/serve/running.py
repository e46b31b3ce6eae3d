"""A running `autograder serve` on a free loopback port, its tokens, and an HTTP client for it."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from autograder.course import release
from autograder.course.layout import Course, load_course
from autograder.serve import db, tokens

ASSIGNMENT = "ps4-softmax"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: Any


@dataclass(frozen=True)
class Server:
    """A served course: where, its tokens (student -> token), the course and its log."""

    url: str
    port: int
    course: Course
    tokens: dict[str, str]
    log: Path

    def request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout_s: float = 30.0,
    ) -> Reply:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout_s)
        try:
            sent = dict(headers or {})
            if token is not None:
                sent["Authorization"] = f"Bearer {token}"
            conn.request(method, path, body=body, headers=sent)
            reply = conn.getresponse()
            raw = reply.read()
            kind = reply.getheader("content-type", "")
            value: Any = json.loads(raw) if "json" in kind else raw.decode("utf-8", "replace")
            return Reply(reply.status, {k.lower(): v for k, v in reply.getheaders()}, value)
        finally:
            conn.close()

    def submit(self, student: str, notebook: bytes, assignment: str = ASSIGNMENT) -> Reply:
        return self.request(
            "POST",
            f"/api/v1/assignments/{assignment}/submissions",
            token=self.tokens[student],
            body=notebook,
            headers={"Content-Type": "application/x-ipynb+json"},
        )

    def wait_graded(self, submission_id: str, token: str, timeout_s: float = 90.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            reply = self.request("GET", f"/api/v1/submissions/{submission_id}", token=token)
            assert reply.status == 200, reply.body
            if reply.body["status"] in ("graded", "error"):
                return dict(reply.body)
            time.sleep(0.2)
        raise AssertionError(f"{submission_id} was not graded within {timeout_s} s:\n{self.log.read_text()[-3000:]}")

    def rows(self) -> list[dict[str, Any]]:
        engine = sa.create_engine(self.course.db_url)
        try:
            with engine.connect() as conn:
                return [dict(r._mapping) for r in conn.execute(sa.select(db.submissions_table))]
        finally:
            engine.dispose()

    def uploads(self) -> list[Path]:
        folder = self.course.state_dir / "serve" / "uploads"
        return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else []


def start_server(
    root: Path, log: Path, *, workers: int = 1, extra: tuple[str, ...] = ()
) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "autograder", "--course", str(root), "serve", "--port", str(port), "--workers", str(workers), *extra],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"autograder serve exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:  # 503 until the grading process answers: wait for 200
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return proc, port
        except OSError:
            pass
        finally:
            conn.close()
        time.sleep(0.2)
    stop_server(proc)
    raise RuntimeError(f"autograder serve did not answer /healthz within 60 s:\n{log.read_text()[-3000:]}")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=20)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def mint(course: Course, students: list[str], instructors: list[str]) -> dict[str, str]:
    engine = db.connect(course.db_url)
    try:
        out = {s: tokens.mint(engine, s) for s in students}
        out.update({i: tokens.mint(engine, i, instructor=True) for i in instructors})
        return out
    finally:
        engine.dispose()


NO_COOLDOWN = "[defaults]\ncooldown_s = 0\n"


@contextlib.contextmanager
def serving(
    root: Path, *, rules: str = "", students: list[str] | None = None, extra: tuple[str, ...] = ()
) -> Iterator[Server]:
    """Serve the course at `root` (with `rules` as its serve.toml) for the block."""
    if rules:
        (root / "serve.toml").write_text(rules)
    course = load_course(root)
    names = students or ["alice", "bob", "carol", "dave", "mallory"]
    minted = mint(course, names, ["teacher"])
    log = root.parent / "serve.log"
    proc, port = start_server(root, log, extra=extra)
    try:
        yield Server(f"http://127.0.0.1:{port}", port, course, minted, log)
    finally:
        stop_server(proc)


def course_on(db_url: str, template: Path, root: Path) -> Course:
    """A copy of the released course at `root`, its gradebook at `db_url`, ps4 released there."""
    shutil.copytree(template, root)
    (root / "gradebook.db").unlink()
    config = root / "nbgrader_config.py"
    config.write_text(re.sub(r'db_url = ".*"', f'db_url = "{db_url}"', config.read_text()))
    course = load_course(root)
    release.release(course, ASSIGNMENT)  # nbgrader writes the assignment into the database
    return course
