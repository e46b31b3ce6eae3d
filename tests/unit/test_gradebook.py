"""gradebook: what `record_many` leaves in nbgrader's tables and in the journal.

nbgrader's view is read back the way nbgrader itself reads it: a fresh `Gradebook` (as
`nbgrader export` or the formgrader would open one) and its own objects and totals.
"""

from __future__ import annotations

import shutil
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from autograder.course.late import LatePolicy
from autograder.course.layout import AssignmentSpec, Course, load_course
from autograder.errors import CourseError
from autograder.models import CellResult, GradeResult, ItemResult
from autograder.store import gradebook, nbgrader_rows
from autograder.store.gradebook import (
    GradeStore,
    cells_table,
    items_table,
    runs_table,
)

A = "ps4-softmax"


def make_result(spec: AssignmentSpec, student: str, scores: dict[str, float] | None = None) -> GradeResult:
    """A result with every item of `spec`: full marks unless `scores` says otherwise."""
    scores = scores or {}
    points = {i.name: i.points for i in spec.items} | {q.item: q.points for q in spec.quiz}
    items = tuple(
        ItemResult(
            item,
            scores.get(item, full),
            full,
            "passed" if scores.get(item, full) == full else "failed",
            "" if scores.get(item, full) == full else "other",
            f"{item}: message",
            0.25,
        )
        for item, full in points.items()
    )
    grade_ids = list(spec.grade_ids())
    cells = (
        CellResult(3, grade_ids[0], True),
        CellResult(5, grade_ids[1], False, "AssertionError", "wrong shape"),
    )
    return GradeResult(
        student,
        spec.assignment_id,
        f"{student:0<64}"[:64],
        spec.suite_sha256,
        items,
        cells,
        {grade_ids[0]: 3.0, grade_ids[1]: 0.0, grade_ids[2]: 0.0},  # the third cell did not run
        duration_s=1.5,
    )


@contextmanager
def nbgrader_book(course: Course) -> Iterator[Any]:
    """nbgrader's own Gradebook on the course database, opened afresh."""
    from nbgrader.api import Gradebook

    gb = Gradebook(course.db_url, course_id=course.course_id)
    try:
        with warnings.catch_warnings():
            # nbgrader's own session handling warns about autoflush; it is harmless.
            warnings.simplefilter("ignore", sa.exc.SAWarning)
            yield gb
    finally:
        gb.close()


def nbgrader_view(course: Course) -> dict[str, Any]:
    """Every nbgrader row of the assignment's submissions, keyed by names instead of uuids."""
    with nbgrader_book(course) as gb:
        students = {s.id: (s.first_name, s.last_name, s.email, s.lms_user_id) for s in gb.students}
        submissions, notebooks, grades, comments = {}, {}, {}, {}
        for sub in gb.find_assignment(A).submissions:
            who = sub.student.id
            submissions[who] = (sub.timestamp, sub.extension)
            for snb in sub.notebooks:
                notebooks[who, snb.name] = (snb.flagged, snb.late_submission_penalty)
                for g in snb.grades:
                    grades[who, snb.name, g.name] = (
                        g.auto_score,
                        g.manual_score,
                        g.extra_credit,
                        g.needs_manual_grade,
                    )
                for c in snb.comments:
                    comments[who, snb.name, c.name] = (c.auto_comment, c.manual_comment)
        dicts = {d["student"]: d for d in gb.submission_dicts(A)}
    return {
        "students": students,
        "submissions": submissions,
        "notebooks": notebooks,
        "grades": grades,
        "comments": comments,
        "dicts": dicts,
    }


def journal_view(store: GradeStore) -> dict[str, Any]:
    with store.engine.connect() as conn:
        runs = [dict(r._mapping) for r in conn.execute(sa.select(runs_table).order_by(runs_table.c.student))]
    for run in runs:
        del run["graded_at"]
    key = ("student", "grade_id")
    return {
        "items": store.item_rows(A),
        "cells": sorted(store.cell_rows(A), key=lambda r: tuple(r[k] for k in key)),
        "runs": runs,
    }


