"""The batch on the in-process launcher: what is graded, what is skipped, what is recorded."""

from __future__ import annotations

import csv

import pytest
from fakes import in_process

from autograder import batch
from autograder.errors import UsageError

A = "ps4-softmax"


def grade(course, **kwargs):
    return batch.grade(course, A, workers=1, launcher=in_process, **kwargs)


def test_an_unchanged_class_is_skipped_a_changed_notebook_regraded_and_force_regrades_all(course, submit):
    submit("ada")
    submit("bob", stub=True)
    first = grade(course)
    assert (first.graded, first.skipped) == (2, 0)
    again = grade(course)
    assert (again.graded, again.skipped) == (0, 2)
    submit("bob")  # bob hands in the solution
    changed = grade(course)
    assert (changed.graded, changed.skipped) == (1, 1)
    assert changed.results[0].student_id == "bob" and changed.results[0].score == changed.results[0].max_score
    forced = grade(course, force=True)
    assert (forced.graded, forced.skipped) == (2, 0)


def test_an_unreadable_notebook_is_an_error_row_and_the_rest_are_graded(course, submit):
    submit("ada")
    path = submit("bob")
    path.write_text("{ this is not json")
    summary = grade(course)
    rows = {r.student_id: r for r in summary.results}
    assert summary.errors == 1 and rows["ada"].status == "graded"
    assert rows["bob"].status == "error"
    assert "is not a valid notebook" in rows["bob"].message
    with open(summary.scores_csv, newline="") as f:
        written = list(csv.DictReader(f))
    assert {r["status"] for r in written if r["student"] == "bob"} == {"error"}
    assert {r["student"] for r in written} == {"ada", "bob"}


def test_progress_is_reported_once_a_student(course, submit):
    for student in ("ada", "bob", "cy"):
        submit(student)
    every = []
    grade(course, on_progress=every.append)
    ticks = [t for t in every if t.student_id]  # the others say who is being graded while none ends
    assert [(t.done, t.total) for t in ticks] == [(1, 3), (2, 3), (3, 3)]
    assert sorted(t.student_id for t in ticks) == ["ada", "bob", "cy"]


def test_asking_for_a_student_without_a_submission_is_a_usage_error(course, submit):
    submit("ada")
    with pytest.raises(UsageError, match=r"^no submission of ps4-softmax for: zed\.$"):
        grade(course, students=["ada", "zed"])


def test_no_workers_is_a_usage_error(course):
    with pytest.raises(UsageError, match=r"^--workers must be at least 1, not -1\.$"):
        batch.grade(course, A, workers=-1, launcher=in_process)
