"""The course on disk: nbgrader's config and layout, and each assignment's spec.

`load_course(root)` reads `nbgrader_config.py` (with traitlets, as nbgrader does) and
`assignments/<a>/` for each assignment: `assignment.toml` (points and limits per item),
`quiz.toml` (the quiz bank), `misconceptions.toml` (titles and hints) and the hidden suite
`test_*.py`. Every problem is a `CourseError` that names the file and what to fix.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autograder.course.late import LatePolicy, course_policy, read_policy
from autograder.errors import CourseError, UnknownAssignmentError

ITEM_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
QUIZ_KINDS = ("choice", "numeric", "shape", "multi")


@dataclass(frozen=True)
class ItemSpec:
    """One graded function: its points, its grade cell and its time budget."""

    name: str
    points: float
    timeout_s: float = 20.0
    call_timeout_s: float = 10.0

    @property
    def grade_id(self) -> str:
        return f"test_{self.name}"


@dataclass(frozen=True)
class QuizQuestion:
    """One quiz question and its key (trusted side only)."""

    id: str
    kind: str
    points: float
    prompt: str
    answer: Any
    hint: str = ""
    choices: tuple[str, ...] = ()
    tolerance: float = 0.0

    @property
    def item(self) -> str:
        return f"quiz.{self.id}"

    @property
    def grade_id(self) -> str:
        return f"quiz_{self.id}"

    @property
    def variable(self) -> str:
        return f"answer_{self.id}"


@dataclass(frozen=True)
class Misconceptions:
    """Titles and hints for an assignment's misconception ids."""

    entries: dict[str, tuple[str, str]] = field(default_factory=dict)

    def title(self, diagnosis: str) -> str:
        return self.entries.get(diagnosis, ("", ""))[0]

    def hint(self, diagnosis: str) -> str:
        return self.entries.get(diagnosis, ("", ""))[1]


@dataclass(frozen=True)
class AssignmentSpec:
    """Everything about one assignment that is not a notebook."""

    assignment_id: str
    folder: Path
    title: str
    items: tuple[ItemSpec, ...]
    quiz: tuple[QuizQuestion, ...]
    misconceptions: Misconceptions
    suite_files: tuple[Path, ...]
    suite_sha256: str
    cell_timeout_s: float = 20.0
    notebook_timeout_s: float = 60.0
    #: Limits calibrated from the reference solution (`judge.limits`, docs/authoring.md): this
    #: multiple of its time on the same input, at least the floor, at most the ceiling
    #: (`call_timeout_s` of the item, `cell_timeout_s`).
    limit_multiple: float = 50.0
    call_floor_s: float = 1.5
    cell_floor_s: float = 2.0
    late: LatePolicy = field(default_factory=LatePolicy)

    @property
    def max_points(self) -> float:
        return sum(i.points for i in self.items) + sum(q.points for q in self.quiz)

    def item_names(self) -> list[str]:
        return [i.name for i in self.items] + [q.item for q in self.quiz]

    def grade_ids(self) -> dict[str, float]:
        """nbgrader grade cell id -> points, as the source notebook must carry them."""
        out = {i.grade_id: i.points for i in self.items}
        out.update({q.grade_id: q.points for q in self.quiz})
        return out