def second_copy(released_template: Path, tmp_path: Path) -> Course:
    root = tmp_path / "other"
    shutil.copytree(released_template, root)
    return load_course(root)


@pytest.fixture
def store(course: Course) -> Iterator[GradeStore]:
    store = GradeStore(course)
    yield store
    store.close()


def test_record_sets_each_auto_score_to_its_item_score_and_rerecord_replaces_it(
    course: Course, store: GradeStore
) -> None:
    spec = course.assignment(A)
    first = make_result(spec, "ada", {"softmax": 1.5, "quiz.max_shift": 0.0})
    store.record_many([first], spec)
    again = make_result(spec, "ada", {"softmax": 3.0, "mse": 0.5})
    store.record_many([again], spec)

    item_of = {i.grade_id: i.name for i in spec.items} | {q.grade_id: q.item for q in spec.quiz}
    scores = {i.item: i.score for i in again.items}
    with nbgrader_book(course) as gb:
        (notebook,) = gb.find_assignment(A).notebooks
        snb = gb.find_submission_notebook(notebook.name, A, "ada")
        auto = {g.name: g.auto_score for g in snb.grades}
        assert auto == {grade_id: scores[item] for grade_id, item in item_of.items()}
        assert auto["test_softmax"] == 3.0 and auto["test_mse"] == 0.5 and auto["quiz_max_shift"] == 1.0
        assert gb.find_grade("test_mse", notebook.name, A, "ada").score == 0.5
        assert not any(g.needs_manual_grade for g in snb.grades)  # as `nbgrader autograde` leaves them
        assert len(gb.find_assignment(A).submissions) == 1
    assert store.nbgrader_totals(A) == {"ada": pytest.approx(again.score)}
    assert again.score == spec.max_points - 1.5


def test_a_new_student_gets_the_rows_nbgrader_itself_would_create(course: Course, store: GradeStore) -> None:
    spec = course.assignment(A)
    result = make_result(spec, "newcomer", {"predict": 1.0})
    # The same submission, made through nbgrader's API and scored as `nbgrader autograde` does.
    item_of = {i.grade_id: i.name for i in spec.items} | {q.grade_id: q.item for q in spec.quiz}
    scores = {i.item: i.score for i in result.items}
    with nbgrader_book(course) as gb:
        assert "newcomer" not in {s.id for s in gb.students}
        gb.update_or_create_student("reference")
        sub = gb.update_or_create_submission(A, "reference")
        for snb in sub.notebooks:
            for g in snb.grades:
                g.auto_score = scores[item_of[g.name]]
                g.needs_manual_grade = False
        gb.db.commit()

    store.record_many([result], spec)

    view = nbgrader_view(course)
    ours = {k[1:]: v for k, v in view["grades"].items() if k[0] == "newcomer"}
    theirs = {k[1:]: v for k, v in view["grades"].items() if k[0] == "reference"}
    assert ours == theirs and len(ours) == len(spec.grade_ids())
    notebooks = view["notebooks"]
    assert {k[1:]: v for k, v in notebooks.items() if k[0] == "newcomer"} == {
        k[1:]: v for k, v in notebooks.items() if k[0] == "reference"
    }
    # The same comment rows, with each answer cell's verdict as the auto comment a grader reads.
    comments = view["comments"]
    ours = {k[1:]: v for k, v in comments.items() if k[0] == "newcomer"}
    assert set(ours) == {k[1:] for k in comments if k[0] == "reference"}
    assert ours[A, "softmax"] == ("Passed: full marks.", None)
    assert ours[A, "predict"] == ("predict: message", None)
    assert ours[A, "answer_max_shift"] == ("Passed: full marks.", None)
    assert view["students"]["newcomer"] == view["students"]["reference"] == (None, None, None, None)
    assert view["submissions"]["newcomer"] == view["submissions"]["reference"]
    assert view["comments"]  # solution cells have comment rows, as nbgrader makes them
    mine, ref = view["dicts"]["newcomer"], view["dicts"]["reference"]
    assert {k: v for k, v in mine.items() if k not in ("id", "student")} == {
        k: v for k, v in ref.items() if k not in ("id", "student")
    }
    assert mine["score"] == pytest.approx(result.score) and mine["needs_manual_grade"] is False


