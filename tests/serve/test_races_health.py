"""Races and health over real HTTP: one student's uploads at the same moment against an attempt
limit of one (SQLite and PostgreSQL), and /healthz while the grading process does not answer."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa
from running import ASSIGNMENT, Reply, Server, course_on, serving

from autograder.serve import db

ONE_ATTEMPT = "[defaults]\ncooldown_s = 0\nmax_attempts = 1\n"


def variants(notebook: bytes, n: int) -> list[bytes]:
    """`n` different notebooks (so none is an identical resubmission), each still a ps4 answer."""
    out = []
    for k in range(n):
        nb = json.loads(notebook)
        nb["metadata"]["variant"] = k
        out.append(json.dumps(nb).encode())
    return out


def burst(server: Server, student: str, bodies: list[bytes]) -> list[Reply]:
    """Every upload sent at once, each on its own connection."""
    with ThreadPoolExecutor(len(bodies)) as pool:
        return list(pool.map(lambda body: server.submit(student, body), bodies))


def assert_only_one_passed(server: Server, replies: list[Reply], student: str) -> None:
    statuses = sorted(r.status for r in replies)
    assert statuses == [202] + [429] * (len(replies) - 1), [(r.status, r.body) for r in replies]
    for refused in (r for r in replies if r.status == 429):
        assert refused.body["error"] == (
            "you have used all 1 submissions allowed in 24.0 h; the next one is possible in 24.0 h."
        )
        assert int(refused.headers["retry-after"]) > 86000
    rows = [r for r in server.rows() if r["student"] == student]
    assert len(rows) == 1
    assert [p.stem for p in server.uploads() if p.parent.name == student] == [rows[0]["id"]]


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory, released_template: Path) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("limited") / "course"
    shutil.copytree(released_template, root)
    with serving(root, rules=ONE_ATTEMPT) as s:
        yield s


def test_uploads_at_the_same_moment_do_not_both_pass_a_limit_of_one(
    limited: Server, notebooks: dict[str, bytes]
) -> None:
    replies = burst(limited, "alice", variants(notebooks["solution"], 8))
    assert_only_one_passed(limited, replies, "alice")
    first = next(r for r in replies if r.status == 202).body["id"]
    assert limited.wait_graded(first, limited.tokens["alice"])["score"] == 18.0


def test_healthz_says_503_and_why_while_the_grading_process_does_not_answer(limited: Server) -> None:
    reply = limited.request("GET", "/healthz")
    assert reply.status == 200, reply.body
    assert reply.body["ok"] is True and reply.body["grading"]["alive"] is True
    assert reply.body["grading"]["mode"] == "local"
    engine = db.connect(limited.course.db_url)
    try:
        with engine.connect() as conn:
            grader = int(conn.execute(sa.select(db.grader_table.c.pid)).scalar_one())
    finally:
        engine.dispose()
    os.kill(grader, signal.SIGSTOP)  # hung: alive to the server's watcher, grading nothing
    try:
        deadline = time.monotonic() + 30
        while (reply := limited.request("GET", "/healthz")).status == 200 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert reply.status == 503, reply.body
        assert reply.body["ok"] is False and reply.body["grading"]["alive"] is False
        assert re.fullmatch(r"the grading process has not answered for \d+ s\.", reply.body["error"])
        assert reply.body["assignments"] == [ASSIGNMENT]
    finally:
        os.kill(grader, signal.SIGCONT)
    deadline = time.monotonic() + 30
    while (reply := limited.request("GET", "/healthz")).status != 200 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert reply.status == 200, reply.body


@pytest.mark.postgres
@pytest.mark.slow
def test_uploads_at_the_same_moment_do_not_both_pass_a_limit_of_one_on_postgresql(
    tmp_path: Path,
    released_template: Path,
    postgres_url: str,
    notebooks: dict[str, bytes],
) -> None:
    root = course_on(postgres_url, released_template, tmp_path / "course").root
    with serving(root, rules=ONE_ATTEMPT) as server:
        replies = burst(server, "bob", variants(notebooks["solution"], 8))
        assert_only_one_passed(server, replies, "bob")
        # Another student is not held up by bob's lock: his own first upload passes.
        assert server.submit("carol", notebooks["solution"]).status == 202
