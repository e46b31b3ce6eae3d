"""A grader killed with SIGKILL mid-batch and started again loses nothing and counts nothing twice."""

from __future__ import annotations

import shutil
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from autograder import batch
from autograder.course import synth
from autograder.course.layout import load_course
from autograder.errors import UsageError
from autograder.store.lock import grade_lock

pytestmark = pytest.mark.slow


def journal(course) -> list[tuple]:
    db = course.db_url.removeprefix("sqlite:///")
    with sqlite3.connect(db) as conn:
        return sorted(conn.execute("select student, item, score, status, diagnosis from autograder_items"))


def graded_count(course) -> int:
    db = course.db_url.removeprefix("sqlite:///")
    try:
        with sqlite3.connect(db, timeout=1) as conn:
            return conn.execute("select count(*) from autograder_runs").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def test_sigkill_mid_batch_then_rerun_finishes_the_rest_with_the_same_scores(course, submit, tmp_path):
    spec = course.assignment("ps4-softmax")
    mutants = synth.modules(spec, "mutants")
    for n in range(16):
        submit(f"s{n:02d}", mutants[n % len(mutants)].cells if n % 3 else None)
    twin = load_course(shutil.copytree(course.root, tmp_path / "twin"))
    batch.grade(twin, "ps4-softmax", workers=2)  # the uninterrupted run

    cmd = [
        sys.executable,
        "-m",
        "autograder",
        "--course",
        str(course.root),
        "grade",
        "ps4-softmax",
        "--workers",
        "2",
        "--quiet",
    ]
    grader = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    # Results are stored in groups, the first at once: kill as soon as one is in.
    while graded_count(course) < 1 and grader.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    grader.send_signal(signal.SIGKILL)
    grader.wait()
    partial = graded_count(course)
    assert 0 < partial < 16, "the kill should land mid-batch"

    rerun = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    assert graded_count(course) == 16
    assert journal(course) == journal(twin)


def test_a_second_grader_on_the_same_course_is_refused(course, submit):
    submit("ada")
    with grade_lock(course):
        out = subprocess.run(
            [sys.executable, "-m", "autograder", "--course", str(course.root), "grade", "ps4-softmax"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        with pytest.raises(UsageError, match="another `autograder grade` is running"):
            batch.grade(course, "ps4-softmax", workers=1)
    assert out.returncode == 2
    assert "another `autograder grade` is running on this course" in out.stderr


def test_a_changed_suite_regrades_an_unchanged_notebook(course, submit):
    submit("ada")
    assert batch.grade(course, "ps4-softmax", workers=1).graded == 1
    assert batch.grade(course, "ps4-softmax", workers=1).graded == 0
    suite = course.assignments_dir / "ps4-softmax" / "test_mse.py"
    suite.write_text(suite.read_text() + "\n# a comment changes the suite's hash\n")
    assert batch.grade(course, "ps4-softmax", workers=1).graded == 1
