"""The instructor's whole path with nbgrader's own tools around `autograder grade`, on a fresh clone.

nbgrader sets the course up (`db assignment add --duedate`, `db student add`), releases through a
real exchange folder, three students fetch and submit (one after the due date), nbgrader
collects; then `autograder grade` (which registers the committed release/ by itself), a grader
raises a score through nbgrader's Gradebook API, and every total agrees: `autograder report`,
canvas.csv, the feedback page and `nbgrader export`. formgrader's own API then lists every
submission as autograded, and `generate_feedback` / `release_feedback` / `fetch_feedback` work.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import nbformat
import pytest

from autograder.course import synth
from autograder.course.layout import Course, copy_course, load_course

pytestmark = pytest.mark.slow

A = "ps4-softmax"
BIN = Path(sys.executable).parent
WRONG_SOFTMAX = "import numpy as np\n\ndef softmax(z, axis=-1):\n    e = np.exp(z)\n    return e / e.sum()\n"


def nbgrader(cwd: Path, *args: str, user: str = "instructor") -> subprocess.CompletedProcess[str]:
    """nbgrader's own command, as `user` (the exchange names students by $LOGNAME or $USER)."""
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "USER": user, "LOGNAME": user}
    out = subprocess.run(
        [str(BIN / "nbgrader"), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}"
    return out


def autograder(course: Course, *args: str) -> subprocess.CompletedProcess[str]:
    out = subprocess.run(
        [sys.executable, "-m", "autograder", "--course", str(course.root), *args],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, f"autograder {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}"
    return out


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open() as f:
        return list(csv.DictReader(f))


def nbgrader_time(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f UTC")


@pytest.fixture
def fresh_clone(tmp_path: Path, repo_course: Course) -> tuple[Course, Path]:
    """The course as a clone has it (source, release, assignments; no gradebook), with an exchange."""
    root = tmp_path / "course"
    copy_course(repo_course, root)
    shutil.copytree(repo_course.release_dir / A, root / "release" / A)
    exchange = tmp_path / "exchange"
    exchange.mkdir()
    exchange.chmod(0o777)  # nbgrader wants an exchange every student can write to
    settings = f'\nc.Exchange.root = "{exchange}"\nc.LatePolicy.method = "per_day"\nc.LatePolicy.per_day_percent = 10\n'
    with (root / "nbgrader_config.py").open("a") as f:
        f.write(settings)
    return load_course(root), exchange


def fetch_and_submit(course: Course, home: Path, student: str, answers: dict[str, str]) -> None:
    home.mkdir(parents=True)
    (home / "nbgrader_config.py").write_text(
        (course.root / "nbgrader_config.py").read_text().replace('c.CourseDirectory.root = "."', "")
    )
    nbgrader(home, "fetch_assignment", A, "--course", course.course_id, user=student)
    fetched = home / A / f"{A}.ipynb"
    nbformat.write(synth.build_notebook(fetched, answers), fetched)
    # The exchange names a submitter by their login; all run as one user here, so name them.
    nbgrader(home, "submit", A, "--course", course.course_id, f"--student={student}", user=student)


def test_exchange_grade_manual_grade_late_work_and_export_agree(
    fresh_clone: tuple[Course, Path], tmp_path: Path
) -> None:
    course, _ = fresh_clone
    spec = course.assignment(A)
    solution = synth.solution_sources(course, spec)
    right = synth.quiz_answers(spec, correct={q.id for q in spec.quiz})

    # nbgrader's own set-up: a due date, students, then a release through the exchange.
    nbgrader(course.root, "db", "assignment", "add", A, f"--duedate={nbgrader_time(datetime.now(UTC))}")
    for student in ("ada", "bob", "eve"):
        nbgrader(course.root, "db", "student", "add", student, f"--first-name={student.title()}")
    nbgrader(course.root, "release_assignment", A, "--force")

    homes = tmp_path / "home"
    # ada and bob on time (the due date is moved past their submissions), eve after it.
    nbgrader(course.root, "db", "assignment", "add", A, "--duedate=2099-01-01 00:00:00 UTC")
    fetch_and_submit(course, homes / "ada", "ada", {**solution, **right})
    fetch_and_submit(course, homes / "bob", "bob", {**solution, **right, "softmax": WRONG_SOFTMAX})
    due = datetime.now(UTC)
    nbgrader(course.root, "db", "assignment", "add", A, f"--duedate={nbgrader_time(due)}")
    time.sleep(1.1)
    fetch_and_submit(course, homes / "eve", "eve", {**solution, **right})
    collected = nbgrader(course.root, "collect", A)
    assert (course.submitted_dir / "eve" / A / "timestamp.txt").is_file(), (
        collected.stderr,
        sorted(str(p) for p in (tmp_path / "exchange").rglob("*")),
        sorted(str(p) for p in course.root.rglob("*") if "submitted" in str(p)),
    )

    out = autograder(course, "grade", A, "--workers", "2", "--quiet")
    # Nothing but the batch's first line, which names the jail's layers in force.
    assert [line for line in out.stderr.splitlines() if "isolation:" not in line] == []
    for student in ("ada", "bob", "eve"):
        assert (course.autograded_dir / student / A / f"{A}.ipynb").is_file()

    # A grader gives bob's softmax full marks by hand (formgrader saves it through this API).
    from nbgrader.api import Gradebook

    with Gradebook(course.db_url, course_id=course.course_id) as gb:
        grade = gb.find_grade("test_softmax", A, A, "bob")
        assert grade.auto_score < 3.0
        grade.manual_score = 3.0
        grade.needs_manual_grade = False
        gb.db.commit()
        assert gb.find_assignment(A).duedate is not None  # grade kept nbgrader's due date

    autograder(course, "report", A)
    autograder(course, "report", A, "--format", "canvas")
    autograder(course, "feedback", A)
    nbgrader(course.root, "export", "--to", str(tmp_path / "export.csv"))

    exported = {r["student_id"]: r for r in read_csv(tmp_path / "export.csv") if r["assignment"] == A}
    ours = {r["student"]: r for r in read_csv(course.reports_dir / A / "gradebook.csv")}
    canvas = {r["SIS Login ID"]: r for r in read_csv(course.reports_dir / A / "canvas.csv")}
    assert set(exported) == set(ours) == set(canvas) == {"ada", "bob", "eve"}
    for student, row in exported.items():
        assert float(ours[student]["total"]) == pytest.approx(float(row["score"])), student
        assert float(ours[student]["raw_total"]) == pytest.approx(float(row["raw_score"])), student
        assert float(ours[student]["late_penalty"]) == pytest.approx(float(row["late_submission_penalty"]))
        assert float(canvas[student][spec.title]) == pytest.approx(float(row["score"])), student
        assert row["timestamp"] and ours[student]["submitted_at"], student
    full = spec.max_points
    assert float(ours["bob"]["total"]) == full  # the manual 3 points count, in every table
    assert float(ours["ada"]["total"]) == full and ours["ada"]["late"] == "False"
    assert ours["eve"]["late"] == "True" and float(ours["eve"]["late_penalty"]) == pytest.approx(0.1 * full)
    assert float(canvas["eve"][f"{spec.title} late penalty"]) == pytest.approx(0.1 * full)
    report = (course.reports_dir / A / "report.html").read_text()
    assert "Late submissions (1)" in report
    scores = {(r["student"], r["item"]): r for r in read_csv(course.reports_dir / A / "scores.csv")}
    assert float(scores["ada", "softmax"]["score"]) == float(scores["bob", "softmax"]["score"]) == 3.0
    eve_page = (course.feedback_dir / "eve" / A / "feedback.html").read_text()
    assert "late by 0 h 1 min" in eve_page or "late by 1 min" in eve_page
    assert f"after a late penalty of {0.1 * full:g}" in eve_page
    bob_page = (course.feedback_dir / "bob" / A / "feedback.html").read_text()
    assert f"{full:g} / {full:g} points" in bob_page and "A grader set this score by hand" in bob_page

    # formgrader's own API sees every submission as autograded, at once after `grade`.
    from nbgrader.apps import NbGraderAPI
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(course.root)).load_config()
    config.CourseDirectory.root = str(course.root)
    config.CourseDirectory.db_url = course.db_url
    api = NbGraderAPI(config=config)
    assert api.get_autograded_students(A) == {"ada", "bob", "eve"}
    assert len(api.get_notebook_submissions(A, A)) == 3  # formgrader's list for manual grading

    # nbgrader's feedback, then back to the students through the exchange.
    # --force: `autograder feedback` made feedback/<student>/<a>/ already, which nbgrader would skip.
    nbgrader(course.root, "generate_feedback", A, "--force")
    html = (course.feedback_dir / "bob" / A / f"{A}.html").read_text()
    assert "BEGIN HIDDEN TESTS" not in html
    assert "softmax: 0.3333 / 3 points. Partly right: some checks pass." in html  # the judge's verdict
    nbgrader(course.root, "release_feedback", A)
    nbgrader(homes / "bob", "fetch_feedback", A, "--course", course.course_id, "--student=bob", user="bob")
    assert list((homes / "bob" / A / "feedback").rglob(f"{A}.html"))
