"""Frozen values the steps of grading hand to each other (see DESIGN.md's data flow)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

Status = Literal["passed", "partial", "failed", "error", "timeout", "missing"]
STATUSES: tuple[Status, ...] = ("passed", "partial", "failed", "error", "timeout", "missing")
SCORE_COLUMNS = (
    "student",
    "assignment",
    "item",
    "score",
    "max_score",
    "status",
    "diagnosis",
    "message",
)


@dataclass(frozen=True)
class Cell:
    """A notebook cell as grading sees it: nbgrader's ids and the source that will run."""

    index: int
    cell_type: str
    source: str
    grade_id: str | None = None
    points: float = 0.0
    is_grade: bool = False
    is_solution: bool = False
    is_locked: bool = False
    checksum: str = ""  # nbgrader's recorded checksum of a graded or locked cell
    checksum_edited: bool = False  # it matches neither the cell nor anything nbgrader wrote


@dataclass(frozen=True)
class Submission:
    """One student's notebook for one assignment, read and validated (or not)."""

    student_id: str
    assignment_id: str
    path: Path
    sha256: str
    cells: tuple[Cell, ...] = ()
    error: str | None = None  # why the notebook could not be read; it is then graded `error`


@dataclass(frozen=True)
class CellResult:
    """How one code cell ran in the worker (the student's claim, never a score by itself)."""

    index: int
    grade_id: str | None
    ok: bool
    ename: str = ""
    evalue: str = ""


@dataclass(frozen=True)
class ItemResult:
    """The judge's verdict on one item of one submission."""

    item: str
    score: float
    max_score: float
    status: Status
    diagnosis: str = ""
    message: str = ""
    duration_s: float = 0.0
    failing_input: str = ""


@dataclass(frozen=True)
class GradeResult:
    """Everything recorded for one submission: item verdicts and nbgrader's own test cells."""

    student_id: str
    assignment_id: str
    notebook_sha256: str
    suite_sha256: str
    items: tuple[ItemResult, ...]
    cells: tuple[CellResult, ...] = ()
    nbgrader_scores: dict[str, float] = field(default_factory=dict)
    status: str = "graded"  # graded | error
    message: str = ""
    duration_s: float = 0.0
    #: The student code's own run time (cells and calls) as its workers measured it; not stored.
    student_s: float = 0.0

    @property
    def score(self) -> float:
        return sum(i.score for i in self.items)

    @property
    def max_score(self) -> float:
        return sum(i.max_score for i in self.items)
