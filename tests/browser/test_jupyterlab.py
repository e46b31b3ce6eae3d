"""A student's view in a real browser: self-checks in JupyterLab, and the instructor's report page."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from autograder import demo
from autograder.course.layout import Course

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ASSIGNMENT = "ps4-softmax"  # the lab fixture serves its release folder
RIGHT = """import numpy as np

def softmax(z, axis=-1):
    z = np.asarray(z, dtype=float)
    e = np.exp(z - np.max(z, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)
"""
NO_MAX_SHIFT = """import numpy as np

def softmax(z, axis=-1):
    e = np.exp(z)
    return e / np.sum(e, axis=axis, keepdims=True)
"""
CHECK = 'from autograder.selfcheck import check\ncheck("softmax")'
WAIT_MS = 30_000

# JupyterLab's own objects (window.jupyterapp, exposed by --LabApp.expose_app_in_browser).
READY_JS = """() => {
  const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const kernel = panel && panel.sessionContext && panel.sessionContext.session
    && panel.sessionContext.session.kernel;
  return Boolean(panel && panel.content && panel.content.widgets.length > 0 && kernel
    && kernel.status === 'idle');
}"""
INDEX_JS = """(gradeId) => window.jupyterapp.shell.currentWidget.content.widgets.findIndex(
  (cell) => (cell.model.getMetadata('nbgrader') || {}).grade_id === gradeId)"""
SET_SOURCE_JS = """([index, text]) => {
  window.jupyterapp.shell.currentWidget.content.widgets[index].model.sharedModel.setSource(text);
}"""
INSERT_JS = """([index, text]) => {
  const notebook = window.jupyterapp.shell.currentWidget.content;
  notebook.model.sharedModel.insertCell(index, {cell_type: 'code', source: text, metadata: {}});
}"""
RUN_JS = """async (index) => {
  const notebook = window.jupyterapp.shell.currentWidget.content;
  notebook.activeCellIndex = index;
  notebook.deselectAll();
  await window.jupyterapp.commands.execute('notebook:run-cell');
}"""


def _output_of(page: Any, index: int) -> Any:
    return page.locator(".jp-Notebook .jp-Cell").nth(index).locator(".jp-OutputArea-output")


def test_check_in_jupyterlab_says_ok_then_names_the_misconception(
    browser: Any, lab: Any, tmp_path: Path
) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(f"{lab.url}/lab/tree/{ASSIGNMENT}.ipynb?token={lab.token}")
        page.wait_for_function(READY_JS, timeout=60_000)
        setup = page.evaluate(INDEX_JS, "setup")
        answer = page.evaluate(INDEX_JS, "softmax")
        assert setup >= 0 and answer > setup
        page.evaluate(INSERT_JS, [answer + 1, CHECK])  # a cell of the student's own, after the answer
        check_cell = answer + 1

        page.evaluate(SET_SOURCE_JS, [answer, RIGHT])
        for index in (setup, answer, check_cell):
            page.evaluate(RUN_JS, index)
        output = _output_of(page, check_cell)
        output.filter(has_text="softmax: all 4 visible checks passed").wait_for(timeout=WAIT_MS)
        assert "softmax: ok on [[1000, 1001]]" in output.first.inner_text()

        page.evaluate(SET_SOURCE_JS, [answer, NO_MAX_SHIFT])
        for index in (answer, check_cell):
            page.evaluate(RUN_JS, index)
        output.filter(has_text="softmax.no_max_shift").wait_for(timeout=WAIT_MS)
        text = output.first.inner_text()
        assert "you returned [[nan, nan]] (shape (1, 2))" in text
        assert "This looks like exponentiating raw scores" in text
        assert "softmax: 3 of 4 visible checks passed." in text
        assert "CheckResult(" not in text  # check() printed its lines; its value shows nothing

        quiz_answer = page.evaluate(INDEX_JS, "answer_max_shift")
        quiz_cell = page.evaluate(INDEX_JS, "quiz_max_shift")
        page.evaluate(SET_SOURCE_JS, [quiz_answer, 'answer_max_shift = "a"'])
        page.evaluate(RUN_JS, quiz_answer)
        page.evaluate(RUN_JS, quiz_cell)
        wrong = _output_of(page, quiz_cell).filter(has_text="is not right yet")
        wrong.wait_for(timeout=WAIT_MS)
        shown = wrong.inner_text()
        assert "Compare np.exp(1000.0) with np.exp(0.0)" in shown  # the hint, not the key
        # The message and the option's text, not a traceback into the package.
        assert shown.startswith("SelfCheckError: quiz max_shift: 'a' (a: \u201c"), shown
        assert "Traceback" not in shown and "autograder" not in shown, shown
        page.evaluate(SET_SOURCE_JS, [quiz_answer, 'answer_max_shift = "b"'])
        page.evaluate(RUN_JS, quiz_answer)
        page.evaluate(RUN_JS, quiz_cell)
        _output_of(page, quiz_cell).filter(has_text="quiz max_shift: right.").wait_for(timeout=WAIT_MS)
    except Exception:
        page.screenshot(path=str(tmp_path / "failure.png"), full_page=True)
        print(f"screenshot: {tmp_path / 'failure.png'}; server log: {lab.log}")
        raise
    finally:
        page.close()


def test_report_page_renders_its_plots_and_tables(browser: Any, repo_course: Course, tmp_path: Path) -> None:
    (report,) = demo.run(
        repo_course, into=tmp_path / "demo", assignments=[ASSIGNMENT], size=30, say=lambda _: None
    )
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    try:
        page.goto(report.as_uri())
        page.wait_for_load_state("load")
        shot = tmp_path / "report.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        images = page.evaluate(
            "() => Array.from(document.images).map((i) => [i.alt, i.complete, i.naturalWidth])"
        )
        assert images, "the report has no plots"
        assert all(complete and width > 0 for _, complete, width in images), json.dumps(images)
        for table in ("items", "misconceptions", "students"):
            assert page.locator(f"table#{table} tbody tr").count() > 0, f"table {table} is missing or empty"
    finally:
        page.close()
