"""Per-student HTML feedback from the gradebook.

`write_feedback` writes `feedback/<student>/<a>/feedback.html` for each graded student: the
total, then each function and quiz question with its score, its status in words, the
misconception's title and hint, the message and the smallest failing input. A page holds only
its own student's journal rows; everything on it is escaped, and any text that repeats a line
of the hidden suite, the reference solutions or the source's solutions and hidden tests is
blanked before it is shown. Quiz keys are never read.

Scores are nbgrader's: a grader's manual score, where one was given, is the item's score
(and the page says so), and a late submission shows when it came and what the late policy
took off. The autograded notebooks that `nbgrader generate_feedback` renders are written by
`grade` (`views.autograded`).
"""

from __future__ import annotations

import html
import json
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from autograder.course.layout import AssignmentSpec, Course
from autograder.errors import UsageError
from autograder.store.gradebook import GradeStore, SubmissionRecord

log = logging.getLogger(__name__)

PAGE_NAME = "feedback.html"  # nbgrader's generate_feedback writes <notebook>.html next to it
BEGIN_HIDDEN = "BEGIN HIDDEN TESTS"
END_HIDDEN = "END HIDDEN TESTS"
MIN_SECRET_CHARS = 13  # shorter lines (`return out`, `z = z.T`) say nothing about a suite
REDACTED = "[…]"

STATUS_WORDS = {
    "passed": "Passed: full marks",
    "partial": "Partly right: some checks pass",
    "failed": "Not right yet",
    "error": "Raised an error, or could not be run",
    "timeout": "Ran out of time",
    "missing": "Not answered yet",
}


# --- what must never reach a student -----------------------------------------------------------


def strip_hidden_tests(source: str) -> str:
    """`source` without its hidden-test blocks, markers included (nbgrader's ClearHiddenTests).

    A block left open runs to the end of the cell: better to drop too much than to show a test.
    """
    kept: list[str] = []
    hidden = False
    for line in source.splitlines():
        if BEGIN_HIDDEN in line:
            hidden = True
        elif END_HIDDEN in line and hidden:
            hidden = False
        elif not hidden:
            kept.append(line)
    while kept and not kept[-1].strip():
        kept.pop()
    return "\n".join(kept)


def is_secret_line(line: str) -> bool:
    """A line long and specific enough that seeing it tells a student something hidden."""
    text = line.strip()
    return len(text) >= MIN_SECRET_CHARS and not text.startswith(("#", "import ", "from "))


def _hidden_blocks(source: str) -> list[str]:
    lines, hidden = [], False
    for line in source.splitlines():
        if BEGIN_HIDDEN in line or "BEGIN SOLUTION" in line:
            hidden = True
        elif END_HIDDEN in line or "END SOLUTION" in line:
            hidden = False
        elif hidden:
            lines.append(line)
    return lines


def secret_lines(course: Course, spec: AssignmentSpec) -> list[str]:
    """Lines of the hidden suite, the reference package and the source's hidden blocks.

    Longest first, so that a longer line is blanked before a shorter line inside it.
    """
    import autograder.judge.reference

    files = [*spec.suite_files, *sorted(Path(autograder.judge.reference.__file__).parent.glob("*.py"))]
    lines: list[str] = []
    for path in files:
        lines += path.read_text(encoding="utf-8").splitlines()
    source = course.source_notebook(spec.assignment_id)
    if source.is_file():
        # Plain JSON, not nbformat: grading writes autograded notebooks without importing it.
        for cell in json.loads(source.read_text(encoding="utf-8")).get("cells", []):
            text = cell.get("source", "")
            lines += _hidden_blocks("".join(text) if isinstance(text, list) else str(text))
    found = {line.strip() for line in lines if is_secret_line(line)}
    return sorted(found, key=lambda s: (-len(s), s))


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every occurrence of a secret line blanked."""
    if len(text) < MIN_SECRET_CHARS:
        return text
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


# --- the page ------------------------------------------------------------------------------------

_CSS = (
    "body{font-family:system-ui,sans-serif;margin:2em auto;max-width:820px;padding:0 1em;"
    "color:#222;line-height:1.45}"
    "h1{margin-bottom:.2em}.who{color:#555;margin-top:0}"
    ".total{font-size:1.4em;margin:.6em 0}.bar{background:#eee;border-radius:4px;height:10px}"
    ".bar span{display:block;height:10px;border-radius:4px;background:#4c72b0}"
    "section{border:1px solid #ddd;border-left:6px solid #bbb;border-radius:4px;"
    "padding:.5em 1em;margin:.8em 0}"
    "section.passed{border-left-color:#55a868}section.partial{border-left-color:#dd8452}"
    "section.failed,section.error,section.timeout{border-left-color:#c44e52}"
    "section.missing{border-left-color:#8c8c8c}"
    "h3{margin:.2em 0;font-size:1.05em}.score{float:right;font-weight:normal}"
    ".status{color:#555;margin:.1em 0}.prompt{color:#555;font-style:italic}"
    "code,pre{background:#f6f6f6;padding:1px 4px;border-radius:3px;white-space:pre-wrap;"
    "word-break:break-word}"
)


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _points(value: float) -> str:
    return f"{value:g}"


def _message(row: dict[str, Any], title: str, hint: str) -> str:
    """The judge's one-line message without what the page shows on its own lines."""
    text = str(row["message"]).strip().removeprefix(f"{row['item']}: ")
    if title:
        text = text.replace(f" This looks like {title} ({row['diagnosis']}).", "")
    if hint:
        text = text.replace(f" Hint: {hint}", "").replace(f"Hint: {hint}", "")
    return text.strip()