def test_record_many_equals_recording_one_by_one(
    course: Course, store: GradeStore, released_template: Path, tmp_path: Path
) -> None:
    spec = course.assignment(A)
    other = second_copy(released_template, tmp_path)
    other_store = GradeStore(other)
    try:
        earlier = make_result(spec, "bea", {"softmax": 0.0})
        batch = [
            make_result(spec, "bea", {"mse": 1.0}),  # already recorded: updated
            make_result(spec, "cy", {"predict": 0.0, "quiz.batch_shape": 0.0}),
            make_result(spec, "dot"),
        ]
        store.record_many([earlier], spec)
        for result in batch:
            store.record_many([result], spec)
        other_store.record_many([earlier], spec)
        other_store.record_many(batch, spec)

        def strip_ids(view: dict[str, Any]) -> dict[str, Any]:
            return {**view, "dicts": {s: {**d, "id": None} for s, d in view["dicts"].items()}}

        one_by_one, together = nbgrader_view(course), nbgrader_view(other)
        assert strip_ids(one_by_one) == strip_ids(together)
        assert set(one_by_one["submissions"]) == {"bea", "cy", "dot"}
        assert journal_view(store) == journal_view(other_store)
        assert store.nbgrader_totals(A) == other_store.nbgrader_totals(A)
        assert store.nbgrader_totals(A) == {r.student_id: pytest.approx(r.score) for r in batch}
    finally:
        other_store.close()


def test_a_student_given_twice_in_one_batch_keeps_the_later_result(course: Course, store: GradeStore) -> None:
    spec = course.assignment(A)
    store.record_many([make_result(spec, "eve", {"mse": 0.0}), make_result(spec, "eve", {"mse": 2.0})], spec)
    assert store.nbgrader_totals(A) == {"eve": spec.max_points}
    assert len(store.runs(A)) == 1


def test_the_journal_holds_items_cells_and_the_run_and_rerecord_replaces_them(
    course: Course, store: GradeStore
) -> None:
    spec = course.assignment(A)
    first = make_result(spec, "fay", {"softmax": 1.0})
    store.record_many([first], spec)
    view = journal_view(store)
    assert [r["item"] for r in view["items"]] == spec.item_names()
    row = view["items"][0]
    assert row == {
        "student": "fay",
        "assignment": A,
        "item": "softmax",
        "position": 0,
        "score": 1.0,
        "max_score": 3.0,
        "status": "failed",
        "diagnosis": "other",
        "message": "softmax: message",
        "duration_s": 0.25,
        "failing_input": "",
        # nbgrader's view of the same grade: no person has touched it
        "auto_score": 1.0,
        "manual_score": None,
        "extra_credit": None,
        "needs_manual_grade": False,
    }
    grade_ids = list(spec.grade_ids())
    cells = {r["grade_id"]: (r["nbgrader_score"], r["ok"], r["error"]) for r in view["cells"]}
    assert cells == {
        grade_ids[0]: (3.0, True, ""),
        grade_ids[1]: (0.0, False, "AssertionError: wrong shape"),
        grade_ids[2]: (0.0, False, "cell did not run"),
    }
    assert view["runs"] == [
        {
            "student": "fay",
            "assignment": A,
            "notebook_sha256": first.notebook_sha256,
            "suite_sha256": spec.suite_sha256,
            "status": "graded",
            "message": "",
            "duration_s": 1.5,
        }
    ]

    shorter = GradeResult("fay", A, "1" * 64, spec.suite_sha256, first.items[:2], status="error", message="x")
    store.record_many([shorter], spec)
    view = journal_view(store)
    assert [r["item"] for r in view["items"]] == spec.item_names()[:2]
    assert view["cells"] == []
    assert [(r["notebook_sha256"], r["status"], r["message"]) for r in view["runs"]] == [
        ("1" * 64, "error", "x")
    ]
    # Items the result does not name score zero in nbgrader, as before.
    assert store.nbgrader_totals(A) == {"fay": pytest.approx(shorter.score)}


