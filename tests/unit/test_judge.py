"""The judge's run loop on the in-process launcher: no fork, no jail, the real suite.

Each test grades ps4 submissions with `batch.grade(..., launcher=in_process)`, one judge in
this process, so what is checked is the judge (checks, outcomes, rows), not the jail.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes import InProcessLauncher, in_process
from hypothesis.configuration import storage_directory

from autograder import batch
from autograder.judge import checks, results
from autograder.judge import runner as judge
from autograder.sandbox import client as sandbox

A = "ps4-softmax"


def grade(course, **kwargs):
    return {r.student_id: r for r in batch.grade(course, A, workers=1, launcher=in_process, **kwargs).results}


def test_the_solution_scores_full_marks_and_the_stub_nothing(course, submit):
    submit("ada")
    submit("bob", stub=True)
    rows = grade(course)
    ada, bob = rows["ada"], rows["bob"]
    assert ada.status == bob.status == "graded"
    assert ada.score == ada.max_score > 0
    assert all(i.status == "passed" and i.diagnosis == "" for i in ada.items)
    assert bob.score == 0
    functions = [i for i in bob.items if not i.item.startswith("quiz.")]
    assert {i.status for i in functions} == {"missing"}
    softmax = next(i for i in functions if i.item == "softmax")
    assert softmax.message == "softmax: not written yet (no function softmax, or still the stub)."


def test_a_wrong_answer_is_named_by_its_misconception(course, submit):
    no_shift = "import numpy as np\ndef softmax(z, axis=-1):\n    e = np.exp(z)\n    return e / e.sum(axis=axis, keepdims=True)\n"
    submit("cy", {"softmax": no_shift})
    row = grade(course)["cy"]
    softmax = next(i for i in row.items if i.item == "softmax")
    assert softmax.status in ("failed", "partial")
    assert softmax.diagnosis == "softmax.no_max_shift"
    assert "softmax(" in softmax.message  # names the input that broke it
    others = [i for i in row.items if i.item not in ("softmax", "predict", "cross_entropy")]
    assert all(i.status == "passed" for i in others)


def assert_only_bobs_row_is_lost(course) -> None:
    """Grade ada, bob and cy with one judge: bob's row is an internal error, the others full marks."""
    rows = grade(course)
    assert sorted(rows) == ["ada", "bob", "cy"]
    assert rows["bob"].status == "error" and rows["bob"].message == results.INTERNAL_ERROR
    for other in ("ada", "cy"):
        assert rows[other].status == "graded" and rows[other].score == rows[other].max_score


def test_a_grader_bug_finishing_one_notebook_costs_only_that_row(course, submit, monkeypatch):
    for student in ("ada", "bob", "cy"):
        submit(student)
    finish = judge.JudgePlugin._finish

    def broken(self, subject, *args):
        if subject.submission.student_id == "bob":
            raise RuntimeError("a bug in the grader")
        return finish(self, subject, *args)

    monkeypatch.setattr(judge.JudgePlugin, "_finish", broken)
    assert_only_bobs_row_is_lost(course)


def test_a_worker_that_cannot_be_started_costs_only_that_row(course, submit, monkeypatch):
    """A jail that fails (the grader's trouble, not the notebook's) is an error row, never a lost one."""
    for student in ("ada", "bob", "cy"):
        submit(student)
    begin = sandbox.StudentProcess.start
    starts = []

    def second_fails(process):
        starts.append(process)
        if len(starts) == 2:  # bob's: students are graded in order, one judge
            raise RuntimeError("a worker could not be confined: mount: permission denied")
        return begin(process)

    monkeypatch.setattr(sandbox.StudentProcess, "start", second_fails)
    assert_only_bobs_row_is_lost(course)


