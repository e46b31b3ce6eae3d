"""Quiz banks: grade a student's answers against the key (trusted side).

The key lives in `assignments/<a>/quiz.toml`; the notebook carries only `notebook_key`, the
hashed form of it. Whether an answer is right is decided by `autograder.selfcheck.answers`, the
rule the student's self-check applies to the hashed key: both sides accept the same answers.
Answers are read from the notebook's text (`answer_<id> = <literal>`), never from the worker,
so a code cell that hangs or ends the process costs no quiz points.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from autograder.course.layout import QuizQuestion
from autograder.models import ItemResult
from autograder.selfcheck import answers


def is_correct(question: QuizQuestion, answer: Any) -> bool:
    """Whether `answer` (a literal read from the notebook) is right."""
    return answers.is_right(question.kind, answer, question.answer, tolerance=question.tolerance)


def read_answers(sources: Sequence[str], questions: Iterable[QuizQuestion]) -> dict[str, answers.Answer]:
    """Each question's answer as the notebook's code cells (their sources, in order) write it."""
    return {q.id: answers.read_answer(sources, q.variable) for q in questions}


def _quoted(question: QuizQuestion, answer: Any) -> str:
    shown = repr(answer)
    return shown if len(shown) <= 60 else shown[:59] + "…"


def grade_answer(question: QuizQuestion, answer: Any, *, found: bool, problem: str = "") -> ItemResult:
    """An ItemResult for one question; the message never reveals the key."""
    item = question.item
    if problem:
        return ItemResult(item, 0.0, question.points, "error", "error", f"{item}: {problem}.")
    if not found or answer is None or answer is Ellipsis:
        return ItemResult(
            item,
            0.0,
            question.points,
            "missing",
            "missing",
            f"{item}: no answer in {question.variable}. Replace the ... with yours.",
        )
    if is_correct(question, answer):
        return ItemResult(item, question.points, question.points, "passed")
    hint = f" Hint: {question.hint}" if question.hint else ""
    chose = answers.quote_options(answer, question.choices) if question.kind in ("choice", "multi") else ""
    message = f"{item}: {_quoted(question, answer)}{chose} is not right.{hint}"
    return ItemResult(item, 0.0, question.points, "failed", "other", message)


def grade_quiz(sources: Sequence[str], questions: Sequence[QuizQuestion]) -> list[ItemResult]:
    """Every question of the quiz graded from the notebook's text: `sources` are the code cells
    as grading runs them (locked cells restored), never what the worker's variables hold."""
    read = read_answers(sources, questions)
    out = []
    for question in questions:
        answer = read[question.id]
        out.append(grade_answer(question, answer.value, found=answer.found, problem=answer.problem))
    return out


def notebook_key(question: QuizQuestion) -> str:
    """The key a notebook's quiz cell must carry for this question."""
    return answers.opaque_key(question.id, question.kind, question.answer, tolerance=question.tolerance)
