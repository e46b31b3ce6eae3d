"""The real `autograder` command on a copy of the course: grade, record, report, export."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

CHEAT = """
import builtins
import numpy as np

np.allclose = lambda *a, **k: True
np.testing.assert_allclose = lambda *a, **k: None
np.array_equal = lambda *a, **k: True
builtins.abs = lambda x: 0
_real_isinstance = builtins.isinstance


class Liar(float):
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    def __array__(self, dtype=None, copy=None):
        return np.zeros(3)


def softmax(z, axis=-1):
    return Liar(0.0)
"""


def run_cli(course_root: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "autograder", "--course", str(course_root), *args],
        capture_output=True,
        text=True,
        check=check,
        timeout=600,
    )


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open() as f:
        return list(csv.DictReader(f))


def test_grade_report_and_nbgrader_export_agree(course, submit):
    submit("ada")  # the source solution
    submit("bob", stub=True)  # nothing answered
    submit("eve", {"softmax": CHEAT, "mse": "def mse(y_true, y_pred):\n    return 0.0"})
    out = run_cli(course.root, "grade", "ps4-softmax", "--workers", "2", "--quiet")
    assert out.returncode == 0, out.stderr

    scores = course.reports_dir / "ps4-softmax" / "scores.csv"
    assert (
        scores.read_text().splitlines()[0]
        == "student,assignment,item,score,max_score,status,diagnosis,message"
    )
    rows = read_csv(scores)
    by = {(r["student"], r["item"]): r for r in rows}
    spec = course.assignment("ps4-softmax")
    assert len(rows) == 3 * len(spec.item_names())
    assert all(by["ada", item]["status"] == "passed" for item in spec.item_names())
    assert all(
        by["bob", item]["status"] in ("missing", "failed") and float(by["bob", item]["score"]) == 0
        for item in spec.item_names()
    )
    # Patched comparisons and lying objects in the worker change nothing in the judge.
    assert float(by["eve", "softmax"]["score"]) == 0 and by["eve", "softmax"]["status"] != "passed"
    assert float(by["eve", "mse"]["score"]) == 0
    assert by["eve", "predict"]["status"] == "passed"
    assert all("\n" not in r["message"] for r in rows)

    out = run_cli(course.root, "report", "ps4-softmax")
    gradebook = {
        r["student"]: float(r["total"])
        for r in read_csv(course.reports_dir / "ps4-softmax" / "gradebook.csv")
    }
    assert gradebook["ada"] == spec.max_points and gradebook["bob"] == 0

    nbgrader = Path(sys.executable).parent / "nbgrader"
    subprocess.run(
        [str(nbgrader), "export", "--to", "export.csv"],
        cwd=course.root,
        check=True,
        capture_output=True,
        timeout=300,
    )
    exported = {
        r["student_id"]: float(r["score"])
        for r in read_csv(course.root / "export.csv")
        if r["assignment"] == "ps4-softmax"
    }
    assert exported == pytest.approx(gradebook)
    items = read_csv(course.reports_dir / "ps4-softmax" / "items.csv")
    assert {r["item"] for r in items} == set(spec.item_names())
    assert "data:image/png;base64" in (course.reports_dir / "ps4-softmax" / "report.html").read_text()
    assert set(items[0]) >= {
        "item",
        "mean_score",
        "pass_rate",
        "difficulty",
        "discrimination",
        "mean_time_s",
        "top_diagnoses",
    }

    run_cli(course.root, "report", "ps4-softmax", "--format", "canvas")
    canvas = read_csv(course.reports_dir / "ps4-softmax" / "canvas.csv")
    assert [r["SIS Login ID"] for r in canvas] == ["ada", "bob", "eve"]
    assert float(canvas[0][spec.title]) == spec.max_points
    out = run_cli(course.root, "report")
    assert "course gradebook:" in out.stdout
    course_book = read_csv(course.reports_dir / "gradebook.csv")
    assert {r["student"]: float(r["ps4-softmax"]) for r in course_book} == gradebook

    out = run_cli(course.root, "feedback", "ps4-softmax")
    assert "wrote 3 feedback pages" in out.stdout
    page = (course.feedback_dir / "eve" / "ps4-softmax" / "feedback.html").read_text()
    assert "softmax" in page and "ada" not in page


def test_collect_then_grade_a_folder_of_downloads(course, submit, tmp_path):
    made = submit("ada")
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    (downloads / "lovelaceada_1234_5678_ps4-softmax.ipynb").write_bytes(made.read_bytes())
    out = run_cli(course.root, "collect", str(downloads), "ps4-softmax", "--deadline", "2026-01-05T12:00+00:00")
    assert "imported 1 notebooks of ps4-softmax" in out.stdout and "late: lovelaceada" in out.stdout
    assert (course.submitted_dir / "lovelaceada" / "ps4-softmax" / "ps4-softmax.ipynb").is_file()
    # The file's time and the deadline are stored, so lateness shows in the report.
    run_cli(course.root, "grade", "ps4-softmax", "--workers", "1", "--quiet")
    run_cli(course.root, "report", "ps4-softmax")
    (row,) = [r for r in read_csv(course.reports_dir / "ps4-softmax" / "gradebook.csv") if r["student"] == "lovelaceada"]
    assert row["late"] == "True" and float(row["days_late"]) > 0 and row["submitted_at"]
    assert float(row["late_penalty"]) == 0.0  # the course's policy is nbgrader's default: none


def test_regrading_an_unchanged_class_is_a_no_op_unless_forced(course, submit):
    submit("ada")
    first = run_cli(course.root, "grade", "ps4-softmax", "--workers", "1")
    assert "graded 1 submissions" in first.stdout
    again = run_cli(course.root, "grade", "ps4-softmax", "--workers", "1")
    assert "graded 0 submissions" in again.stdout and "1 unchanged" in again.stdout
    forced = run_cli(course.root, "grade", "ps4-softmax", "--workers", "1", "--force")
    assert "graded 1 submissions" in forced.stdout
    assert len(read_csv(course.reports_dir / "ps4-softmax" / "scores.csv")) == len(
        course.assignment("ps4-softmax").item_names()
    )


def test_an_unreadable_notebook_is_a_row_not_a_crash(course, submit):
    submit("ada")
    broken = course.submitted_dir / "zed" / "ps4-softmax" / "ps4-softmax.ipynb"
    broken.parent.mkdir(parents=True)
    broken.write_text("{ this is not json")
    out = run_cli(course.root, "grade", "ps4-softmax", "--workers", "1", "--quiet")
    assert out.returncode == 0
    rows = [r for r in read_csv(course.reports_dir / "ps4-softmax" / "scores.csv") if r["student"] == "zed"]
    assert rows and all(r["status"] == "error" for r in rows)
    assert "not a valid notebook (JSON error, line 1)" in rows[0]["message"]


def test_a_broken_course_is_exit_status_2_with_one_line(course):
    out = run_cli(course.root, "grade", "hw9", check=False)
    assert out.returncode == 2
    assert out.stderr.strip().startswith("Error: no assignment 'hw9' in ")
    assert len(out.stderr.strip().splitlines()) == 1
    (course.assignments_dir / "ps4-softmax" / "test_mse.py").write_text("def test_broken(:\n")
    out = run_cli(course.root, "grade", "ps4-softmax", check=False)
    assert out.returncode == 2 and "test_mse.py: syntax error on line 1" in out.stderr
