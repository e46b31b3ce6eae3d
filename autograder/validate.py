"""Prove an assignment's suite before release: `autograder validate ASSIGNMENT`.

On a scratch copy of the course it releases the assignment with nbgrader, builds one
submission per case and grades them all with the real engine:
- the source solution must score full marks and pass every nbgrader test cell;
- the released stubs must score zero, every item `missing` or `failed`, every test cell failed;
- every mutant must fail exactly the items in its EXPECT with exactly that diagnosis and pass
  every other item;
- every variant (correct code in another style) must score full marks and pass every test cell;
and every misconception id of the contract for this assignment must be some mutant's EXPECT.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from autograder import batch
from autograder.course import contract, release, synth
from autograder.course.layout import AssignmentSpec, Course, copy_course
from autograder.models import GradeResult, ItemResult


@dataclass(frozen=True)
class Case:
    """One validation row: a submission built for a purpose and what it must get."""

    name: str
    kind: str  # solution | stub | mutant | variant | coverage
    expect: dict[str, str]  # item -> diagnosis that must be reported (mutants only)
    answers: dict[str, str]
    excused: tuple[str, ...] = ()  # items that call the broken function: not judged


@dataclass(frozen=True)
class Row:
    """The outcome of one case."""

    case: str
    kind: str
    expected: str
    got: str
    ok: bool


def cases(course: Course, spec: AssignmentSpec) -> list[Case]:
    """The submissions validation grades."""
    solution = synth.solution_sources(course, spec)
    right = synth.quiz_answers(spec, correct={q.id for q in spec.quiz})
    functions = {f: solution[f] for f in (i.name for i in spec.items)}
    out = [
        Case("source solution", "solution", {}, {**functions, **right}),
        Case("released stubs", "stub", {}, {}),
    ]
    for m in synth.modules(spec, "mutants"):
        out.append(Case(f"mutant {m.name}", "mutant", m.expect, {**functions, **m.cells, **right}, m.excused))
    for v in synth.modules(spec, "variants"):
        out.append(Case(f"variant {v.name}", "variant", {}, {**functions, **v.cells, **right}))
    return out


def _summary(items: tuple[ItemResult, ...]) -> str:
    bad = [f"{i.item}:{i.status}/{i.diagnosis or '-'}" for i in items if i.status != "passed"]
    return ", ".join(bad) if bad else "all passed"


def judge_case(case: Case, result: GradeResult) -> Row:
    """Compare one graded case with what it must get."""
    items = result.items
    # nbgrader's own test cells (visible checks and hidden blocks) as they ran in the worker.
    cells_failed = sorted(g for g, s in result.nbgrader_scores.items() if s == 0)
    if case.kind in ("solution", "variant"):
        ok = all(i.status == "passed" for i in items) and not cells_failed
        got = _summary(items) + (
            f"; notebook test cells failed: {', '.join(cells_failed)}" if cells_failed else ""
        )
        return Row(case.name, case.kind, "full marks", got, ok)
    if case.kind == "stub":
        cells_passed = sorted(g for g, s in result.nbgrader_scores.items() if s > 0)
        ok = all(i.score == 0 and i.status in ("missing", "failed") for i in items) and not cells_passed
        got = f"score {sum(i.score for i in items):g}; " + ", ".join(sorted({i.status for i in items}))
        if cells_passed:
            got += f"; notebook test cells passed: {', '.join(cells_passed)}"
        return Row(case.name, case.kind, "zero, missing", got, ok)
    wrong = []
    for i in items:
        if i.item in case.excused:
            continue
        want = case.expect.get(i.item)
        if want is None and i.status != "passed":
            wrong.append(f"{i.item} should pass, got {i.status}/{i.diagnosis}")
        elif want is not None and (i.status == "passed" or i.diagnosis != want):
            wrong.append(f"{i.item} should be {want}, got {i.status}/{i.diagnosis or '-'}")
    expected = ", ".join(f"{k}:{v}" for k, v in case.expect.items())
    got = (
        "; ".join(wrong)
        if wrong
        else ", ".join(f"{i.item}:{i.diagnosis}" for i in items if i.item in case.expect)
    )
    return Row(case.name, case.kind, expected, got, not wrong and bool(case.expect))


def coverage_rows(spec: AssignmentSpec) -> list[Row]:
    """One row per contract misconception id: which mutant covers it."""
    covered: dict[str, str] = {}
    for m in synth.modules(spec, "mutants"):
        for diagnosis in m.expect.values():
            covered.setdefault(diagnosis, m.name)
    rows = []
    for diagnosis in contract.MISCONCEPTIONS.get(spec.assignment_id, ()):
        mutant = covered.get(diagnosis)
        rows.append(
            Row(f"covers {diagnosis}", "coverage", "a mutant", mutant or "no mutant", mutant is not None)
        )
    if len(synth.modules(spec, "variants")) < 4:
        rows.append(
            Row("variants", "coverage", "at least 4", str(len(synth.modules(spec, "variants"))), False)
        )
    return rows


def validate(course: Course, assignment_id: str, *, workers: int | None = None) -> list[Row]:
    """Run every case on a scratch copy of the course; one Row each."""
    spec = course.assignment(assignment_id)
    with tempfile.TemporaryDirectory(prefix="autograder-validate-") as tmp:
        scratch = copy_course(course, Path(tmp) / "course")
        release.release(scratch, assignment_id)
        scratch_spec = scratch.assignment(assignment_id)
        all_cases = cases(scratch, scratch_spec)
        names = {}
        for n, case in enumerate(all_cases):
            student = f"case{n:03d}"
            names[student] = case
            nb = synth.build_notebook(scratch.release_notebook(assignment_id), case.answers)
            synth.write_submission(scratch, assignment_id, student, nb)
        summary = batch.grade(scratch, assignment_id, workers=workers, force=True)
        results = {r.student_id: r for r in summary.results}
        rows = []
        for student, case in names.items():
            result = results.get(student)
            if result is None:
                rows.append(Row(case.name, case.kind, "a grade", "not graded", False))
            else:
                rows.append(judge_case(case, result))
    return rows + coverage_rows(spec)
