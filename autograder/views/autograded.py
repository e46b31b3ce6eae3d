"""autograded/<student>/<a>/<a>.ipynb, written as each submission is graded, for nbgrader's own tools.

formgrader lists a submission for manual grading, and `nbgrader generate_feedback` renders it,
only when this notebook exists (and the gradebook's submission time matches timestamp.txt,
which is copied next to it). It is what `nbgrader autograde` would leave, with three
differences: the `### BEGIN HIDDEN TESTS` blocks are cut out of the restored test cells (a
student sees this notebook through generate_feedback), nothing of the student's own output is
kept, and each test cell's output is the judge's verdict on its item: points, status, the
misconception and hint, the message, the smallest failing input. Every text is checked against
the hidden suite, the references and the source's hidden blocks, as the feedback page is.

The notebook is handled as plain JSON, not through nbformat: a template made once a batch
holds the restored cells, so each submission costs a parse, a few dict edits and a write.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from json.encoder import encode_basestring
from pathlib import Path
from typing import Any

from autograder.course.layout import AssignmentSpec, Course
from autograder.course.timestamps import FILE_NAME as TIMESTAMP_FILE
from autograder.views.feedback import STATUS_WORDS, redact, secret_lines, strip_hidden_tests

log = logging.getLogger(__name__)

REDACTED_CAP = 50_000  # lines remembered per template (a batch's)


@dataclass(frozen=True)
class Template:
    """What every autograded notebook of one assignment shares, read once a batch."""

    spec: AssignmentSpec
    restored: Mapping[str, Mapping[str, Any]]  # grade_id -> the source cell as JSON, hidden tests cut
    secrets: tuple[str, ...]
    #: `redact`ed lines by line: every student meets the same verdict lines, and checking one
    #: against each secret line costs ~0.1 ms. Bounded: past the cap, lines are redacted afresh.
    redacted: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def redact(self, line: str) -> str:
        """`feedback.redact(line, self.secrets)`, remembered."""
        done = self.redacted.get(line)
        if done is None:
            done = redact(line, self.secrets)
            if len(self.redacted) < REDACTED_CAP:
                self.redacted[line] = done
        return done

    def item_of(self, grade_id: str) -> str | None:
        """The item whose verdict a test cell shows (`test_softmax` -> `softmax`)."""
        for item in self.spec.items:
            if item.grade_id == grade_id:
                return item.name
        for question in self.spec.quiz:
            if question.grade_id == grade_id:
                return question.item
        return None


def _nbgrader(cell: Mapping[str, Any]) -> dict[str, Any]:
    meta = cell.get("metadata", {})
    found = meta.get("nbgrader", {}) if isinstance(meta, dict) else {}
    return found if isinstance(found, dict) else {}


def load_template(course: Course, spec: AssignmentSpec) -> Template:
    """The source notebook's locked and test cells (nbgrader's OverwriteCells restores them)."""
    source = json.loads(course.source_notebook(spec.assignment_id).read_text(encoding="utf-8"))
    restored: dict[str, dict[str, Any]] = {}
    for cell in source.get("cells", []):
        meta = _nbgrader(cell)
        grade_id = meta.get("grade_id")
        if not grade_id or not (meta.get("locked") or meta.get("grade")) or meta.get("solution"):
            continue
        cell = copy.deepcopy(cell)
        text = (
            "".join(cell["source"]) if isinstance(cell.get("source"), list) else str(cell.get("source", ""))
        )
        cell["source"] = strip_hidden_tests(text) if "BEGIN HIDDEN TESTS" in text else text
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
        restored[grade_id] = cell
    return Template(spec, restored, tuple(secret_lines(course, spec)))


def verdict_text(row: Mapping[str, Any], template: Template) -> str:
    """A test cell's output: the judge's verdict on its item, for a grader and the student."""
    spec = template.spec
    status = str(row["status"])
    lines = [
        f"{row['item']}: {float(row['score']):g} / {float(row['max_score']):g} points. "
        f"{STATUS_WORDS.get(status, status)}."
    ]
    if status != "passed":
        diagnosis = str(row.get("diagnosis") or "")
        if row.get("message"):
            lines.append(str(row["message"]))
        if row.get("failing_input") and str(row["failing_input"]) not in str(row.get("message", "")):
            lines.append(f"Smallest failing input: {row['failing_input']}")
        title = spec.misconceptions.title(diagnosis)
        if title and title not in str(row.get("message", "")):
            lines.append(f"This looks like {title} ({diagnosis}).")
        hint = spec.misconceptions.hint(diagnosis)
        if hint and hint not in str(row.get("message", "")):
            lines.append(f"Hint: {hint}")
    return "\n".join(template.redact(line) for line in lines) + "\n"


def autograded_notebook(
    course: Course, template: Template, student_id: str, rows: Iterable[Mapping[str, Any]]
) -> Path | None:
    """Write one student's autograded notebook from their item verdicts (`rows`, as the journal's).

    Returns None, and writes nothing, for a submission that is not a readable notebook (its
    grade row already says why) or a student id that cannot be a folder name.
    """
    assignment_id = template.spec.assignment_id
    if not student_id or student_id in (".", "..") or Path(student_id).name != student_id:
        log.warning("no autograded notebook for student id %r: not usable as a folder name", student_id)
        return None
    submitted = course.submitted_dir / student_id / assignment_id
    try:
        nb = json.loads((submitted / f"{assignment_id}.ipynb").read_bytes())
        cells = nb["cells"]
        if not isinstance(cells, list) or not all(isinstance(c, dict) for c in cells):
            raise TypeError("cells is not a list of cells")
    except (OSError, ValueError, TypeError, KeyError, RecursionError) as exc:
        log.info("no autograded notebook for %s: the submission cannot be read (%s)", student_id, exc)
        return None
    verdicts = {str(r["item"]): r for r in rows}
    out_cells = []
    for cell in cells:
        grade_id = _nbgrader(cell).get("grade_id")
        original = template.restored.get(grade_id) if isinstance(grade_id, str) else None
        if original is not None:
            cell = dict(original)  # a new dict: its outputs are replaced, never changed in place
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
            item = template.item_of(grade_id) if isinstance(grade_id, str) else None
            if item is not None and item in verdicts:
                passed = verdicts[item]["status"] == "passed"
                cell["outputs"] = [
                    {
                        "name": "stdout" if passed else "stderr",
                        "output_type": "stream",
                        "text": verdict_text(verdicts[item], template),
                    }
                ]
        out_cells.append(cell)
    nb["cells"] = out_cells
    out_dir = course.autograded_dir / student_id / assignment_id
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"{assignment_id}.ipynb"
    try:
        text = notebook_json(nb)
    except RecursionError:  # nested deeper than any notebook: the grade row stands without it
        log.info("no autograded notebook for %s: the submission is nested too deeply", student_id)
        return None
    _replace(out, (text + "\n").encode())
    _copy_companions(submitted, out_dir, out.name)
    return out


class _Unusual(Exception):
    """A value `notebook_json` leaves to the json module."""


def notebook_json(value: Any) -> str:
    """`json.dumps(value, indent=1, sort_keys=True, ensure_ascii=False)` (how nbformat writes a
    notebook), byte for byte, in about a quarter of the time: the json module's C encoder does
    not indent, and its Python one, which does, goes through a generator per value.

    Values of other types than JSON's own (a tuple, a subclass, a key that is not a string)
    are left to the json module, which then decides as it always did.
    """
    out: list[str] = []
    try:
        _emit(value, out, "\n")
    except _Unusual:
        return json.dumps(value, indent=1, sort_keys=True, ensure_ascii=False)
    return "".join(out)


def _emit(value: Any, out: list[str], newline: str) -> None:
    """Append `value`'s JSON to `out`; `newline` is a line break and the indent of its level."""
    kind = type(value)
    if kind is str:
        out.append(encode_basestring(value))
    elif kind is dict:
        if not value:
            out.append("{}")
            return
        inner = newline + " "
        sep = "{" + inner
        for key in sorted(value):
            if type(key) is not str:
                raise _Unusual
            out.append(sep + encode_basestring(key) + ": ")
            _emit(value[key], out, inner)
            sep = "," + inner
        out.append(newline + "}")
    elif kind is list:
        if not value:
            out.append("[]")
            return
        inner = newline + " "
        if all(type(item) is str for item in value):  # a cell's source or text: most of a notebook
            out.append("[" + inner + ("," + inner).join(map(encode_basestring, value)) + newline + "]")
            return
        sep = "[" + inner
        for item in value:
            out.append(sep)
            _emit(item, out, inner)
            sep = "," + inner
        out.append(newline + "]")
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif kind is int:
        out.append(int.__repr__(value))
    elif kind is float:
        if value != value:
            out.append("NaN")
        elif value in (float("inf"), float("-inf")):
            out.append("Infinity" if value > 0 else "-Infinity")
        else:
            out.append(float.__repr__(value))
    else:
        raise _Unusual


