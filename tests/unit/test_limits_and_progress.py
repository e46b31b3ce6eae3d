"""Limits calibrated from the reference, and what `grade` shows while it waits."""

from __future__ import annotations

import time
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from autograder import batch
from autograder.cli import _ProgressLine
from autograder.judge.limits import CallLimits, LimitPolicy, cell_limits, shape_key
from autograder.models import GradeResult, ItemResult
from autograder.store import scores
from autograder.views import tables

POLICY = LimitPolicy(multiple=50.0, call_floor_s=2.0, cell_floor_s=3.0)


def test_a_call_limit_is_a_multiple_of_the_reference_time_within_floor_and_ceiling():
    assert POLICY.call_limit(0.0001, ceiling_s=10.0) == 2.0  # floor
    assert POLICY.call_limit(0.1, ceiling_s=10.0) == pytest.approx(5.0)  # 50 x
    assert POLICY.call_limit(1.0, ceiling_s=10.0) == 10.0  # ceiling
    assert POLICY.call_limit(None, ceiling_s=10.0) == 10.0  # no reference: the ceiling


def _softmax_spec() -> SimpleNamespace:
    """An assignment of one item, softmax, with a 20 s call ceiling and the usual limit policy."""
    return SimpleNamespace(
        items=[SimpleNamespace(name="softmax", call_timeout_s=20.0)],
        limit_multiple=50.0,
        call_floor_s=2.0,
        cell_floor_s=3.0,
    )


def test_the_reference_is_timed_once_per_function_and_shape_not_per_value():
    timed: list[tuple[str, object]] = []

    def fake(name, args, kwargs):
        timed.append((name, args[0].shape))
        return 0.2 if args[0].size > 100 else 0.001

    limits = CallLimits(_softmax_spec(), fake)  # type: ignore[arg-type]
    assert limits.limit("softmax", (np.zeros(3),), {}) == 2.0
    assert limits.limit("softmax", (np.ones(3),), {}) == 2.0
    assert limits.limit("softmax", (np.zeros((100, 10)),), {"axis": 0}) == pytest.approx(10.0)
    assert timed == [("softmax", (3,)), ("softmax", (100, 10))]


def test_shape_key_keeps_scalars_and_drops_array_values():
    assert shape_key((np.zeros((2, 3)), 5, "float32")) == shape_key((np.ones((2, 3)), 5, "float32"))
    assert shape_key((np.zeros(2), 5)) != shape_key((np.zeros(2), 6))  # steps=5 vs steps=6


def test_cells_get_limits_from_the_source_solution_by_grade_id_or_text():
    reference = {"softmax": 0.01, "test_softmax": 0.2, ("source", "x = 1"): 0.001}
    cells = [
        (0, "x = 1", None),
        (1, "def softmax(z): ...", "softmax"),
        (2, "...", "test_softmax"),
        (3, "own", None),
    ]
    assert cell_limits(POLICY, 20.0, reference, cells) == {0: 3.0, 1: 3.0, 2: pytest.approx(10.0), 3: 20.0}


def _result(student: str, *statuses: str) -> GradeResult:
    items = tuple(ItemResult(f"f{n}", 1.0 if s == "passed" else 0.0, 1.0, s) for n, s in enumerate(statuses))  # type: ignore[arg-type]
    return GradeResult(student, "a", "", "", items)


def test_an_outcome_names_points_and_what_timed_out():
    assert batch.outcome_text(_result("ada", "passed", "timeout")) == "1/2 points, timed out: f1"
    assert batch.outcome_text(_result("bob", "passed", "passed")) == "2/2 points"


def test_the_students_in_flight_are_the_first_not_yet_returned_in_queue_order():
    flight = batch._InFlight(["a", "b", "c", "d"], judges=2)
    assert [s for s, _ in flight.waiting()] == ["a", "b"]
    flight.done("b")  # b's judge takes c
    time.sleep(0.01)
    waiting = dict(flight.waiting())
    assert set(waiting) == {"a", "c"} and waiting["a"] > waiting["c"]
    flight.done("a")
    flight.done("c")
    flight.done("d")
    assert flight.waiting() == ()


