"""Quiz answers: one rule (selfcheck.answers) for the judge and the self-check; answers read from
the notebook's text."""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from autograder import selfcheck
from autograder.course.layout import QuizQuestion
from autograder.judge.quiz import grade_answer, grade_quiz, is_correct, notebook_key
from autograder.selfcheck import answers

CHOICE = QuizQuestion("max_shift", "choice", 1, "Why?", "b", hint="Think of exp(1000).", choices=("x", "y", "z"))
NUMERIC = QuizQuestion("prob", "numeric", 1, "p?", 0.836, tolerance=0.01)
GD_STEP = QuizQuestion("gd_step", "numeric", 1, "w?", 1.0, tolerance=0.01)
EXACT = QuizQuestion("count", "numeric", 1, "how many?", 612)
SHAPE = QuizQuestion("shape", "shape", 1, "shape?", [32, 10])
MULTI = QuizQuestion("lr_too_large", "multi", 1, "which?", ["a", "b", "d"], choices=("p", "q", "r", "s"))


def self_check_says_right(q: QuizQuestion, answer: object) -> bool:
    """What the notebook's quiz cell says, with only the opaque key."""
    try:
        selfcheck.quiz(q.id, answer, notebook_key(q))
    except selfcheck.SelfCheckError:
        return False
    return True


@pytest.mark.parametrize(
    ("q", "right", "wrong"),
    [
        (CHOICE, " B ", "c"),
        (CHOICE, "(b)", "a"),
        (NUMERIC, 0.84, 0.86),
        (EXACT, 612.0, 613),
        (SHAPE, (32, 10), (10, 32)),
        (SHAPE, "32x10", [32, 10, 1]),
        (MULTI, ["d", "a", "b"], ["a", "b"]),
        (MULTI, "abd", "ab"),
        (MULTI, "a, b, d", "a, b, c"),
    ],
)
def test_judge_and_self_check_agree_on_each_kind(q, right, wrong):
    assert is_correct(q, right) and not is_correct(q, wrong)
    assert self_check_says_right(q, right) and not self_check_says_right(q, wrong)


def test_gd_step_just_outside_the_tolerance_is_wrong_on_both_sides():
    # Issue #16: the self-check said right to 0.9895 and 1.0105 while the judge gave 0.
    for answer in (0.9895, 1.0105, 0.98, 1.02):
        assert not is_correct(GD_STEP, answer)
        assert not self_check_says_right(GD_STEP, answer)
    for answer in (0.9905, 1.0, 1.0094, "1.0"):
        assert is_correct(GD_STEP, answer) and self_check_says_right(GD_STEP, answer)


def test_multi_spellings_the_judge_accepts_the_self_check_accepts():
    for spelling in ("abd", "a, b, d", "a b d", "A,B,D", ["a", "b", "d"], ("d", "b", "a"), {"a", "b", "d"}):
        assert is_correct(MULTI, spelling), spelling
        assert self_check_says_right(MULTI, spelling), spelling


LETTERS = st.sampled_from("abcde")
SPELLED_LETTERS = st.lists(LETTERS, min_size=1, max_size=5).flatmap(
    lambda xs: st.sampled_from(
        ["".join(xs), ", ".join(xs), " ".join(xs).upper(), xs, tuple(xs), set(xs), f"({xs[0]})", f" {xs[0]} "]
    )
)
KEY_NUMBERS = st.one_of(
    st.sampled_from([0.0, 0.5, 1.0, 0.836, 1.386, 612.0, -3.25]),
    st.floats(-1e4, 1e4, allow_nan=False),
)
TOLERANCES = st.sampled_from([0.0, 0.01, 0.001, 0.05, 0.5, 1e-6])


