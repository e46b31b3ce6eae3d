"""Signing in through JupyterHub's real login page in Debian's Chromium, into the student page.

Screenshots go to `$SERVE_SCREENSHOTS` when it is set (to look at them), else to the test's tmp_path.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import nbformat
import pytest
from hubrunning import PASSWORD, Hub

from autograder.course import synth
from autograder.course.layout import load_course

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ASSIGNMENT = "ps4-softmax"


def _shots(tmp_path: Path) -> Path:
    folder = Path(os.environ["SERVE_SCREENSHOTS"]) if os.environ.get("SERVE_SCREENSHOTS") else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _mutant_notebook(released_template: Path) -> bytes:
    """ps4 solved but for softmax, which holds a misconception the feedback names."""
    course = load_course(released_template)
    spec = course.assignment(ASSIGNMENT)
    answers = {
        **synth.solution_sources(course, spec),
        **synth.quiz_answers(spec, correct={q.id for q in spec.quiz}),
    }
    mutant = next(m for m in synth.modules(spec, "mutants") if "softmax" in m.cells)
    nb = synth.build_notebook(course.release_notebook(ASSIGNMENT), {**answers, **mutant.cells})
    return nbformat.writes(nb).encode()


def test_a_student_signs_in_on_the_hubs_login_page_and_hands_in_on_the_student_page(
    browser: Any, hub: Hub, released_template: Path, tmp_path: Path
) -> None:
    shots = _shots(tmp_path)
    notebook = tmp_path / f"{ASSIGNMENT}.ipynb"
    notebook.write_bytes(_mutant_notebook(released_template))
    context = browser.new_context(viewport={"width": 1200, "height": 1000})
    page = context.new_page()
    try:
        page.goto(hub.service_url)  # not signed in: the service sends the browser to the hub
        page.wait_for_selector("#username_input", timeout=15000)
        assert page.url.startswith(hub.hub_url + "login")
        page.fill("#username_input", "alice")
        page.fill("#password_input", PASSWORD)
        page.screenshot(path=str(shots / "hub-login.png"))
        page.click("#login_submit")
        page.wait_for_selector("#app:not(.hidden)", timeout=20000)
        assert page.url == hub.service_url
        assert page.text_content("#who") == "alice"
        assert page.is_hidden("#signin")  # no token form: the hub signed her in
        page.set_input_files("#file", str(notebook))
        page.wait_for_selector("#subs tr .badge.graded", timeout=60000)
        frame = page.frame_locator("#feedback")
        frame.locator("h1").wait_for(timeout=15000)
        assert "This looks like" in frame.locator("body").inner_text()
        page.screenshot(path=str(shots / "hub-student-feedback.png"), full_page=True)

        # Signing out ends this service's session: the next visit goes through the hub again.
        page.click("#signout")
        page.wait_for_selector("#message", timeout=15000)
        assert "You are signed out of this service" in page.text_content("#detail")
        cookies = {c["name"] for c in context.cookies()}
        assert "autograder-session" not in cookies
    finally:
        context.close()


def test_an_instructor_reaches_the_dashboard_through_the_hub_and_a_stranger_reads_why_not(
    browser: Any, hub: Hub, tmp_path: Path
) -> None:
    shots = _shots(tmp_path)
    for user in ("teacher", "zed"):
        context = browser.new_context(viewport={"width": 1200, "height": 900})
        page = context.new_page()
        try:
            page.goto(hub.service_url + "instructor")
            page.fill("#username_input", user)
            page.fill("#password_input", PASSWORD)
            page.click("#login_submit")
            if user == "teacher":
                page.wait_for_selector("#app:not(.hidden)", timeout=20000)
                assert page.url == hub.service_url + "instructor"
                assert page.text_content("#who") == "teacher (instructor)"
                page.wait_for_function("document.getElementById('updated').textContent !== ''", timeout=15000)
                page.screenshot(path=str(shots / "hub-instructor-dashboard.png"), full_page=True)
            else:
                page.wait_for_selector("#message", timeout=20000)
                assert "zed is not in" in page.text_content("#message h2")
                assert "Ask your instructor to add you to the course." in page.text_content("#detail")
                page.screenshot(path=str(shots / "hub-not-in-course.png"))
        finally:
            context.close()
