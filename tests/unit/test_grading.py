"""The grading rules in grading.py, one test per rule."""

from __future__ import annotations

from autograder.course.layout import ItemSpec, Misconceptions
from autograder.judge.grading import CheckOutcome, grade_item

SPEC = ItemSpec("softmax", points=3)
CAT = Misconceptions({"softmax.wrong_axis": ("normalising along the wrong axis", "Sum along `axis`.")})


def ok(weight=1.0):
    return CheckOutcome("softmax", True, weight)


def bad(diagnosis, kind="misconception", weight=1.0, message="softmax(z) for z = [1]: returned 2."):
    return CheckOutcome("softmax", False, weight, kind, diagnosis, message)


def test_all_checks_passed_is_full_marks_with_no_diagnosis():
    r = grade_item(SPEC, [ok(), ok(2)], CAT)
    assert (r.score, r.status, r.diagnosis, r.message) == (3, "passed", "", "")


def test_score_is_points_times_the_weighted_share_passed():
    r = grade_item(SPEC, [ok(2), bad("softmax.wrong_axis")], CAT)
    assert r.score == 2 and r.status == "partial" and r.diagnosis == "softmax.wrong_axis"


def test_message_names_the_misconception_and_gives_its_hint():
    r = grade_item(SPEC, [bad("softmax.wrong_axis")], CAT)
    assert r.message == (
        "softmax(z) for z = [1]: returned 2. This looks like normalising along the wrong axis "
        "(softmax.wrong_axis). Hint: Sum along `axis`."
    )


def test_most_frequent_specific_diagnosis_wins_over_other():
    r = grade_item(SPEC, [bad("other"), bad("softmax.wrong_axis"), bad("softmax.wrong_axis")], CAT)
    assert r.diagnosis == "softmax.wrong_axis" and r.status == "failed"


def test_missing_function_scores_zero_even_if_a_check_passed():
    r = grade_item(SPEC, [ok(), bad("missing", kind="missing")], CAT)
    assert (r.score, r.status, r.diagnosis) == (0, "missing", "missing")


def test_only_student_exceptions_is_status_error():
    r = grade_item(SPEC, [bad("error", kind="error")], CAT)
    assert (r.status, r.diagnosis) == ("error", "error")


def test_timeout_without_any_pass_is_status_timeout():
    r = grade_item(SPEC, [bad("timeout", kind="timeout"), bad("other")], CAT)
    assert (r.status, r.diagnosis) == ("timeout", "timeout")
    r = grade_item(SPEC, [bad("timeout", kind="timeout"), bad("softmax.wrong_axis")], CAT)
    assert (r.status, r.diagnosis) == ("timeout", "softmax.wrong_axis")


def test_an_item_without_checks_is_an_error_not_free_points():
    r = grade_item(SPEC, [], CAT)
    assert r.score == 0 and r.status == "error"