@dataclass(frozen=True)
class Course:
    """Paths of an nbgrader course and its gradebook URL."""

    root: Path
    course_id: str
    db_url: str
    #: The course's late policy; an assignment's [late] table overrides it.
    late_policy: LatePolicy = field(default_factory=LatePolicy)

    @property
    def source_dir(self) -> Path:
        return self.root / "source"

    @property
    def release_dir(self) -> Path:
        return self.root / "release"

    @property
    def submitted_dir(self) -> Path:
        return self.root / "submitted"

    @property
    def autograded_dir(self) -> Path:
        return self.root / "autograded"

    @property
    def feedback_dir(self) -> Path:
        return self.root / "feedback"

    @property
    def reports_dir(self) -> Path:
        return self.root / "reports"

    @property
    def assignments_dir(self) -> Path:
        return self.root / "assignments"

    @property
    def state_dir(self) -> Path:
        """Our own working files (the grade lock), next to the gradebook."""
        return self.root / ".autograder"

    def source_notebook(self, assignment_id: str) -> Path:
        return self.source_dir / assignment_id / f"{assignment_id}.ipynb"

    def release_notebook(self, assignment_id: str) -> Path:
        return self.release_dir / assignment_id / f"{assignment_id}.ipynb"

    def assignment_ids(self) -> list[str]:
        if not self.assignments_dir.is_dir():
            return []
        return sorted(p.parent.name for p in self.assignments_dir.glob("*/assignment.toml"))

    def assignment(self, assignment_id: str) -> AssignmentSpec:
        folder = self.assignments_dir / assignment_id
        if not (folder / "assignment.toml").is_file():
            found = ", ".join(self.assignment_ids()) or "none"
            raise UnknownAssignmentError(
                f"no assignment '{assignment_id}' in {self.assignments_dir} (found: {found})."
            )
        return load_assignment(folder, late=self.late_policy)

    def hidden_paths(self) -> list[Path]:
        """What a worker must not see of the course (the package's judge side hides with every worker)."""
        names = [
            "source",
            "release",
            "assignments",
            "submitted",
            "autograded",
            "feedback",
            "reports",
            ".autograder",
            "nbgrader_config.py",
            "bench",
            "tests",
            ".git",
        ]
        paths = [self.root / n for n in names]
        if self.db_url.startswith("sqlite:///"):
            db = Path(self.db_url.removeprefix("sqlite:///"))
            db = db if db.is_absolute() else self.root / db
            paths += [db, db.with_name(db.name + "-journal"), db.with_name(db.name + "-wal")]
        return [p for p in paths if p.exists()]

    def submissions(self, assignment_id: str, students: list[str] | None = None) -> list[tuple[str, Path]]:
        """(student_id, notebook path) for each submission, in student order."""
        found = []
        if not self.submitted_dir.is_dir():
            return []
        for student_dir in sorted(self.submitted_dir.iterdir()):
            if not student_dir.is_dir() or (students and student_dir.name not in students):
                continue
            folder = student_dir / assignment_id
            if folder.is_dir():
                found.append((readable_id(student_dir.name), folder / f"{assignment_id}.ipynb"))
        return found