@st.composite
def question_and_answer(draw: st.DrawFn) -> tuple[QuizQuestion, object]:
    kind = draw(st.sampled_from(answers.KINDS))
    if kind == "choice":
        q = QuizQuestion("q_choice", kind, 1, "", draw(LETTERS))
        answer: object = draw(st.one_of(SPELLED_LETTERS, st.integers(), st.none(), st.just(...)))
    elif kind == "multi":
        q = QuizQuestion("q_multi", kind, 1, "", sorted(draw(st.sets(LETTERS, min_size=1))))
        answer = draw(st.one_of(SPELLED_LETTERS, st.just("a;b"), st.lists(st.integers(), max_size=2)))
    elif kind == "shape":
        dims = draw(st.lists(st.integers(0, 300), max_size=4))
        q = QuizQuestion("q_shape", kind, 1, "", dims)
        near = draw(st.lists(st.integers(0, 300), max_size=4))
        answer = draw(
            st.sampled_from(
                [tuple(dims), list(dims), "x".join(map(str, dims)), str(tuple(dims)), tuple(near),
                 tuple(float(d) for d in dims), tuple(reversed(dims)), [True] * len(dims)]
            )
        )
    else:
        key = draw(KEY_NUMBERS)
        tol = draw(TOLERANCES)
        q = QuizQuestion("q_numeric", kind, 1, "", key, tolerance=tol)
        # Answers at the edges of the tolerance, both sides, and beside them; spelled several ways.
        offset = draw(st.sampled_from([0.0, 1.0, -1.0, 0.95, -0.95, 1.05, -1.05, 0.999, 1.001, 2.0, 0.5]))
        value = key + offset * (tol or 1.0) + draw(st.floats(-1e-9, 1e-9))
        answer = draw(st.sampled_from([value, str(value), int(value) if value.is_integer() else value, True]))
    return q, answer


@settings(max_examples=400, deadline=None)
@given(question_and_answer())
@example((GD_STEP, 0.9895))
@example((GD_STEP, 1.0105))
@example((MULTI, "abd"))
@example((MULTI, "a, b, d"))
def test_whatever_the_judge_accepts_the_self_check_accepts(case):
    q, answer = case
    assert is_correct(q, answer) == self_check_says_right(q, answer)


@settings(max_examples=200, deadline=None)
@given(KEY_NUMBERS, st.sampled_from([0.01, 0.001, 0.05, 0.5]), st.floats(-3, 3))
def test_numeric_answers_within_095_of_the_tolerance_are_right_and_beyond_105_wrong(key, tol, offset):
    q = QuizQuestion("n", "numeric", 1, "", key, tolerance=tol)
    answer = key + offset * tol
    if abs(offset) <= 0.95:
        assert is_correct(q, answer)
    elif abs(offset) >= 1.05:
        assert not is_correct(q, answer)


def test_key_does_not_contain_the_answer():
    assert "0.836" not in notebook_key(NUMERIC)
    assert notebook_key(CHOICE) != notebook_key(QuizQuestion("other", "choice", 1, "", "b"))
    assert re.fullmatch(r"choice:[0-9a-f]{20}", notebook_key(CHOICE))


def test_an_old_key_asks_the_student_to_download_the_notebook_again():
    with pytest.raises(selfcheck.SelfCheckError, match="download the assignment's notebook again"):
        selfcheck.quiz("max_shift", "b", "c2ca9f9f986b116bf934")


def test_a_wrong_choice_quotes_the_options_text():
    with pytest.raises(selfcheck.SelfCheckError) as info:
        selfcheck.quiz("max_shift", "c", notebook_key(CHOICE), hint="Think.", choices=CHOICE.choices)
    assert str(info.value) == "quiz max_shift: 'c' (c: \u201cz\u201d) is not right yet. Think."
    with pytest.raises(selfcheck.SelfCheckError) as info:
        selfcheck.quiz(MULTI.id, "ab", notebook_key(MULTI), choices=MULTI.choices)
    assert str(info.value) == "quiz lr_too_large: 'ab' (a: \u201cp\u201d; b: \u201cq\u201d) is not right yet."


def test_a_quiz_cell_points_out_an_answer_the_grader_cannot_read():
    namespace = {"In": ["", "answer_gd_step = 0.5 + 0.5", 'quiz("gd_step", answer_gd_step, key=KEY)'],
                 "quiz": selfcheck.quiz, "KEY": notebook_key(GD_STEP), "answer_gd_step": 1.0}
    with pytest.raises(selfcheck.SelfCheckError) as info:
        exec('quiz("gd_step", answer_gd_step, key=KEY)', namespace)
    assert str(info.value) == (
        "quiz gd_step: answer_gd_step = 0.5 + 0.5 is not a plain value; write the answer itself "
        "(a number, a letter in quotes, a list or tuple of them); the grader reads only that."
    )


