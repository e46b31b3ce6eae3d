"""nbgrader's formgrader in Chromium, right after `autograder grade`: the submissions are listed
for manual grading, and one opens with each test cell's verdict and a score box."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from autograder import batch
from autograder.course.layout import load_course

pytestmark = [pytest.mark.browser, pytest.mark.slow]

A = "ps4-softmax"
WAIT_MS = 60_000
NO_MAX_SHIFT = "import numpy as np\n\ndef softmax(z, axis=-1):\n    e = np.exp(z)\n    return e / np.sum(e, axis=axis, keepdims=True)\n"


def test_formgrader_lists_and_opens_a_submission_right_after_grade(
    browser: Any, serve_lab: Any, tmp_path: Path, released_template: Path
) -> None:
    from autograder.course import synth

    root = tmp_path / "course"
    shutil.copytree(released_template, root)
    with (root / "nbgrader_config.py").open("a") as f:
        f.write(f'\nc.Exchange.root = "{tmp_path / "exchange"}"\n')
    (tmp_path / "exchange").mkdir()
    course = load_course(root)
    spec = course.assignment(A)
    answers = {**synth.solution_sources(course, spec), **synth.quiz_answers(spec, correct={"max_shift"})}
    release_nb = course.release_notebook(A)
    synth.write_submission(course, A, "ada", synth.build_notebook(release_nb, answers))
    synth.write_submission(course, A, "bob", synth.build_notebook(release_nb, {**answers, "softmax": NO_MAX_SHIFT}))
    batch.grade(course, A, workers=2)  # and nothing else: no `autograder feedback`, no nbgrader step

    lab = serve_lab(root)
    # The token on every request: formgrader's pages fetch their tables from its API.
    page = browser.new_page(
        viewport={"width": 1300, "height": 1000}, extra_http_headers={"Authorization": f"token {lab.token}"}
    )
    shot = tmp_path / "formgrader.png"
    try:
        page.goto(f"{lab.url}/formgrader/gradebook/{A}/{A}?token={lab.token}")
        links = page.locator('a[href*="/formgrader/submissions/"]').filter(has_text="Submission #")
        links.first.wait_for(timeout=WAIT_MS)
        assert links.count() == 2, page.content()[:2000]
        page.screenshot(path=str(tmp_path / "formgrader-list.png"), full_page=True)

        # Open each until bob's: the one with a failing softmax.
        for n in range(2):
            page.goto(f"{lab.url}/formgrader/gradebook/{A}/{A}?token={lab.token}")
            links.first.wait_for(timeout=WAIT_MS)
            links.nth(n).click()
            page.locator("input.score").first.wait_for(timeout=WAIT_MS)
            if "softmax.no_max_shift" in page.inner_text("body"):
                break
        body = page.inner_text("body")
        page.get_by_text("softmax.no_max_shift").first.scroll_into_view_if_needed()
        page.screenshot(path=str(shot), full_page=False)  # the verdict under bob's softmax tests
        assert "softmax: 0 / 3 points. Partly right: some checks pass." in body or (
            "softmax: 2 / 3 points." in body
        ), body[:3000]
        assert "This looks like exponentiating raw scores" in body
        assert "mse: 2 / 2 points. Passed: full marks." in body
        assert "BEGIN HIDDEN TESTS" not in body
        assert page.locator("input.score").count() >= len(spec.grade_ids())
        print(f"screenshot: {shot}")
    except Exception:
        page.screenshot(path=str(tmp_path / "failure.png"), full_page=True)
        print(f"screenshot: {tmp_path / 'failure.png'}; server log: {lab.log}")
        raise
    finally:
        page.close()
