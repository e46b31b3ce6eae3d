"""Shared fixtures: a released copy of the course, and a factory for submissions."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hubrunning import Hub, running_hub

from autograder.course import release, synth
from autograder.course.layout import Course, copy_course, load_course

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def repo_course() -> Course:
    """The course in this repository (read only: tests never write into it)."""
    return load_course(REPO)


@pytest.fixture(scope="session")
def released_template(tmp_path_factory: pytest.TempPathFactory, repo_course: Course) -> Path:
    """A copy of the course with ps4-softmax released once for the whole session."""
    root = tmp_path_factory.mktemp("template") / "course"
    course = copy_course(repo_course, root)
    release.release(course, "ps4-softmax")
    return root


@pytest.fixture
def course(tmp_path: Path, released_template: Path) -> Course:
    """A private, released copy of the course for one test."""
    root = tmp_path / "course"
    shutil.copytree(released_template, root)
    return load_course(root)


SubmitFn = Callable[..., Path]


@pytest.fixture
def submit(course: Course) -> SubmitFn:
    """Write a ps4 submission: the source solution with some answer cells replaced."""
    spec = course.assignment("ps4-softmax")
    solution = synth.solution_sources(course, spec)
    right = synth.quiz_answers(spec, correct={q.id for q in spec.quiz})

    def make(
        student: str,
        replace: dict[str, str] | None = None,
        *,
        stub: bool = False,
        extra_cells: list[str] | None = None,
    ) -> Path:
        answers = {} if stub else {**solution, **right}
        answers.update(replace or {})
        nb = synth.build_notebook(course.release_notebook("ps4-softmax"), answers)
        for source in extra_cells or []:
            import nbformat

            nb.cells.insert(2, nbformat.v4.new_code_cell(source))
        return synth.write_submission(course, "ps4-softmax", student, nb)

    return make


@pytest.fixture(scope="session")
def hub(tmp_path_factory: pytest.TempPathFactory, released_template: Path) -> Iterator[Hub]:
    """A real JupyterHub (tests/hubrunning.py) running `autograder serve --hub` on a released copy
    of the course as its service: alice and bob are nbgrader students, teacher an instructor."""
    from nbgrader.api import Gradebook

    base = tmp_path_factory.mktemp("hub")
    root = base / "course"
    shutil.copytree(released_template, root)
    (root / "serve.toml").write_text("[defaults]\ncooldown_s = 0\n")
    course = load_course(root)
    with Gradebook(course.db_url) as gradebook:  # `nbgrader db student add`, as an instructor would
        for student in ("alice", "bob"):
            gradebook.update_or_create_student(student)
    with running_hub(root, base / "state", course.course_id) as running:
        yield running


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """One headless Chromium for the whole session (tests/browser, tests/serve): Playwright's sync
    API runs one instance a thread. Skips where Debian's chromium is not installed."""
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} is missing: run scripts/ensure-browser.sh (as root) to install it")
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed: ./dev installs it"
    )
    sync_playwright = sync_api.sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
