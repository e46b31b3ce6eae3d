"""Synthetic submissions: the release notebook with answer cells filled in from known code.

Sources of answers (trusted, instructor-side):
- the source notebook's solutions (solution delimiters removed);
- mutants, `assignments/<a>/mutants/*.py`: a module that gets functions wrong in a known way
  and says so in `EXPECT = {"softmax": "softmax.no_max_shift"}` (every other item passes,
  but those in `EXCUSED = ("train_mlp",)`: they call the broken function, so their outcome
  follows from it and is not judged);
- variants, `assignments/<a>/variants/*.py`: correct code in another style (loops, einsum,
  float32, lists), which must score full marks.
A module's code is split per contract function: each answer cell gets the module's imports,
its helpers and that one function, so the cell still starts with imports and `def`.
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from autograder.course.layout import AssignmentSpec, Course


@dataclass(frozen=True)
class CodeModule:
    """A mutant or variant: per-function cell sources and what the suite should say."""

    name: str
    path: Path
    doc: str
    cells: dict[str, str]
    expect: dict[str, str] = field(default_factory=dict)  # item -> diagnosis; others pass
    excused: tuple[str, ...] = ()  # items that call the broken function: not judged


def solution_sources(course: Course, spec: AssignmentSpec) -> dict[str, str]:
    """Answer cell sources of the source notebook, solution delimiters removed."""
    nb = nbformat.read(course.source_notebook(spec.assignment_id), as_version=4)
    out = {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("solution") and meta.get("grade_id"):
            lines = [
                ln
                for ln in cell.source.splitlines()
                if ln.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION")
            ]
            out[meta["grade_id"]] = "\n".join(lines)
    return out


def load_module(path: Path, functions: list[str]) -> CodeModule:
    """Read a mutant or variant and split it into one cell source per contract function."""
    text = path.read_text(encoding="utf-8")
    tree = ast.parse(text, filename=str(path))
    doc = ast.get_docstring(tree) or ""
    expect: dict[str, str] = {}
    excused: tuple[str, ...] = ()
    imports: list[str] = []
    helpers: list[str] = []
    defs: dict[str, str] = {}
    for node in tree.body:
        segment = ast.get_source_segment(text, node) or ""
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # the docstring
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "EXPECT" for t in node.targets
        ):
            expect = {str(k): str(v) for k, v in ast.literal_eval(node.value).items()}
            continue
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "EXCUSED" for t in node.targets
        ):
            excused = tuple(str(item) for item in ast.literal_eval(node.value))
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            imports.append(segment)
        elif isinstance(node, ast.FunctionDef) and node.name in functions:
            defs[node.name] = _with_decorators(text, node)
        else:
            helpers.append(segment if not isinstance(node, ast.FunctionDef) else _with_decorators(text, node))
    head = "\n".join(imports)
    cells = {}
    for name, body in defs.items():
        parts = [head] if head else []
        parts.append(body)
        parts += helpers
        cells[name] = "\n\n\n".join(parts)
    return CodeModule(path.stem, path, doc, cells, expect, excused)


def _with_decorators(text: str, node: ast.FunctionDef) -> str:
    lines = text.splitlines()
    start = min([d.lineno for d in node.decorator_list] + [node.lineno]) - 1
    end = node.end_lineno or node.lineno
    return "\n".join(lines[start:end])


def modules(spec: AssignmentSpec, kind: str) -> list[CodeModule]:
    """All mutants or variants of an assignment, by file name."""
    folder = spec.folder / kind
    names = [i.name for i in spec.items]
    return [load_module(p, names) for p in sorted(folder.glob("*.py"))] if folder.is_dir() else []


def build_notebook(release_nb: Path, answers: Mapping[str, str]) -> Any:
    """The release notebook with answer cells (by grade_id) replaced by `answers`."""
    nb = nbformat.read(release_nb, as_version=4)
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if cell.cell_type == "code" and grade_id in answers:
            cell.source = answers[grade_id]
    return nb


def quiz_answers(spec: AssignmentSpec, *, correct: set[str]) -> dict[str, str]:
    """Answer cell sources for the quiz: the key for questions in `correct`, a wrong answer else."""
    out = {}
    for q in spec.quiz:
        if q.id in correct:
            value: Any = q.answer
        elif q.kind == "choice":
            letters = "abcdefgh"[: max(2, len(q.choices))]
            value = next(c for c in letters if c != str(q.answer).lower())
        elif q.kind == "numeric":
            value = float(q.answer) + 10 * (q.tolerance or 1.0) + 1.0
        elif q.kind == "shape":
            value = tuple(reversed(q.answer)) if list(reversed(q.answer)) != list(q.answer) else (0,)
        else:
            value = ["a"] if sorted(q.answer) != ["a"] else ["b"]
        if q.kind == "shape" and isinstance(value, list):
            value = tuple(value)
        out[f"answer_{q.id}"] = f"answer_{q.id} = {value!r}"
    return out


def write_submission(course: Course, assignment_id: str, student_id: str, nb: Any) -> Path:
    """Save a notebook where `autograder grade` looks for it."""
    path = course.submitted_dir / student_id / assignment_id / f"{assignment_id}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path