def test_a_manual_score_still_wins_and_still_needs_review_after_a_regrade(
    course: Course, store: GradeStore
) -> None:
    spec = course.assignment(A)
    store.record_many([make_result(spec, "gil", {"mse": 0.0})], spec)
    with nbgrader_book(course) as gb:
        (name,) = [nb.name for nb in gb.find_assignment(A).notebooks]
        grade = gb.find_grade("test_mse", name, A, "gil")
        grade.manual_score = 1.0
        grade.needs_manual_grade = False  # what the formgrader does when a grader saves a score
        gb.db.commit()
    store.record_many([make_result(spec, "gil", {"mse": 2.0})], spec)
    with nbgrader_book(course) as gb:
        grade = gb.find_grade("test_mse", name, A, "gil")
        assert (grade.auto_score, grade.manual_score, grade.score) == (2.0, 1.0, 1.0)
        assert grade.needs_manual_grade is True  # nbgrader autograde's rule: a grader looks again
    assert store.nbgrader_totals(A) == {"gil": spec.max_points - 1.0}


def give_manual_score(course: Course, student: str, grade_id: str, score: float) -> None:
    """What formgrader does when a grader saves a score."""
    with nbgrader_book(course) as gb:
        (name,) = [nb.name for nb in gb.find_assignment(A).notebooks]
        grade = gb.find_grade(grade_id, name, A, student)
        grade.manual_score = score
        grade.needs_manual_grade = False
        gb.db.commit()


def test_item_rows_score_is_nbgraders_manual_score_where_a_grader_gave_one(
    course: Course, store: GradeStore
) -> None:
    spec = course.assignment(A)
    store.record_many([make_result(spec, "ivy", {"softmax": 0.0})], spec)
    give_manual_score(course, "ivy", "test_softmax", 2.5)
    rows = {r["item"]: r for r in store.item_rows(A)}
    assert (rows["softmax"]["score"], rows["softmax"]["auto_score"], rows["softmax"]["manual_score"]) == (
        2.5,
        0.0,
        2.5,
    )
    assert rows["mse"]["manual_score"] is None and rows["mse"]["score"] == rows["mse"]["auto_score"]
    # A regrade keeps the grader's score, and nbgrader asks for another look.
    store.record_many([make_result(spec, "ivy", {"softmax": 1.0})], spec)
    rows = {r["item"]: r for r in store.item_rows(A)}
    assert (rows["softmax"]["score"], rows["softmax"]["auto_score"]) == (2.5, 1.0)
    assert rows["softmax"]["needs_manual_grade"] is True
    assert sum(r["score"] for r in rows.values()) == pytest.approx(store.nbgrader_totals(A)["ivy"])


def test_timestamps_are_stored_as_nbgrader_stores_them_and_a_regrade_updates_them(
    course: Course, store: GradeStore
) -> None:
    spec = course.assignment(A)
    first = datetime(2026, 12, 1, 9, 30)
    store.record_many([make_result(spec, "jo")], spec, timestamps={"jo": first})
    assert nbgrader_view(course)["submissions"]["jo"] == (first, None)
    later = datetime(2026, 12, 2, 9, 30)
    store.record_many([make_result(spec, "jo")], spec, timestamps={"jo": later})
    assert nbgrader_view(course)["submissions"]["jo"] == (later, None)


