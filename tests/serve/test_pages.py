"""The pages in Debian's Chromium: a student uploads and reads the feedback; the dashboard updates live.

Screenshots go to `$SERVE_SCREENSHOTS` when it is set (to look at them), else to the test's tmp_path.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from running import ASSIGNMENT, Server

pytestmark = pytest.mark.browser


def _shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("SERVE_SCREENSHOTS", "")) if os.environ.get("SERVE_SCREENSHOTS") else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _sign_in(page: Any, url: str, token: str) -> None:
    page.goto(url)
    page.fill("#token", token)
    page.click("#signin-button")
    page.wait_for_selector("#app:not(.hidden)", timeout=15000)


def test_a_student_uploads_by_picker_and_by_drop_and_reads_the_feedback(
    browser: Any, server: Server, notebooks: dict[str, bytes], tmp_path: Path
) -> None:
    shots = _shots(tmp_path)
    notebook = tmp_path / f"{ASSIGNMENT}.ipynb"
    notebook.write_bytes(notebooks["mutant"])
    page = browser.new_page(viewport={"width": 1200, "height": 1000})
    try:
        _sign_in(page, server.url + "/", server.tokens["carol"])
        assert page.text_content("#who") == "carol"
        page.set_input_files("#file", str(notebook))
        page.wait_for_selector("#subs tr .badge.graded", timeout=60000)
        frame = page.frame_locator("#feedback")
        frame.locator("h1").wait_for(timeout=15000)
        assert "your feedback" in frame.locator("h1").inner_text()
        assert "This looks like" in frame.locator("body").inner_text()
        page.screenshot(path=str(shots / "student-feedback.png"), full_page=True)

        # The second hand-in by drag and drop (the file the browser would give the drop event).
        page.evaluate(
            """(text) => {
                const dt = new DataTransfer();
                dt.items.add(new File([text], 'ps4-softmax.ipynb', {type: 'application/x-ipynb+json'}));
                document.getElementById('drop').dispatchEvent(new DragEvent('drop', {dataTransfer: dt, bubbles: true}));
            }""",
            notebooks["solution"].decode(),
        )
        page.wait_for_function("document.querySelectorAll('#subs tr').length === 2", timeout=15000)
        page.wait_for_function(
            "[...document.querySelectorAll('#subs tr')].every(r => r.querySelector('.badge.graded'))", timeout=60000
        )
        rows = page.locator("#subs tr")
        assert "18 / 18" in rows.nth(0).inner_text() and "counts" in rows.nth(0).inner_text()
        assert "counts" not in rows.nth(1).inner_text()
        frame.locator("text=Everything passed").wait_for(timeout=15000)
        page.screenshot(path=str(shots / "student-two-submissions.png"), full_page=True)
    finally:
        page.close()


def test_a_refused_upload_says_why_on_the_page(browser: Any, server: Server, tmp_path: Path) -> None:
    broken = tmp_path / "broken.ipynb"
    broken.write_text(json.dumps({"hello": "world"}))
    page = browser.new_page()
    try:
        _sign_in(page, server.url + "/", server.tokens["dave"])
        page.set_input_files("#file", str(broken))
        page.wait_for_selector("#upload-msg.bad", timeout=15000)
        assert page.text_content("#upload-msg") == "the uploaded notebook is JSON but not a Jupyter notebook (no cells)."
    finally:
        page.close()


def test_the_dashboard_shows_a_new_submission_without_reloading(
    browser: Any, server: Server, notebooks: dict[str, bytes], tmp_path: Path
) -> None:
    shots = _shots(tmp_path)
    page = browser.new_page(viewport={"width": 1300, "height": 1400})
    try:
        page.goto(server.url + "/instructor")
        page.fill("#token", server.tokens["alice"])
        page.click("#signin-button")
        page.wait_for_selector("#signin-msg.bad")
        assert "the dashboard needs an instructor token" in (page.text_content("#signin-msg") or "")
        page.fill("#token", server.tokens["teacher"])
        page.click("#signin-button")
        page.wait_for_selector("#app:not(.hidden)")
        page.wait_for_selector("#updated:has-text('updated')", timeout=15000)
        loaded = page.evaluate("performance.timeOrigin")
        sid = server.submit("mallory", notebooks["mutant"]).body["id"]
        page.wait_for_selector(f"#recent tr[data-id='{sid}']", timeout=15000)
        page.wait_for_selector(f"#recent tr[data-id='{sid}'] .badge.graded", timeout=60000)
        page.wait_for_selector("#class tr[data-student='mallory']", timeout=15000)
        assert page.evaluate("performance.timeOrigin") == loaded  # the same page: no reload
        assert page.locator("#items tbody tr").count() >= 4
        assert "softmax." in page.inner_text("#misconceptions")
        page.click("#class tr[data-student='mallory']")
        page.wait_for_selector("#drill-subs tr")
        assert "Re-grade" in page.inner_text("#drill-subs")
        page.screenshot(path=str(shots / "dashboard.png"), full_page=True)
    finally:
        page.close()
