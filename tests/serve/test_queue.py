"""The queue: fair across students, never loses a 202, survives a killed service and hostile code."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
from pathlib import Path
from typing import Any

import nbformat
import pytest
from running import ASSIGNMENT, NO_COOLDOWN, Server, mint, start_server, stop_server

from autograder.course import synth
from autograder.course.layout import load_course
from autograder.serve.queue import fair_order


def _row(student: str, at: float) -> dict[str, Any]:
    return {"id": f"{student}{at}", "student": student, "submitted_at": at}


def test_fair_order_takes_each_students_oldest_before_anyones_second() -> None:
    rows = [_row("ann", 1), _row("ann", 2), _row("ann", 3), _row("ben", 4), _row("cat", 5), _row("ben", 6)]
    assert [r["id"] for r in fair_order(rows)] == ["ann1", "ben4", "cat5", "ann2", "ben6", "ann3"]


@pytest.mark.slow
def test_a_killed_service_loses_no_202_and_a_restart_grades_the_rest(
    tmp_path: Path, released_template: Path, notebooks: dict[str, bytes]
) -> None:
    root = tmp_path / "course"
    shutil.copytree(released_template, root)
    (root / "serve.toml").write_text(NO_COOLDOWN)
    course = load_course(root)
    students = [f"s{n}" for n in range(6)]
    minted = mint(course, students, [])
    log = tmp_path / "serve.log"
    proc, port = start_server(root, log)
    server = Server(f"http://127.0.0.1:{port}", port, course, minted, log)
    try:
        ids = {s: server.submit(s, notebooks["solution" if n % 2 else "mutant"]).body["id"] for n, s in enumerate(students)}
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the web process, the grader, its judges: no goodbye
        proc.wait()
    left = [r for r in server.rows() if r["status"] in ("queued", "grading")]
    assert left, "the service graded everything before it was killed: nothing to resume"
    proc, port = start_server(root, log)
    server = Server(f"http://127.0.0.1:{port}", port, course, minted, log)
    try:
        results = {s: server.wait_graded(i, minted[s]) for s, i in ids.items()}
    finally:
        stop_server(proc)
    assert {s: r["status"] for s, r in results.items()} == dict.fromkeys(students, "graded")
    assert [results[s]["score"] == 18.0 for s in students] == [n % 2 == 1 for n in range(6)]
    from nbgrader.api import Gradebook

    with Gradebook(course.db_url, course_id=course.course_id) as gb:
        assert sorted(s.student.id for s in gb.assignment_submissions(ASSIGNMENT)) == students


def _attack(release_nb: Path, answers: dict[str, str], top: str) -> bytes:
    nb = synth.build_notebook(release_nb, answers)
    nb.cells.insert(2, nbformat.v4.new_code_cell(top))
    return nbformat.writes(nb).encode()


@pytest.mark.slow
def test_hostile_notebooks_submitted_through_the_service_harm_nobody_else(
    server: Server, notebooks: dict[str, bytes]
) -> None:
    course = server.course
    root = course.root
    first = server.submit("alice", notebooks["solution"]).body["id"]
    server.wait_graded(first, server.tokens["alice"])
    upload = root / ".autograder" / "serve" / "uploads" / ASSIGNMENT / "alice" / f"{first}.ipynb"
    kept = hashlib.sha256(upload.read_bytes()).hexdigest()
    spec = course.assignment(ASSIGNMENT)
    solution = {**synth.solution_sources(course, spec), **synth.quiz_answers(spec, correct={q.id for q in spec.quiz})}
    release_nb = course.release_notebook(ASSIGNMENT)
    attacks = [
        "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n",
        "import os\nos.killpg(0, 9)\n",
        "import glob\nfor p in glob.glob('@ROOT@/.autograder/serve/uploads/*/*/*.ipynb'):\n    open(p, 'w').write('{}')\n"
        "open('@ROOT@/gradebook.db', 'wb').write(b'gone')\n",
        "import urllib.request\nurllib.request.urlopen('http://127.0.0.1:@PORT@/healthz', timeout=2)\n",
        "import os\nos._exit(0)\n",
    ]
    hostile = []
    for n, code in enumerate(attacks):
        body = _attack(release_nb, solution, code.replace("@ROOT@", str(root)).replace("@PORT@", str(server.port)))
        reply = server.submit("mallory", body)
        assert reply.status == 202, (n, reply.body)
        hostile.append(reply.body["id"])
    honest = server.submit("bob", notebooks["solution"]).body["id"]
    assert server.wait_graded(honest, server.tokens["bob"])["score"] == 18.0
    for sid in hostile:
        result = server.wait_graded(sid, server.tokens["mallory"])
        assert result["status"] in ("graded", "error")
    assert hashlib.sha256(upload.read_bytes()).hexdigest() == kept
    assert server.request("GET", "/healthz").status == 200
    again = server.request("GET", f"/api/v1/submissions/{first}", token=server.tokens["alice"]).body
    assert again["score"] == 18.0 and again["counts"] is True
    from nbgrader.api import Gradebook

    with Gradebook(course.db_url, course_id=course.course_id) as gb:
        assert gb.find_submission(ASSIGNMENT, "alice").score == 18.0