def test_unanswered_question_is_missing_and_a_wrong_one_gets_the_hint_not_the_key():
    assert grade_answer(CHOICE, Ellipsis, found=True).status == "missing"
    r = grade_answer(CHOICE, "c", found=True)
    assert r.status == "failed" and "exp(1000)" in r.message and "'b'" not in r.message
    assert r.message == "quiz.max_shift: 'c' (c: \u201cz\u201d) is not right. Hint: Think of exp(1000)."
    (r,) = grade_quiz(cells("answer_gd_step = 2.0"), [GD_STEP])
    assert r.message == "quiz.gd_step: 2.0 is not right."


# --- answers read from the notebook's text --------------------------------------------------


def cells(*sources: str) -> list[str]:
    return list(sources)


def test_answers_are_read_from_the_cells_text_whatever_the_code_did():
    nb = cells(
        "import os\nos._exit(1)",
        "def train():\n    while True:\n        pass\ntrain()",
        "answer_gd_step = ...",
        "%matplotlib inline\nanswer_gd_step = 1.0  # my answer",
        'answer_lr_too_large = "a, b, d"',
    )
    got = grade_quiz(nb, [GD_STEP, MULTI])
    assert [(r.item, r.status, r.score) for r in got] == [
        ("quiz.gd_step", "passed", 1),
        ("quiz.lr_too_large", "passed", 1),
    ]


def test_an_answer_that_is_not_a_literal_says_so():
    (r,) = grade_quiz(cells("w = 1.0\nanswer_gd_step = w * 1.0"), [GD_STEP])
    assert (r.status, r.diagnosis, r.score) == ("error", "error", 0)
    assert r.message == (
        "quiz.gd_step: answer_gd_step = w * 1.0 is not a plain value; write the answer itself "
        "(a number, a letter in quotes, a list or tuple of them)."
    )


def test_an_unanswered_or_absent_answer_is_missing():
    got = grade_quiz(cells("answer_gd_step = ..."), [GD_STEP, MULTI])
    assert [r.status for r in got] == ["missing", "missing"]
    assert got[0].message == "quiz.gd_step: no answer in answer_gd_step. Replace the ... with yours."


def test_an_answer_in_a_cell_that_is_not_valid_python_still_counts():
    (r,) = grade_quiz(cells("def f(:\nanswer_gd_step = 1.0"), [GD_STEP])
    assert r.status == "passed"


def test_a_numeric_key_is_twenty_grid_cells_whatever_its_size():
    for key in (0.0, 0.836, -3.25, 612.0, 1e9):
        assert len(answers.accepted_tokens("numeric", key, tolerance=0.01)) == 20


IPYTHON_SESSION = """
from IPython.core.interactiveshell import InteractiveShell
ip = InteractiveShell.instance()
cells = [
    "from autograder.selfcheck import check, quiz, quiz_key",
    "answer_x = 'c'",
    "quiz('x', answer_x, key=quiz_key('x', 'b'), hint='Think.', choices=['p', 'q', 'r'])",
    "check('softmax', path='/nonexistent/selfcheck.json')",
]
for cell in cells:
    result = ip.run_cell(cell, store_history=True)
    print("->", type(result.error_in_exec).__name__, flush=True)
"""


def test_a_failed_quiz_cell_shows_its_message_not_a_traceback_and_check_shows_no_repr():
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", IPYTHON_SESSION], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines() == [
        "-> NoneType",
        "-> NoneType",
        "SelfCheckError: quiz x: 'c' (c: \u201cr\u201d) is not right yet. Think.",
        "-> SelfCheckError",
        "no selfcheck.json found (/nonexistent/selfcheck.json); keep it in the folder of the notebook, "
        "as it came with the assignment.",
        # A terminal prints the bare prompt; Jupyter's display hook sends nothing for no data.
        "Out[4]: -> NoneType",
    ]
