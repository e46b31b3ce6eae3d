"""Quiz banks: check a student's answer against the key (trusted side).

The key lives in `assignments/<a>/quiz.toml`; the notebook carries only
`selfcheck.quiz_key` hashes of it. Kinds: `choice` (a letter), `multi` (a set of letters),
`numeric` (a number within `tolerance`), `shape` (a tuple of ints).
"""

from __future__ import annotations

import math
from typing import Any

from autograder.course.layout import QuizQuestion
from autograder.models import ItemResult
from autograder.selfcheck import quiz_key


def _letters(value: Any) -> set[str] | None:
    if isinstance(value, str):
        parts = value.replace(",", " ").split()
        if len(parts) == 1 and len(parts[0]) > 1 and parts[0].isalpha():
            parts = list(parts[0])
        return {p.strip().lower() for p in parts}
    if isinstance(value, list | tuple | set | frozenset) and all(isinstance(v, str) for v in value):
        return {v.strip().lower() for v in value}
    return None


def is_correct(question: QuizQuestion, answer: Any) -> bool:
    """Whether `answer` (plain data from the worker) is right."""
    if answer is None or answer is Ellipsis:
        return False
    if question.kind == "choice":
        return isinstance(answer, str) and answer.strip().lower() == str(question.answer).lower()
    if question.kind == "multi":
        return _letters(answer) == {str(a).lower() for a in question.answer}
    if question.kind == "numeric":
        if isinstance(answer, bool) or not isinstance(answer, int | float):
            try:
                answer = float(answer)
            except (TypeError, ValueError):
                return False
        value = float(answer)
        return math.isfinite(value) and abs(value - float(question.answer)) <= question.tolerance
    if question.kind == "shape":
        if not isinstance(answer, list | tuple):
            return False
        try:
            return tuple(int(a) for a in answer) == tuple(int(a) for a in question.answer) and all(
                not isinstance(a, bool) and float(a) == int(a) for a in answer
            )
        except (TypeError, ValueError):
            return False
    return False


def grade_answer(question: QuizQuestion, answer: Any, *, found: bool) -> ItemResult:
    """An ItemResult for one question; the message never reveals the key."""
    item = question.item
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
    shown = repr(answer)
    shown = shown if len(shown) <= 60 else shown[:59] + "…"
    return ItemResult(item, 0.0, question.points, "failed", "other", f"{item}: {shown} is not right.{hint}")


def notebook_key(question: QuizQuestion) -> str:
    """The key a notebook's quiz cell must carry for this question."""
    if question.kind == "numeric":
        return quiz_key(question.id, question.answer, tolerance=question.tolerance)
    if question.kind == "multi":
        return quiz_key(question.id, {str(a).lower() for a in question.answer})
    if question.kind == "shape":
        return quiz_key(question.id, tuple(question.answer))
    return quiz_key(question.id, question.answer)
