"""Reading and checking notebooks: format 4 JSON and nbgrader's cell metadata.

`read_cells` turns a `.ipynb` into `Cell`s or raises `NotebookError` with a sentence a
student can act on. `load_submission` does that for one student's file and never raises:
an unreadable notebook is a `Submission` with an `error`. `cells_to_run` is nbgrader's
autograde rule: the student's code cells, but every locked or test cell as the instructor
wrote it in source/ (hidden tests included), so a student cannot edit the tests away.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from autograder.models import Cell, Submission

MAX_NOTEBOOK_BYTES = 50 << 20
_DOWNLOAD = "Download it again from Jupyter and resubmit."


class NotebookError(Exception):
    """A notebook that cannot be graded; the message says what is wrong and what to do."""


def _checksum_edited(raw: Any, recorded: str) -> bool:
    """A recorded checksum that is not nbgrader's checksum of this very cell."""
    try:
        return bool(recorded) and nbgrader_checksum(raw) != recorded
    except Exception:  # nbgrader cannot even compute one: the cell's metadata is mangled
        return True


def nbgrader_checksum(cell: Mapping[str, Any]) -> str:
    """`nbgrader.utils.compute_checksum(cell)`, step for step (a test compares the two).

    Item access, so it takes the plain dict of a cell from `json.loads` as well as nbformat's
    NotebookNode; a list source is joined as nbformat joins it when it reads a notebook.
    Importing nbgrader.utils runs nbgrader's package init, which loads its Jupyter server
    extensions: ~0.6 s in every judge, for fifteen lines of hashing.
    """
    metadata = cell["metadata"]
    nbgrader = metadata.get("nbgrader", {})
    grade, solution = nbgrader.get("grade", False), nbgrader.get("solution", False)
    if "nbgrader" not in metadata or solution:
        locked: Any = False
    elif grade:
        locked = True
    else:
        locked = nbgrader.get("locked", False)
    source = cell["source"]
    if isinstance(source, list):
        source = "".join(source)
    m = hashlib.md5()
    for part in (source, cell["cell_type"], str(grade), str(solution), str(locked)):
        m.update(part.encode("utf-8"))
    m.update(metadata["nbgrader"]["grade_id"].encode("utf-8"))
    if grade:
        m.update(str(float(metadata["nbgrader"]["points"])).encode("utf-8"))
    return m.hexdigest()


def _cells_from(nb: Mapping[str, Any]) -> tuple[Cell, ...]:
    """Cells of a notebook that `_notebook_problem` found nothing wrong with."""
    cells = []
    for index, raw in enumerate(nb["cells"]):
        meta = raw.get("metadata", {}).get("nbgrader", {})
        source = raw["source"]
        if isinstance(source, list):
            source = "".join(source)
        recorded = meta.get("checksum", "")
        cells.append(
            Cell(
                index=index,
                cell_type=raw["cell_type"],
                source=source,
                grade_id=meta.get("grade_id"),
                points=float(meta.get("points", 0)) if meta.get("grade") else 0.0,
                is_grade=bool(meta.get("grade")),
                is_solution=bool(meta.get("solution")),
                is_locked=bool(meta.get("locked")),
                checksum=recorded,
                checksum_edited=bool(meta.get("locked") or meta.get("grade"))
                and _checksum_edited(raw, recorded),
            )
        )
    return tuple(cells)