def test_late_penalties_follow_the_policy_nbgraders_due_date_and_extensions(
    course: Course, store: GradeStore
) -> None:
    spec = replace(course.assignment(A), late=LatePolicy(method="per_day", per_day_percent=10, max_percent=30))
    due = datetime(2026, 12, 1, 12, 0)
    with nbgrader_book(course) as gb:
        gb.update_or_create_assignment(A, duedate=due)
    stamps = {
        "ontime": due - timedelta(minutes=5),
        "day": due + timedelta(hours=3),  # a started day: 10 % of 18 points
        "week": due + timedelta(days=7),  # capped at 30 %
        "ext": due + timedelta(days=2),  # two days' extension: on time
        "none": None,  # no timestamp.txt: never late
    }
    store.record_many([make_result(spec, s) for s in stamps], spec, timestamps=stamps)
    with nbgrader_book(course) as gb:
        gb.grant_extension(A, "ext", days=2)
    assert store.apply_late_penalties(spec) == 2
    assert store.apply_late_penalties(spec) == 0  # nothing changed since
    subs = store.submissions(spec)
    assert {s: (r.is_late, r.late_penalty) for s, r in subs.items()} == {
        "ontime": (False, 0.0),
        "day": (True, pytest.approx(1.8)),
        "week": (True, pytest.approx(5.4)),
        "ext": (False, 0.0),
        "none": (False, 0.0),
    }
    assert subs["day"].seconds_late == 3 * 3600 and subs["day"].due == due
    assert subs["ext"].due == due + timedelta(days=2)
    with nbgrader_book(course) as gb:  # nbgrader's own totals (what `nbgrader export` prints) agree
        for d in gb.submission_dicts(A):
            late = gb.find_submission(A, d["student"])
            assert late.late_submission_penalty == pytest.approx(subs[d["student"]].late_penalty)
            assert late.score - late.late_submission_penalty == pytest.approx(subs[d["student"]].score)


def test_zero_policy_takes_a_manual_score_given_after_grading_too(course: Course, store: GradeStore) -> None:
    spec = replace(course.assignment(A), late=LatePolicy(method="zero", due=datetime(2026, 12, 1)))
    store.record_many(
        [make_result(spec, "kim", {"softmax": 0.0})], spec, timestamps={"kim": datetime(2026, 12, 3)}
    )
    store.apply_late_penalties(spec)
    assert store.submissions(spec)["kim"].score == 0.0
    give_manual_score(course, "kim", "test_softmax", 3.0)
    store.apply_late_penalties(spec)
    kim = store.submissions(spec)["kim"]
    assert (kim.raw_score, kim.late_penalty, kim.score) == (spec.max_points, spec.max_points, 0.0)
    with nbgrader_book(course) as gb:  # the due date from assignment.toml is nbgrader's too
        assert gb.find_assignment(A).duedate == datetime(2026, 12, 1)


