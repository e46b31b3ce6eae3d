"""The demo: a copy of the course, a synthetic class, then release, grade and report.

The class is built from the release notebook (`synth`): correct solutions in several styles
(the source's and every variant), one student per mutant (each misconception), students with
missing answers, one whose function raises, one whose function never returns, and a mix of the
above to make at least 30. It is deterministic: the same course gives the same class.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from autograder import batch
from autograder.course import release, synth
from autograder.course.layout import AssignmentSpec, Course, copy_course
from autograder.views import report

NAMES = [
    "ada",
    "alan",
    "barbara",
    "claude",
    "donald",
    "edsger",
    "frances",
    "grace",
    "hedy",
    "ida",
    "john",
    "katherine",
    "leslie",
    "margaret",
    "niklaus",
    "olga",
    "peter",
    "radia",
    "shafi",
    "tim",
    "ursula",
    "vint",
    "whitfield",
    "xavier",
    "yann",
    "zuse",
    "anita",
    "brian",
    "cynthia",
    "dennis",
    "emmy",
    "fei",
    "geoffrey",
]


@dataclass(frozen=True)
class DemoStudent:
    """One synthetic student: which code each answer cell holds, and why."""

    student_id: str
    story: str
    answers: dict[str, str]


def _raising(name: str, solution: str) -> str:
    """The solution, but failing on every call with an IndexError the student caused."""
    return solution.replace(f"def {name}(", f"def _{name}_inner(", 1) + (
        f"\n\n\ndef {name}(*args, **kwargs):\n    data = list(args)\n    return data[len(data) + 1]\n"
    )


def _looping(name: str) -> str:
    return f"def {name}(*args, **kwargs):\n    while True:\n        pass\n"


def class_list(course: Course, spec: AssignmentSpec, *, size: int = 30, seed: int = 7) -> list[DemoStudent]:
    """The synthetic class for one assignment."""
    rng = random.Random(f"{seed}:{spec.assignment_id}")
    solution = synth.solution_sources(course, spec)
    functions = [i.name for i in spec.items]
    quiz_ids = [q.id for q in spec.quiz]
    variants = synth.modules(spec, "variants")
    mutants = synth.modules(spec, "mutants")
    stories: list[tuple[str, dict[str, str]]] = []

    def quiz(share: float) -> dict[str, str]:
        right = {q for q in quiz_ids if rng.random() < share}
        return synth.quiz_answers(spec, correct=right)

    def base() -> dict[str, str]:
        return {f: solution[f] for f in functions}

    stories.append(("the source solution, every quiz answer right", {**base(), **quiz(1.0)}))
    for v in variants:
        stories.append((f"correct, in another style ({v.name})", {**base(), **v.cells, **quiz(0.9)}))
    for m in mutants:
        stories.append((f"misconception: {', '.join(m.expect.values())}", {**base(), **m.cells, **quiz(0.6)}))
    missing = rng.choice(functions)
    stories.append(
        (f"left {missing} unanswered", {f: solution[f] for f in functions if f != missing} | quiz(0.5))
    )
    kept = rng.choice(functions)
    stories.append((f"answered only {kept}", {kept: solution[kept], **quiz(0.2)}))
    target = functions[0]
    stories.append(
        (f"{target} raises IndexError", {**base(), target: _raising(target, solution[target]), **quiz(0.7)})
    )
    target = functions[-1]
    stories.append((f"{target} never returns", {**base(), target: _looping(target), **quiz(0.7)}))
    by_function: dict[str, list[synth.CodeModule]] = {}
    for m in mutants:
        for f in m.cells:
            by_function.setdefault(f, []).append(m)
    while len(stories) < size:
        answers = base()
        wrong = []
        for f in functions:
            if by_function.get(f) and rng.random() < 0.3:
                m = rng.choice(by_function[f])
                answers[f] = m.cells[f]
                wrong.append(m.name)
        answers.update(quiz(rng.choice([0.4, 0.7, 0.9])))
        stories.append((f"a mix ({', '.join(wrong) or 'all correct'})", answers))
    return [
        DemoStudent(f"{NAMES[i % len(NAMES)]}{'' if i < len(NAMES) else i // len(NAMES)}", story, answers)
        for i, (story, answers) in enumerate(stories)
    ]


def build_class(course: Course, spec: AssignmentSpec, *, size: int = 30) -> list[DemoStudent]:
    """Write the synthetic class into the course's submitted/ folder."""
    students = class_list(course, spec, size=size)
    release_nb = course.release_notebook(spec.assignment_id)
    for s in students:
        synth.write_submission(
            course, spec.assignment_id, s.student_id, synth.build_notebook(release_nb, s.answers)
        )
    return students


def run(
    course: Course,
    *,
    into: Path,
    assignments: list[str] | None = None,
    size: int = 30,
    workers: int | None = None,
    say: Callable[[str], None] = print,
    progress: Callable[[str], Callable[[batch.Progress], None] | None] = lambda _: None,
) -> list[Path]:
    """Copy the course to `into`, then release, build a class, grade and report each assignment.

    `progress(assignment_id)` gives the progress callback for that assignment's grading.
    """
    demo = copy_course(course, into)
    reports = []
    wanted = [a for a in assignments or demo.assignment_ids() if demo.source_notebook(a).is_file()]
    started = time.monotonic()
    for n, assignment_id in enumerate(wanted, 1):
        spec = demo.assignment(assignment_id)
        release.release(demo, assignment_id)
        students = build_class(demo, spec, size=size)
        step = f"[{n}/{len(wanted)}] {assignment_id}"
        say(f"{step}: released; grading a synthetic class of {len(students)} students")
        summary = batch.grade(demo, assignment_id, workers=workers, on_progress=progress(assignment_id))
        path = report.write_report(demo, assignment_id)
        slowest = max(summary.results, key=lambda r: r.duration_s, default=None)
        slow = f"; slowest {slowest.student_id} ({slowest.duration_s:.1f} s)" if slowest else ""
        say(
            f"{step}: graded {summary.graded} in {summary.seconds:.1f} s{slow} "
            f"-> {summary.scores_csv}"
        )
        reports.append(path)
    say(f"demo: {len(reports)} assignments in {time.monotonic() - started:.1f} s")
    return reports