def _item_section(row: dict[str, Any], spec: AssignmentSpec, secrets: list[str], number: int) -> str:
    item = str(row["item"])
    status = str(row["status"])
    diagnosis = str(row["diagnosis"])
    question = next((q for q in spec.quiz if q.item == item), None)
    passed = status == "passed"
    title = "" if passed else spec.misconceptions.title(diagnosis)
    hint = "" if passed else spec.misconceptions.hint(diagnosis)
    if question is not None and not passed and not hint:
        hint = question.hint
    message = "" if passed else _message(row, title, hint)
    heading = f"Question {number}" if question is not None else f"<code>{_e(item)}</code>"
    parts = [
        f'<section class="{_e(status)}"><h3>{heading}<span class="score">'
        f"{_points(row['score'])} / {_points(row['max_score'])}</span></h3>",
        f'<p class="status">{_e(STATUS_WORDS.get(status, status))}</p>',
    ]
    if question is not None and question.prompt:
        parts.append(f'<p class="prompt">{_e(redact(question.prompt, secrets))}</p>')
    failing = "" if passed else str(row["failing_input"] or "").strip()
    if failing:
        parts.append(
            f'<p class="input">The smallest input we found that goes wrong: '
            f"<code>{_e(redact(failing, secrets))}</code></p>"
        )
        if message.startswith(failing):  # the message repeats the input: say only the rest
            rest = message.removeprefix(failing).lstrip(":; ").strip()
            message = rest[:1].upper() + rest[1:]
    if message:
        parts.append(f'<p class="message">{_e(redact(message, secrets))}</p>')
    if title:
        parts.append(f'<p class="misconception">This looks like <b>{_e(title)}</b>.</p>')
    if hint:
        parts.append(f'<p class="hint"><b>Hint:</b> {_e(redact(hint, secrets))}</p>')
    if row.get("manual_score") is not None:
        parts.append(
            f'<p class="manual">A grader set this score by hand (the autograder gave '
            f"{_points(float(row.get('auto_score') or 0.0))}).</p>"
        )
    elif row.get("needs_manual_grade"):
        parts.append('<p class="manual">A grader will review this item; its score may change.</p>')
    parts.append("</section>")
    return "".join(parts)


def _summary(rows: list[dict[str, Any]]) -> str:
    right = sum(r["status"] == "passed" for r in rows)
    if right == len(rows):
        return "Everything passed: well done!"
    if right == 0:
        return (
            "Nothing has full marks yet, and that is fine: each item below says what went wrong "
            "and gives a hint where to look."
        )
    return (
        f"{right} of {len(rows)} items have full marks. Each of the others says what went wrong "
        "and gives a hint where to look."
    )


