"""Quiz keys: the notebook carries hashes, the judge checks against the bank."""

from __future__ import annotations

import pytest

from autograder import selfcheck
from autograder.course.layout import QuizQuestion
from autograder.judge.quiz import grade_answer, is_correct, notebook_key

CHOICE = QuizQuestion("max_shift", "choice", 1, "Why?", "b", hint="Think of exp(1000).")
NUMERIC = QuizQuestion("prob", "numeric", 1, "p?", 0.836, tolerance=0.01)
SHAPE = QuizQuestion("shape", "shape", 1, "shape?", [32, 10])
MULTI = QuizQuestion("facts", "multi", 1, "which?", ["a", "b", "d"])


@pytest.mark.parametrize(
    ("q", "right", "wrong"),
    [
        (CHOICE, " B ", "c"),
        (NUMERIC, 0.84, 0.86),
        (SHAPE, (32, 10), (10, 32)),
        (MULTI, ["d", "a", "b"], ["a", "b"]),
    ],
)
def test_judge_and_self_check_agree(q, right, wrong):
    key = notebook_key(q)
    assert is_correct(q, right) and not is_correct(q, wrong)
    selfcheck.quiz(q.id, right, key)
    with pytest.raises(selfcheck.SelfCheckError, match="not right yet"):
        selfcheck.quiz(q.id, wrong, key)


def test_key_does_not_contain_the_answer():
    assert "0.836" not in notebook_key(NUMERIC)
    assert notebook_key(CHOICE) != notebook_key(QuizQuestion("other", "choice", 1, "", "b"))


def test_unanswered_question_is_missing_and_a_wrong_one_gets_the_hint_not_the_key():
    assert grade_answer(CHOICE, Ellipsis, found=True).status == "missing"
    r = grade_answer(CHOICE, "c", found=True)
    assert r.status == "failed" and "exp(1000)" in r.message and "'b'" not in r.message