def test_a_judge_session_that_breaks_mid_batch_is_started_again_for_the_rest(course, submit, monkeypatch):
    """pytest itself failing on one notebook (not a check: the session) costs that row only."""
    for student in ("ada", "bob", "cy"):
        submit(student)
    check = judge.JudgePlugin._check

    def breaks_on_bob(plugin, one, nextitem):
        assert plugin.current is not None
        if plugin.current.submission.student_id == "bob" and one.item is one.item.session.items[0]:
            raise RuntimeError("pytest broke")
        return check(plugin, one, nextitem)

    monkeypatch.setattr(judge.JudgePlugin, "_check", breaks_on_bob)
    assert_only_bobs_row_is_lost(course)


def test_a_notebook_that_ends_its_worker_in_a_cell_keeps_the_points_of_the_other_cells(course, submit):
    """The cell that ended the worker is skipped on restart; the functions defined elsewhere stand."""
    submit("dee", extra_cells=["raise SystemExit('bye')"])
    row = grade(course)["dee"]
    assert row.status == "graded"
    assert row.score == row.max_score


def test_a_check_that_breaks_inside_the_grader_costs_that_item_only(course, submit, monkeypatch):
    submit("ada")
    outcome = checks.outcome

    def internal(item, weight, exc):
        if item == "mse":
            exc = KeyError("the grader's own bug")
        return outcome(item, weight, exc)

    monkeypatch.setattr(checks, "outcome", internal)
    row = grade(course)["ada"]
    mse = next(i for i in row.items if i.item == "mse")
    assert mse.status == "error"
    assert mse.message == (
        "mse: the grader could not finish a check (internal KeyError); your instructor can see the details."
    )
    assert all(i.status == "passed" for i in row.items if i.item != "mse")


def test_the_judge_shares_the_course_covers_and_the_released_cells_with_its_launcher(course, submit, monkeypatch):
    submit("ada")
    launchers: list[InProcessLauncher] = []

    def spy(limits):
        launchers.append(InProcessLauncher(limits))
        return launchers[-1]

    batch.grade(course, A, workers=1, launcher=spy)
    (launcher,) = launchers
    assert launcher.closed
    assert str(course.assignments_dir) in launcher.shared
    assert str(course.source_dir) in launcher.shared
    assert any("def softmax" in source for source in launcher.prepared)  # the released stub
    assert not any("BEGIN HIDDEN" in source for source in launcher.prepared)
    (session,) = launcher.launched
    assert str(course.assignments_dir) in session.spec.hide


@pytest.mark.parametrize("workers", [1, 2])
def test_every_student_is_graded_once_whatever_the_number_of_judges(course, submit, workers):
    for student in ("ada", "bob", "cy", "dee"):
        submit(student, stub=student == "bob")
    summary = batch.grade(course, A, workers=workers, launcher=in_process)
    assert sorted(r.student_id for r in summary.results) == ["ada", "bob", "cy", "dee"]
    assert summary.graded == 4 and summary.errors == 0


def test_grading_leaves_no_hypothesis_folder_in_the_course(course, submit, monkeypatch, tmp_path):
    submit("ada")
    monkeypatch.chdir(course.root)  # where instructors run the grader
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    grade(course)
    assert not (course.root / ".hypothesis").exists()
    home = storage_directory("charmap", intent_to_write=False).home_directory
    assert home == tmp_path / "cache" / "autograder" / "hypothesis"


def test_each_scratch_folder_is_gone_before_the_next_but_one_student_starts(course, submit):
    for student in ("ada", "bob", "cy", "dee"):
        submit(student)
    seen: list[list[bool]] = []

    class Watching(InProcessLauncher):
        def launch(self, cells, scratch, **kwargs):
            # Removal runs in a thread, at most one behind: every folder but the last is gone.
            seen.append([Path(s.spec.scratch).exists() for s in self.launched[:-1]])
            return super().launch(cells, scratch, **kwargs)

    launchers: list[Watching] = []

    def watching(limits):
        launchers.append(Watching(limits))
        return launchers[-1]

    batch.grade(course, A, workers=1, launcher=watching)
    assert seen == [[], [], [False], [False, False]]
    assert not any(Path(s.spec.scratch).exists() for s in launchers[0].launched)