def _duration(seconds: float) -> str:
    """A lateness a person reads: `2 days 3 h`, `5 h 10 min`, `12 min`."""
    minutes = int(seconds // 60)
    days, hours, mins = minutes // 1440, minutes % 1440 // 60, minutes % 60
    if days:
        return f"{days} day{'s' if days > 1 else ''} {hours} h"
    return f"{hours} h {mins} min" if hours else f"{max(mins, 1)} min"


def _when(submission: SubmissionRecord) -> str:
    if submission.timestamp is None:
        return ""
    text = f"Submitted {submission.timestamp:%Y-%m-%d %H:%M} UTC"
    if submission.due is not None:
        text += f", due {submission.due:%Y-%m-%d %H:%M} UTC"
    if submission.is_late:
        text += f": late by {_duration(submission.seconds_late)}"
        if submission.late_penalty:
            text += f", which costs {_points(submission.late_penalty)} points under the course's late policy"
    return text + "."


def feedback_page(
    spec: AssignmentSpec,
    student_id: str,
    rows: list[dict[str, Any]],
    secrets: list[str],
    *,
    submission: SubmissionRecord | None = None,
) -> str:
    """One student's page from their journal rows (functions first, then the quiz)."""
    mine = [r for r in rows if r["student"] == student_id and r["assignment"] == spec.assignment_id]
    order = {name: n for n, name in enumerate(spec.item_names())}
    mine.sort(key=lambda r: (order.get(str(r["item"]), len(order)), int(r.get("position", 0))))
    quiz_items = {q.item for q in spec.quiz}
    functions = [r for r in mine if r["item"] not in quiz_items]
    quiz = [r for r in mine if r["item"] in quiz_items]
    penalty = submission.late_penalty if submission is not None else 0.0
    total = sum(float(r["score"]) for r in mine) - penalty
    max_total = sum(float(r["max_score"]) for r in mine)
    percent = 100 * total / max_total if max_total else 0.0
    after = f", after a late penalty of {_points(penalty)}" if penalty else ""
    when = _when(submission) if submission is not None else ""
    body = [
        f"<h1>{_e(spec.title)}: your feedback</h1>",
        f'<p class="who">For <b>{_e(student_id)}</b> ({_e(spec.assignment_id)})</p>',
        f'<p class="total">{_points(total)} / {_points(max_total)} points ({percent:.0f}%{after})</p>',
        *([f'<p class="late">{_e(when)}</p>'] if when else []),
        f'<div class="bar"><span style="width:{max(0.0, min(percent, 100.0)):.1f}%"></span></div>',
        f"<p>{_e(_summary(mine))}</p>",
    ]
    if functions:
        body.append("<h2>Functions</h2>")
        body += [_item_section(r, spec, secrets, 0) for r in functions]
    if quiz:
        body.append("<h2>Quiz</h2>")
        body += [_item_section(r, spec, secrets, n) for n, r in enumerate(quiz, 1)]
    body.append(
        "<p>Re-run your notebook's own checks in Jupyter, or <code>autograder check</code>, "
        "while you work on what is not right yet.</p>"
    )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{_e(spec.assignment_id)}: feedback for {_e(student_id)}</title>"
        f"<style>{_CSS}</style></head><body>{''.join(body)}</body></html>"
    )


def _is_safe_name(name: str) -> bool:
    return bool(name) and name not in (".", "..") and Path(name).name == name


def write_feedback(course: Course, assignment_id: str, *, students: list[str] | None = None) -> list[Path]:
    """Write each (or each named) graded student's page; return the paths written.

    Scores are nbgrader's (a manual score where a grader gave one), less any late penalty,
    which is brought up to date with the late policy first. A copy of the page also goes next
    to the student's autograded notebook (written by `grade`): `nbgrader generate_feedback
    --force` empties feedback/<student>/<a>/ and then copies that folder's other files into it.
    """
    spec = course.assignment(assignment_id)
    store = GradeStore(course)
    try:
        store.apply_late_penalties(spec)
        rows = store.item_rows(assignment_id)
        submissions = store.submissions(spec)
    finally:
        store.close()
    graded = list(dict.fromkeys(str(r["student"]) for r in rows))
    if not graded:
        raise UsageError(
            f"no graded submissions of {assignment_id} yet; run `autograder grade {assignment_id}` first."
        )
    if students:
        missing = sorted(set(students) - set(graded))
        if missing:
            raise UsageError(
                f"no graded submission of {assignment_id} for: {', '.join(missing)}; "
                f"run `autograder grade {assignment_id}` for them first."
            )
        graded = [s for s in graded if s in students]
    secrets = secret_lines(course, spec)
    written = []
    for student in graded:
        if not _is_safe_name(student):
            log.warning("skipping feedback for student id %r: not usable as a folder name", student)
            continue
        mine = [r for r in rows if r["student"] == student]
        page = feedback_page(spec, student, mine, secrets, submission=submissions.get(student))
        out = course.feedback_dir / student / assignment_id / PAGE_NAME
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(page, encoding="utf-8")
        folder = course.autograded_dir / student / assignment_id
        if folder.is_dir():
            (folder / PAGE_NAME).write_text(page, encoding="utf-8")
        written.append(out)
    return written
