"""The benchmark's class: N synthetic ps4 submissions, a realistic and deterministic mix.

Built like the demo's class (`autograder.course.synth`): the source solution, correct variants in
other styles, one student per mutant, mixes of correct and mutant answers, two stubs (one left
blank, one that answered a single function), one whose function raises, and one slow but
finishing notebook (loop-based softmax after about a second of pure-Python work in its cell).
No notebook loops forever: nbgrader would sit out its cell timeout on it.
"""

from __future__ import annotations

import random
import shutil
from dataclasses import dataclass
from pathlib import Path

from autograder.course import release, synth
from autograder.course.layout import AssignmentSpec, Course, copy_course, load_course

ASSIGNMENT = "ps4-softmax"
SLOW_LOOP = 10_000_000  # iterations of `acc += i % 7` at cell level: about 1 s of CPU


@dataclass(frozen=True)
class Student:
    """One synthetic submission: its id, what kind it is, and its answer cells by grade_id."""

    student_id: str
    kind: str
    answers: dict[str, str]


def _slow_softmax(loops_cell: str) -> str:
    """The loop-based variant's softmax cell after about a second of pure-Python busy work."""
    return (
        f"{loops_cell}\n\n\n"
        "# precompute something for no reason: about a second of pure-Python work\n"
        "_acc = 0\n"
        f"for _i in range({SLOW_LOOP}):\n"
        "    _acc += _i % 7\n"
    )


def _raising(name: str, solution: str) -> str:
    """The solution renamed, and `name` failing on every call with an IndexError."""
    inner = solution.replace(f"def {name}(", f"def _{name}_inner(", 1)
    return (
        f"{inner}\n\n\ndef {name}(*args, **kwargs):\n    data = list(args)\n    return data[len(data) + 1]\n"
    )


class _Builder:
    """Draws the class's answers from the course's solution, variants and mutants."""

    def __init__(self, course: Course, spec: AssignmentSpec, seed: int) -> None:
        self.rng = random.Random(f"bench:{seed}")
        self.spec = spec
        self.solution = synth.solution_sources(course, spec)
        self.functions = [i.name for i in spec.items]
        self.variants = synth.modules(spec, "variants")
        self.mutants = synth.modules(spec, "mutants")

    def quiz(self, share: float) -> dict[str, str]:
        right = {q.id for q in self.spec.quiz if self.rng.random() < share}
        return synth.quiz_answers(self.spec, correct=right)

    def base(self) -> dict[str, str]:
        return {f: self.solution[f] for f in self.functions}

    def specials(self) -> list[tuple[str, dict[str, str]]]:
        """The students every batch has, whatever its size (the slow one first)."""
        loops = next(v for v in self.variants if v.name == "loops")
        kept = self.functions[0]
        raises = self.functions[2 % len(self.functions)]
        return [
            ("slow", {**self.base(), "softmax": _slow_softmax(loops.cells["softmax"]), **self.quiz(0.9)}),
            ("correct", {**self.base(), **self.quiz(1.0)}),
            ("raises", {**self.base(), raises: _raising(raises, self.solution[raises]), **self.quiz(0.7)}),
            ("stub", {}),
            ("partial", {kept: self.solution[kept], **self.quiz(0.3)}),
        ]

    def catalogue(self) -> list[tuple[str, dict[str, str]]]:
        """Every variant and every mutant once."""
        out = [("variant", {**self.base(), **v.cells, **self.quiz(0.9)}) for v in self.variants]
        out += [("mutant", {**self.base(), **m.cells, **self.quiz(0.6)}) for m in self.mutants]
        return out

    def mix(self) -> tuple[str, dict[str, str]]:
        """Mostly correct; each function a mutant with probability 0.3."""
        answers = self.base()
        wrong = False
        for f in self.functions:
            choices = [m for m in self.mutants if f in m.cells]
            if choices and self.rng.random() < 0.3:
                answers[f] = self.rng.choice(choices).cells[f]
                wrong = True
        answers.update(self.quiz(self.rng.choice([0.4, 0.7, 0.9, 1.0])))
        return ("mix-buggy" if wrong else "mix-correct", answers)


def class_list(course: Course, spec: AssignmentSpec, n: int, *, seed: int = 4) -> list[Student]:
    """N students: the specials, then the catalogue, then mixes; the same for the same seed."""
    builder = _Builder(course, spec, seed)
    stories = builder.specials() + builder.catalogue()
    while len(stories) < n:
        stories.append(builder.mix())
    return [Student(f"s{i:03d}", kind, answers) for i, (kind, answers) in enumerate(stories[:n])]


def build_template(repo: Path, into: Path, n: int, *, seed: int = 4) -> tuple[Course, list[Student]]:
    """A copy of the course with ps4 released and N submissions written; nothing graded."""
    course = copy_course(load_course(repo), into)
    release.release(course, ASSIGNMENT)
    spec = course.assignment(ASSIGNMENT)
    students = class_list(course, spec, n, seed=seed)
    release_nb = course.release_notebook(ASSIGNMENT)
    for s in students:
        synth.write_submission(course, ASSIGNMENT, s.student_id, synth.build_notebook(release_nb, s.answers))
    return course, students


def clone(template: Path, into: Path, *, keep: set[str] | None = None) -> Course:
    """A private copy of the template (ungraded); with `keep`, only those students' submissions."""
    if into.exists():
        shutil.rmtree(into)
    shutil.copytree(template, into)
    if keep is not None:
        for folder in (into / "submitted").iterdir():
            if folder.name not in keep:
                shutil.rmtree(folder)
    return load_course(into)