def _is_number(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer too large for a float
        return False


def _cell_problem(cell: Any) -> tuple[str, str] | None:
    """What is wrong with one cell as grading reads it, and what to do; None if nothing."""
    if not isinstance(cell, dict):
        return "it is not a JSON object", _DOWNLOAD
    if cell.get("cell_type") not in ("code", "markdown", "raw"):
        return "its cell_type is not code, markdown or raw", _DOWNLOAD
    source = cell.get("source")
    if not isinstance(source, str) and not (
        isinstance(source, list) and all(isinstance(line, str) for line in source)
    ):
        return "its source is not text", _DOWNLOAD
    metadata = cell.get("metadata", {})
    if not isinstance(metadata, dict):
        return "its metadata is not a JSON object", _DOWNLOAD
    if "nbgrader" not in metadata:
        return None
    fresh = "Copy your answers into a fresh copy of the assignment and submit that."
    nbgrader = metadata["nbgrader"]
    if not isinstance(nbgrader, dict):
        return "its nbgrader metadata is not a JSON object", fresh
    for key in ("grade_id", "checksum"):
        if key in nbgrader and not isinstance(nbgrader[key], str):
            return f"its nbgrader {key} is not text", fresh
    if "points" in nbgrader and not _is_number(nbgrader["points"]):
        return "its nbgrader points are not a number", fresh
    for key in ("grade", "solution", "locked"):
        if key in nbgrader and not isinstance(nbgrader[key], bool):
            return f"its nbgrader {key} flag is not true or false", fresh
    return None


def _notebook_problem(nb: dict[str, Any]) -> tuple[str, str] | None:
    """What is wrong with a format-4 notebook as grading reads it, and what to do; None if nothing."""
    if not isinstance(nb.get("cells"), list):
        return ("its cells are not a list" if "cells" in nb else "it has no cells"), _DOWNLOAD
    if not isinstance(nb.get("metadata", {}), dict):
        return "its metadata is not a JSON object", _DOWNLOAD
    for number, cell in enumerate(nb["cells"], start=1):  # numbered as a student counts
        problem = _cell_problem(cell)
        if problem is not None:
            return f"cell {number}: {problem[0]}", problem[1]
    return None


def read_cells(data: bytes, *, name: str = "the notebook") -> tuple[Cell, ...]:
    """Parse and validate notebook bytes into cells.

    Validation is structural and covers exactly what grading reads: the list of cells and,
    in each, its type, source and nbgrader metadata. Outputs, execution counts, attachments
    and other fields are not checked, because grading re-runs the code and never reads them.
    """
    if not data.strip():
        raise NotebookError(f"{name} is empty. Save the notebook in Jupyter and submit it again.")
    if len(data) > MAX_NOTEBOOK_BYTES:
        raise NotebookError(
            f"{name} is {len(data) >> 20} MB, over the {MAX_NOTEBOOK_BYTES >> 20} MB limit; "
            "clear large outputs (Edit > Clear All Outputs) and submit it again."
        )
    try:
        text = data.decode("utf-8")
        raw = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        where = f", line {exc.lineno}" if isinstance(exc, json.JSONDecodeError) else ""
        raise NotebookError(f"{name} is not a valid notebook (JSON error{where}). {_DOWNLOAD}") from None
    if not isinstance(raw, dict) or ("cells" not in raw and "worksheets" not in raw):
        raise NotebookError(f"{name} is JSON but not a Jupyter notebook (no cells).")
    major = raw.get("nbformat")
    if major != 4:
        raise NotebookError(
            f"{name} uses notebook format {major!r}; this course needs format 4. "
            "Open it in JupyterLab, save it, and submit it again."
        )
    problem = _notebook_problem(raw)
    if problem is not None:
        raise NotebookError(f"{name} is not a valid notebook ({problem[0]}). {problem[1]}")
    return _cells_from(raw)


def notebook_sha256(path: Path) -> str:
    """The hash a graded submission is recorded under; "" for a file that cannot be read."""
    try:
        if path.stat().st_size > MAX_NOTEBOOK_BYTES:
            return ""
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return ""


def load_submission(student_id: str, assignment_id: str, path: Path) -> Submission:
    """Read one student's notebook; problems become `Submission.error`, never exceptions."""

    def unreadable(message: str, sha256: str = "") -> Submission:
        return Submission(student_id, assignment_id, path, sha256, error=message)

    if "\ufffd" in student_id:
        return unreadable(
            "the submission's folder name is not valid UTF-8; rename it (autograder collect does) "
            "and grade again."
        )
    try:
        size = path.stat().st_size
        if size > MAX_NOTEBOOK_BYTES:  # never read a huge file into memory
            return unreadable(
                f"{path.name} is {size >> 20} MB, over the {MAX_NOTEBOOK_BYTES >> 20} MB limit; clear large "
                "outputs (Edit > Clear All Outputs) and submit it again."
            )
        data = path.read_bytes()
    except FileNotFoundError:
        return unreadable(
            f"no {path.name} in the submission; submit the notebook named {assignment_id}.ipynb."
        )
    except OSError as exc:
        return unreadable(f"{path.name} cannot be read ({exc.strerror}).")
    digest = hashlib.sha256(data).hexdigest()
    try:
        cells = read_cells(data, name=path.name)
    except NotebookError as exc:
        return unreadable(str(exc), digest)
    return Submission(student_id, assignment_id, path, digest, cells=cells)


def read_source_cells(path: Path) -> tuple[Cell, ...]:
    """The instructor's notebook, which must be readable (else the course is broken)."""
    return read_cells(path.read_bytes(), name=str(path))


def cells_to_run(
    submission: tuple[Cell, ...], source: tuple[Cell, ...], release: tuple[Cell, ...] = ()
) -> list[tuple[int, str, str | None]]:
    """(index, code, grade_id) to execute: the student's cells with locked cells restored.

    Raises NotebookError when the notebook belongs to another assignment, or a test cell of
    the source is missing or duplicated, or a graded cell carries an edited checksum (one
    that is neither nbgrader's checksum of the cell nor the one the release gave it).
    """
    by_id = {c.grade_id: c for c in source if c.grade_id}
    seen: dict[str, int] = {}
    for cell in submission:
        if cell.grade_id:
            seen[cell.grade_id] = seen.get(cell.grade_id, 0) + 1
    graded = {c.grade_id for c in source if c.is_grade and c.grade_id}
    if graded and not graded & {c.grade_id for c in submission if c.is_grade}:
        raise NotebookError(
            "none of its graded cells belong to this assignment: is it the notebook of another "
            "assignment? Submit the notebook you were given for this one."
        )
    released = {c.grade_id: c.checksum for c in release if c.grade_id}
    for cell in submission:
        if cell.checksum_edited and released.get(cell.grade_id or "") != cell.checksum:
            raise NotebookError(
                f"the read-only cell '{cell.grade_id}' carries an edited checksum. Copy your answers "
                "into a fresh copy of the assignment and submit that."
            )
    for grade_id, count in seen.items():
        if count > 1:
            raise NotebookError(
                f"the cell '{grade_id}' appears {count} times; delete the copies "
                "(or start again from a fresh copy of the assignment)."
            )
    lost = [c.grade_id for c in source if c.is_grade and c.grade_id and c.grade_id not in seen]
    if lost:
        raise NotebookError(
            f"the notebook has lost its test cell '{lost[0]}' (deleted?). Copy your answers into "
            "a fresh copy of the assignment and submit that."
        )
    run = []
    for cell in submission:
        if cell.cell_type != "code":
            continue
        original = by_id.get(cell.grade_id) if cell.grade_id else None
        if original is not None and (original.is_locked or original.is_grade) and not original.is_solution:
            run.append((cell.index, original.source, cell.grade_id))
        else:
            run.append((cell.index, cell.source, cell.grade_id))
    return run
