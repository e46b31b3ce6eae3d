"""The report and a feedback page at laptop width (1280 px) in Chromium: nothing wider than the
page, wide tables scroll inside it, the terms explained, the misconceptions chart named ones only."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from autograder import batch
from autograder.course import synth
from autograder.course.layout import Course, load_course
from autograder.views import feedback, report

pytestmark = [pytest.mark.browser, pytest.mark.slow]

A = "ps4-softmax"
WIDTH = 1280
#: Where the screenshots go for a person to look at (else the test's tmp_path).
SHOTS_ENV = "AUTOGRADER_SCREENSHOTS"


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory, released_template: Path) -> Course:
    """A small class of ps4, graded: right, mutants, a stub, wrong quiz answers."""
    root = tmp_path_factory.mktemp("pages") / "course"
    shutil.copytree(released_template, root)
    course = load_course(root)
    spec = course.assignment(A)
    solution = synth.solution_sources(course, spec)
    right = synth.quiz_answers(spec, correct={q.id for q in spec.quiz})
    wrong = synth.quiz_answers(spec, correct=set())
    mutants = {m.name: m.cells for m in synth.modules(spec, "mutants")}
    release_nb = course.release_notebook(A)
    classes = {
        "alice01": {**solution, **right},
        "bobby02": {**solution, **wrong, **mutants["mse_not_squared"]},
        "carol03": {},
        "dave04": {**solution, **right, **mutants["xent_shift_then_log"], **mutants["softmax_wrong_axis"]},
        "erin05": {**solution, **wrong, **mutants["predict_argmin"]},
    }
    for student, cells in classes.items():
        synth.write_submission(course, A, student, synth.build_notebook(release_nb, cells))
    batch.grade(course, A, workers=2)
    return course


def _shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get(SHOTS_ENV) or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _open(browser: Any, path: Path, shot: Path) -> Any:
    page = browser.new_page(viewport={"width": WIDTH, "height": 800})
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    page.screenshot(path=str(shot), full_page=True)
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{path.name} is {overflow} px wider than a {WIDTH} px window ({shot})"
    return page


def test_report_fits_a_laptop_and_explains_its_terms(browser: Any, graded: Course, tmp_path: Path) -> None:
    path = report.write_report(graded, A)
    page = _open(browser, path, _shots(tmp_path) / "report-1280.png")
    try:
        for table in ("items", "misconceptions", "students"):
            box = page.locator(f"div.scroll:has(table#{table})")
            assert box.count() == 1, f"table {table} is not in a scrolling box"
            assert box.evaluate("(e) => e.clientWidth") <= WIDTH
        # ps4's students table (an item a column) is wider than the page: it scrolls in its box.
        students = page.locator("div.scroll:has(table#students)")
        assert students.evaluate("(e) => e.scrollWidth > e.clientWidth")
        terms = page.locator("dl.terms").inner_text()
        assert "item-rest r: the correlation between a student's score on this item" in terms
        header = page.locator("table#items th", has_text="discrimination")
        assert header.get_attribute("title", timeout=2000).startswith("item-rest r")
        note = page.locator("p.note").inner_text()
        assert note.startswith("The chart shows named misconceptions only. Not shown there:")
        captions = page.locator("figcaption").all_inner_texts()
        assert "Misconceptions (named ones only; see the table for the rest)" in captions
    finally:
        page.close()


def test_feedback_page_fits_a_laptop(browser: Any, graded: Course, tmp_path: Path) -> None:
    pages = {p.parent.parent.name: p for p in feedback.write_feedback(graded, A)}
    page = _open(browser, pages["dave04"], _shots(tmp_path) / "feedback-dave04-1280.png")
    try:
        text = page.locator("body").inner_text()
        # A max shift then log(p) is unstable, not "no softmax" (issue #16).
        assert "This looks like an unstable log of softmax." in text
        assert "raw logits" not in text
    finally:
        page.close()