def test_a_new_gradebook_is_stamped_with_nbgraders_alembic_head_without_the_alembic_command(
    tmp_path: Path, course: Course, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nbgrader.api import get_alembic_version

    nbgrader_head = get_alembic_version()  # nbgrader's way: the `alembic` command (on PATH here)
    monkeypatch.setenv("PATH", "/nonexistent")
    fresh = replace(course, db_url=f"sqlite:///{tmp_path / 'fresh.db'}")
    GradeStore(fresh).close()
    engine = sa.create_engine(fresh.db_url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one() == nbgrader_head
    engine.dispose()
    with nbgrader_book(fresh) as gb:  # nbgrader opens it as one of its own
        assert gb.assignments == []


def test_a_grade_row_missing_from_an_existing_submission_is_made_again(
    course: Course, store: GradeStore
) -> None:
    spec = course.assignment(A)
    store.record_many([make_result(spec, "hal")], spec)
    with store.engine.begin() as conn:
        conn.execute(
            sa.text("DELETE FROM grade WHERE cell_id IN (SELECT id FROM base_cell WHERE name = 'test_mse')")
        )
    assert store.nbgrader_totals(A) == {"hal": spec.max_points - 2.0}
    store.record_many([make_result(spec, "hal")], spec)
    assert store.nbgrader_totals(A) == {"hal": spec.max_points}
    assert len(nbgrader_view(course)["grades"]) == len(spec.grade_ids())


def test_a_failed_journal_write_leaves_nbgrader_untouched_too(
    course: Course, store: GradeStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = course.assignment(A)

    def crash(conn: sa.Connection, results: list[GradeResult]) -> None:
        raise RuntimeError("killed mid-record")

    monkeypatch.setattr(gradebook, "_record_journal", crash)
    with pytest.raises(RuntimeError, match="killed mid-record"):
        store.record_many([make_result(spec, "ivy"), make_result(spec, "jo")], spec)
    view = nbgrader_view(course)
    assert view["students"] == {} and view["submissions"] == {} and view["grades"] == {}
    with store.engine.connect() as conn:
        for table in (items_table, cells_table, runs_table):
            assert conn.execute(sa.select(sa.func.count()).select_from(table)).scalar() == 0


def test_an_unreleased_assignment_is_a_course_error(course: Course, store: GradeStore) -> None:
    spec = course.assignment("ps1-neurons")
    with pytest.raises(CourseError) as caught:
        store.record_many([make_result(spec, "kim")], spec)
    assert str(caught.value) == (
        f"ps1-neurons is not in the gradebook ({course.db_url}); run `autograder release ps1-neurons` first."
    )
    assert store.runs("ps1-neurons") == {}


def test_results_of_another_assignment_are_refused(course: Course, store: GradeStore) -> None:
    spec = course.assignment(A)
    stray = make_result(course.assignment("ps1-neurons"), "lee")
    with pytest.raises(ValueError, match="results of ps1-neurons recorded with the spec of ps4-softmax"):
        store.record_many([make_result(spec, "max"), stray], spec)
    assert store.runs(A) == {}


def test_recording_nothing_writes_nothing(course: Course, store: GradeStore) -> None:
    store.record_many([], course.assignment(A))
    assert store.runs(A) == {} and store.nbgrader_totals(A) == {}


@pytest.mark.parametrize("table", sorted(nbgrader_rows.metadata.tables.values(), key=lambda t: t.name))
def test_the_spelled_out_tables_are_nbgraders(table):
    """nbgrader_rows writes nbgrader's tables without importing nbgrader: every column it names
    has nbgrader's name, type, nullability, key and Python-side default."""
    from nbgrader import api as nb

    theirs = {t.name: t for m in nb.Base.registry.mappers for t in m.tables}[table.name]
    for column in table.columns:
        other = theirs.columns[column.name]
        assert type(column.type) is type(other.type) or isinstance(other.type, type(column.type))
        assert getattr(column.type, "length", None) == getattr(other.type, "length", None)
        assert (column.nullable, column.primary_key) == (other.nullable, other.primary_key)
        mine = column.default.arg if column.default is not None else None
        want = other.default.arg if other.default is not None else None
        if callable(want):  # SQLAlchemy wraps both to take an execution context
            assert callable(mine) and len(mine(None)) == len(want(None)) == 32
        else:
            assert mine == want
        assert {f.target_fullname for f in column.foreign_keys} == {
            f.target_fullname for f in other.foreign_keys
        }
    inserted = {"student", "submitted_assignment", "submitted_notebook", "grade", "comment"}
    for name, other in theirs.columns.items():  # a column we do not write must need no value
        if table.name in inserted and name not in table.columns:
            assert other.nullable or other.default is not None or other.primary_key, name