def test_progress_names_a_slow_student_and_how_long_it_has_waited(capsys):
    line = _ProgressLine(False)
    line.tty = False
    line(batch.Progress(3, 10, "", 30.0, waiting=(("alice", 14.2), ("bob", 6.0), ("carol", 1.0))))
    err = capsys.readouterr().err
    assert err == "graded 3/10, ETA 70s  waiting on alice (14 s) and 1 more\n"


def test_progress_before_the_first_result_says_the_eta_is_unknown(capsys):
    line = _ProgressLine(False, prefix="ps1: ")
    line.tty = False
    line(batch.Progress(0, 10, "", 3.0))
    assert capsys.readouterr().err == "ps1: graded 0/10, ETA ?\n"


class _Store:
    """Just the journal rows `run_table` reads."""

    def item_rows(self, assignment_id):
        return [
            {"student": "ada", "item": "f", "score": 2.0, "max_score": 2.0, "status": "passed"},
            {"student": "ada", "item": "g", "score": 0.0, "max_score": 1.0, "status": "timeout"},
            {"student": "bob", "item": "f", "score": 1.0, "max_score": 2.0, "status": "partial"},
            {"student": "bob", "item": "g", "score": 1.0, "max_score": 1.0, "status": "passed"},
        ]

    def run_rows(self, assignment_id):
        return [
            {"student": "ada", "status": "graded", "duration_s": 7.25, "graded_at": 0.0},
            {"student": "bob", "status": "graded", "duration_s": 0.5, "graded_at": 0.0},
        ]


def test_runs_csv_has_a_row_a_student_with_time_score_and_what_timed_out(tmp_path):
    course = SimpleNamespace(reports_dir=tmp_path)
    path = scores.write_runs_csv(course, _Store(), "a")  # type: ignore[arg-type]
    assert path == tmp_path / "a" / "runs.csv"
    assert path.read_text().splitlines() == [
        "student,assignment,score,max_score,status,duration_s,timeouts,graded_at",
        "ada,a,2.0,3.0,graded,7.25,g,1970-01-01T00:00:00+00:00",
        "bob,a,2.0,3.0,graded,0.5,,1970-01-01T00:00:00+00:00",
    ]


def test_the_report_lists_the_slowest_students_first():
    runs = pd.DataFrame(scores.run_table(_Store(), "a"))  # type: ignore[arg-type]
    slowest = tables.slowest_students(runs)
    assert list(slowest["student"]) == ["ada", "bob"]
    assert list(slowest.columns) == ["student", "duration_s", "score", "max_score", "status", "timeouts"]
    assert slowest.loc[0, "timeouts"] == "g"


def test_a_plans_limits_are_each_calls_limit_worked_out_once_for_every_student():
    from autograder.judge.proxy import CallPlan

    timed: list[tuple[int, ...]] = []

    def fake(name, args, kwargs):
        timed.append(args[0].shape)
        return 0.2 if args[0].size > 100 else 0.001

    limits = CallLimits(_softmax_spec(), fake)  # type: ignore[arg-type]
    plan = CallPlan.of([("softmax", (np.zeros(3),), {}), ("softmax", (np.zeros((100, 10)),), {"axis": 0})])
    assert limits.planned(plan) == (2.0, pytest.approx(10.0))
    assert limits.planned(plan) == (2.0, pytest.approx(10.0))  # the second student: remembered
    assert timed == [(3,), (100, 10)]
    other = CallPlan.of([("softmax", (np.zeros(3),), {})])  # another plan: its own entry, no new timing
    assert limits.planned(other) == (2.0,)
    assert timed == [(3,), (100, 10)]
