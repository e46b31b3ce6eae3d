"""Fixtures for the service's tests: a served course and ps4 notebooks (see running.py)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from running import ASSIGNMENT, NO_COOLDOWN, Server, serving

from autograder.course import synth
from autograder.course.layout import load_course


@pytest.fixture(scope="module")
def served_root(tmp_path_factory: pytest.TempPathFactory, released_template: Path) -> Path:
    root = tmp_path_factory.mktemp("served") / "course"
    shutil.copytree(released_template, root)
    return root


@pytest.fixture(scope="module")
def server(served_root: Path) -> Iterator[Server]:
    """One server for a test module: ps4 released, no cool-down, students alice..dave + teacher."""
    with serving(served_root, rules=NO_COOLDOWN) as s:
        yield s


@pytest.fixture(scope="session")
def notebooks(released_template: Path) -> dict[str, bytes]:
    """ps4 notebooks as bytes: the solution, the stub, one with a misconception."""
    course = load_course(released_template)
    spec = course.assignment(ASSIGNMENT)
    solution = synth.solution_sources(course, spec)
    right = synth.quiz_answers(spec, correct={q.id for q in spec.quiz})
    release_nb = course.release_notebook(ASSIGNMENT)
    mutant = next(m for m in synth.modules(spec, "mutants") if "softmax" in m.cells)

    def build(answers: dict[str, str]) -> bytes:
        return nbformat.writes(synth.build_notebook(release_nb, answers)).encode()

    return {
        "solution": build({**solution, **right}),
        "stub": build({}),
        "mutant": build({**solution, **right, **mutant.cells}),
    }