def _copy_companions(submitted: Path, out_dir: Path, notebook: str) -> None:
    """The submission's other files, as `nbgrader autograde` copies them: timestamp.txt (which
    formgrader compares with the gradebook) and the exchange's submission_secret.txt (which
    `release_feedback` needs) among them. Links and folders are not followed."""
    if not (submitted / TIMESTAMP_FILE).is_file():
        (out_dir / TIMESTAMP_FILE).unlink(missing_ok=True)
    for entry in os.scandir(submitted):
        if entry.name != notebook and entry.is_file(follow_symlinks=False):
            shutil.copyfile(entry.path, out_dir / entry.name)


def _replace(path: Path, data: bytes) -> None:
    """Write `path` in one step: formgrader may be reading it while a regrade runs."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".autograded-")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def write_autograded(
    course: Course,
    assignment_id: str,
    rows: Iterable[Mapping[str, Any]],
    *,
    students: list[str] | None = None,
) -> list[Path]:
    """Autograded notebooks of each (or each named) student from journal rows (`GradeStore.item_rows`)."""
    spec = course.assignment(assignment_id)
    template = load_template(course, spec)
    by_student: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        if row["assignment"] == assignment_id and (not students or row["student"] in students):
            by_student.setdefault(str(row["student"]), []).append(row)
    written = []
    for student, mine in by_student.items():
        path = autograded_notebook(course, template, student, mine)
        if path is not None:
            written.append(path)
    return written
