"""The autograded notebook's writer: the same bytes as nbformat's json.dumps, in less time."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from autograder.course import synth
from autograder.course.layout import Course
from autograder.views import autograded, feedback

A = "ps4-softmax"
REPO = Path(__file__).resolve().parents[2]


def nbformat_dumps(value: Any) -> str:
    """What nbformat (and so `nbgrader autograde`) writes for a notebook."""
    return json.dumps(value, indent=1, sort_keys=True, ensure_ascii=False)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_writer_gives_json_dumps_bytes_for_any_json_value(value: Any) -> None:
    assert autograded.notebook_json(value) == nbformat_dumps(value)


def test_writer_gives_json_dumps_bytes_for_every_notebook_of_the_course() -> None:
    notebooks = sorted((REPO / "source").glob("*/*.ipynb"))
    assert len(notebooks) >= 5
    for path in notebooks:
        nb = json.loads(path.read_text(encoding="utf-8"))
        assert autograded.notebook_json(nb) == nbformat_dumps(nb), path


def test_values_json_has_no_type_for_are_left_to_the_json_module() -> None:
    for value in ({"a": (1, 2), "b": [math.inf]}, {1: "x"}):
        assert autograded.notebook_json(value) == nbformat_dumps(value)


def test_a_notebook_nested_too_deeply_gets_no_autograded_copy_and_no_crash(course: Course) -> None:
    spec = course.assignment(A)
    nb = synth.build_notebook(course.release_notebook(A), synth.solution_sources(course, spec))
    path = synth.write_submission(course, A, "deep01", nb)
    data = json.loads(path.read_text(encoding="utf-8"))
    data["cells"][0]["metadata"]["deep"] = "@"
    text = json.dumps(data).replace('"@"', "[" * 100_000 + "]" * 100_000)
    path.write_text(text, encoding="utf-8")
    template = autograded.load_template(course, spec)
    assert autograded.autograded_notebook(course, template, "deep01", []) is None
    assert not (course.autograded_dir / "deep01").exists()


def test_verdict_lines_are_redacted_once_a_batch_and_the_same_as_the_feedback_page(course: Course) -> None:
    template = autograded.load_template(course, course.assignment(A))
    secret = template.secrets[0]
    line = f"expected {secret} here"
    blanked = feedback.redact(line, template.secrets)
    assert secret not in blanked and blanked != line
    assert template.redact(line) == blanked
    assert template.redacted == {line: blanked}  # remembered: the next student's same line is free
    assert template.redact(line) == blanked