def readable_id(name: str) -> str:
    """A folder name as a student id that any database and CSV can hold (bytes that are not
    UTF-8 become U+FFFD instead of breaking the batch)."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def load_course(root: Path) -> Course:
    """Read the course at `root` (its `nbgrader_config.py`)."""
    root = root.resolve()
    config_file = root / "nbgrader_config.py"
    if not config_file.is_file():
        raise CourseError(f"no nbgrader_config.py in {root}: run autograder from the course root.")
    try:
        from traitlets.config.loader import PyFileConfigLoader

        config = PyFileConfigLoader(config_file.name, path=str(root)).load_config()
    except Exception as exc:  # a user's Python file can fail in any way
        raise CourseError(f"{config_file}: cannot be read ({type(exc).__name__}: {exc}).") from None
    directory = config.get("CourseDirectory", {})
    course_id = str(directory.get("course_id", "") or "default_course")
    db_url = str(directory.get("db_url", "") or "sqlite:///gradebook.db")
    if db_url.startswith("sqlite:///") and not db_url.startswith("sqlite:////"):
        db_url = f"sqlite:///{root / db_url.removeprefix('sqlite:///')}"
    late = course_policy(config, str(config_file))
    return Course(root=root, course_id=course_id, db_url=db_url, late_policy=late)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise CourseError(f"{path}: not valid TOML ({exc}).") from None
    except OSError as exc:
        raise CourseError(f"{path}: cannot be read ({exc.strerror}).") from None


def _number(table: dict[str, Any], key: str, default: float, where: str) -> float:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise CourseError(f"{where}: '{key}' must be a non-negative number, not {value!r}.")
    return float(value)


def _items(data: dict[str, Any], where: Path) -> tuple[ItemSpec, ...]:
    items = []
    for name, table in data.get("items", {}).items():
        if not ITEM_NAME.match(name) or not isinstance(table, dict):
            raise CourseError(f"{where}: [items.{name}] must be a table named like a function.")
        ctx = f"{where} [items.{name}]"
        timeout = _number(table, "timeout_s", 20.0, ctx)
        items.append(
            ItemSpec(
                name=name,
                points=_number(table, "points", 1.0, ctx),
                timeout_s=timeout,
                call_timeout_s=_number(table, "call_timeout_s", min(timeout, 10.0), ctx),
            )
        )
    if not items:
        raise CourseError(f"{where}: no [items.<function>] tables; list the graded functions.")
    return tuple(items)


def _quiz(path: Path) -> tuple[QuizQuestion, ...]:
    if not path.is_file():
        return ()
    questions = []
    seen: set[str] = set()
    for n, q in enumerate(_read_toml(path).get("question", []), 1):
        ctx = f"{path} question {n}"
        qid = q.get("id")
        if not isinstance(qid, str) or not ITEM_NAME.match(qid) or qid in seen:
            raise CourseError(f"{ctx}: needs a unique lower_snake_case 'id'.")
        seen.add(qid)
        kind = q.get("kind")
        if kind not in QUIZ_KINDS:
            raise CourseError(f"{ctx}: 'kind' must be one of {', '.join(QUIZ_KINDS)}, not {kind!r}.")
        if "answer" not in q:
            raise CourseError(f"{ctx}: has no 'answer'.")
        questions.append(
            QuizQuestion(
                id=qid,
                kind=kind,
                points=_number(q, "points", 1.0, ctx),
                prompt=str(q.get("prompt", "")),
                answer=q["answer"],
                hint=str(q.get("hint", "")),
                choices=tuple(str(c) for c in q.get("choices", ())),
                tolerance=_number(q, "tolerance", 0.0, ctx),
            )
        )
    return tuple(questions)


def _misconceptions(path: Path) -> Misconceptions:
    if not path.is_file():
        return Misconceptions()
    entries = {}
    for key, table in _read_toml(path).items():
        if not isinstance(table, dict) or "hint" not in table:
            raise CourseError(f'{path}: ["{key}"] needs a title and a hint.')
        entries[key] = (str(table.get("title", key)), str(table["hint"]))
    return Misconceptions(entries)


def load_assignment(folder: Path, *, late: LatePolicy | None = None) -> AssignmentSpec:
    """Read and check `assignments/<a>/`; its `[late]` table overrides the course's `late` policy."""
    spec_file = folder / "assignment.toml"
    data = _read_toml(spec_file)
    head = data.get("assignment", {})
    suite = tuple(sorted(folder.glob("test_*.py")))
    if not suite:
        raise CourseError(f"{folder}: no hidden suite (test_*.py files).")
    digest = hashlib.sha256()
    for path in [spec_file, *suite, folder / "quiz.toml", folder / "misconceptions.toml"]:
        if path.is_file():
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    for path in suite:
        try:
            compile(path.read_bytes(), str(path), "exec")
        except SyntaxError as exc:
            raise CourseError(f"{path}: syntax error on line {exc.lineno}: {exc.msg}.") from None
    return AssignmentSpec(
        assignment_id=folder.name,
        folder=folder,
        title=str(head.get("title", folder.name)),
        items=_items(data, spec_file),
        quiz=_quiz(folder / "quiz.toml"),
        misconceptions=_misconceptions(folder / "misconceptions.toml"),
        suite_files=suite,
        suite_sha256=digest.hexdigest(),
        cell_timeout_s=_number(head, "cell_timeout_s", 20.0, str(spec_file)),
        notebook_timeout_s=_number(head, "notebook_timeout_s", 60.0, str(spec_file)),
        limit_multiple=_number(head, "limit_multiple", 50.0, str(spec_file)),
        call_floor_s=_number(head, "call_floor_s", 1.5, str(spec_file)),
        cell_floor_s=_number(head, "cell_floor_s", 2.0, str(spec_file)),
        late=_late(data, late or LatePolicy(), spec_file),
    )


def _late(data: dict[str, Any], course: LatePolicy, where: Path) -> LatePolicy:
    table = data.get("late", {})
    if not isinstance(table, dict):
        raise CourseError(f"{where}: [late] must be a table (method, due, per_day_percent, ...).")
    return read_policy(table, course, f"{where} [late]") if table else course


def copy_course(course: Course, into: Path) -> Course:
    """A fresh copy of the course's config, sources and specs (no grades, no submissions)."""
    if into.exists():
        shutil.rmtree(into)
    into.mkdir(parents=True)
    for name in ("nbgrader_config.py", "source", "assignments"):
        src = course.root / name
        if src.is_dir():
            shutil.copytree(src, into / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif src.is_file():
            shutil.copy2(src, into / name)
    return load_course(into)
