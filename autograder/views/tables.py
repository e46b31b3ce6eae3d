"""Gradebook -> tidy pandas tables: what every report, export and dashboard shows.

A Python API too: `load(course_root, assignment_id)` returns them as DataFrames.
- `scores`: one row a student and item, the columns of interfaces.md;
- `gradebook`: one row a student, one column an item, then raw_total, late_penalty, total,
  max_total, percent, when it was submitted, how late (days_late; late beyond the grace
  period) and the items that need manual review;
- `items`: one row an item: mean score, pass rate, difficulty, discrimination (correlation of
  the item with the rest of the total), mean time taken, the three most frequent diagnoses;
- `misconceptions`: each diagnosis with its count and the students who hit it;
- `runs`: one row a graded student (runs.csv), and `slowest_students` from it.

Every score is nbgrader's: a grader's manual score where one was given (formgrader), else the
judge's auto score; `scores` also has auto_score, manual_score and needs_manual_grade, and
totals are less the late policy's penalty (brought up to date first), as `nbgrader export`
prints them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from autograder.course.layout import load_course
from autograder.models import SCORE_COLUMNS
from autograder.store import scores as score_files
from autograder.store.gradebook import GradeStore, SubmissionRecord

REVIEW_COLUMNS = ["auto_score", "manual_score", "needs_manual_grade"]


@dataclass(frozen=True)
class Tables:
    """The report's DataFrames for one assignment."""

    scores: pd.DataFrame
    gradebook: pd.DataFrame
    items: pd.DataFrame
    misconceptions: pd.DataFrame
    #: One row a graded student: score, status, grading time, items that timed out (runs.csv).
    runs: pd.DataFrame = field(default_factory=pd.DataFrame)


def scores_frame(store: GradeStore, assignment_id: str) -> pd.DataFrame:
    rows = store.item_rows(assignment_id)
    frame = pd.DataFrame(
        rows, columns=[*SCORE_COLUMNS, *REVIEW_COLUMNS, "position", "duration_s", "failing_input"]
    )
    return frame


def _lateness(
    gradebook: pd.DataFrame, scores: pd.DataFrame, submissions: dict[str, SubmissionRecord]
) -> None:
    """Columns of the gradebook table for late work and manual review (in place).

    total becomes nbgrader's score: the raw total less the late penalty.
    """
    students = gradebook["student"]

    def of(name: str, default: Any) -> list[Any]:
        return [getattr(submissions[s], name) if s in submissions else default for s in students]

    raw = gradebook["total"]
    penalty = pd.Series(of("late_penalty", 0.0), index=gradebook.index, dtype=float)
    position = list(gradebook.columns).index("total")
    gradebook.insert(position, "raw_total", raw)
    gradebook.insert(position + 1, "late_penalty", penalty)
    gradebook["total"] = raw - penalty
    gradebook["percent"] = (100 * gradebook["total"] / gradebook["max_total"]).round(1)
    stamps = of("timestamp", None)
    gradebook["submitted_at"] = [t.isoformat(sep=" ", timespec="seconds") if t else "" for t in stamps]
    gradebook["days_late"] = [round(x / 86400, 2) for x in of("seconds_late", 0.0)]
    gradebook["late"] = of("is_late", False)
    review = scores[scores["needs_manual_grade"].astype(bool)]
    flagged = review.groupby("student")["item"].apply(lambda s: " ".join(s))
    gradebook["needs_review"] = [flagged.get(s, "") for s in students]


def _gradebook(scores: pd.DataFrame) -> pd.DataFrame:
    order = list(dict.fromkeys(scores.sort_values("position")["item"]))
    wide = scores.pivot(index="student", columns="item", values="score")[order]
    wide["total"] = wide.sum(axis=1)
    max_total = scores.groupby("student")["max_score"].sum()
    wide["max_total"] = max_total
    wide["percent"] = (100 * wide["total"] / wide["max_total"]).round(1)
    wide.columns.name = None
    return wide.reset_index()


def _discrimination(scores: pd.DataFrame) -> pd.Series:
    wide = scores.pivot(index="student", columns="item", values="score")
    total = wide.sum(axis=1)
    out = {}
    for item in wide.columns:
        rest = total - wide[item]
        if wide[item].std() == 0 or rest.std() == 0 or len(wide) < 3:
            out[item] = np.nan
        else:
            out[item] = float(np.corrcoef(wide[item], rest)[0, 1])
    return pd.Series(out)


def _items(scores: pd.DataFrame) -> pd.DataFrame:
    grouped = scores.groupby("item", sort=False)
    table = pd.DataFrame(
        {
            "max_score": grouped["max_score"].max(),
            "mean_score": grouped["score"].mean(),
            "pass_rate": grouped["status"].apply(lambda s: float((s == "passed").mean())),
            "error_rate": grouped["status"].apply(lambda s: float(s.isin(["error", "timeout"]).mean())),
            "mean_time_s": grouped["duration_s"].mean(),
        }
    )
    table["difficulty"] = 1 - table["mean_score"] / table["max_score"].where(table["max_score"] > 0)
    table["discrimination"] = _discrimination(scores)

    def top(diagnoses: pd.Series) -> str:
        counts = diagnoses[diagnoses != ""].value_counts().head(3)
        return "; ".join(f"{d} ({n})" for d, n in counts.items())

    table["top_diagnoses"] = grouped["diagnosis"].apply(top)
    order = list(dict.fromkeys(scores.sort_values("position")["item"]))
    return table.loc[order].round(4).reset_index()


def _misconceptions(scores: pd.DataFrame) -> pd.DataFrame:
    hit = scores[scores["diagnosis"] != ""]
    if hit.empty:
        return pd.DataFrame(columns=["diagnosis", "count", "students"])
    grouped = hit.groupby("diagnosis")
    table = pd.DataFrame(
        {
            "count": grouped.size(),
            "students": grouped["student"].apply(lambda s: " ".join(sorted(set(s)))),
        }
    ).sort_values("count", ascending=False)
    return table.reset_index()


def tables(store: GradeStore, assignment_id: str) -> Tables:
    """The report's tables; late penalties are brought up to date with the late policy first."""
    spec = store.course.assignment(assignment_id)
    store.apply_late_penalties(spec)
    scores = scores_frame(store, assignment_id)
    shown = scores[[*SCORE_COLUMNS, *REVIEW_COLUMNS]]
    if scores.empty:
        empty = pd.DataFrame()
        return Tables(shown, empty, empty, empty)
    runs = pd.DataFrame(score_files.run_table(store, assignment_id), columns=list(score_files.RUN_COLUMNS))
    gradebook = _gradebook(scores)
    _lateness(gradebook, scores, store.submissions(spec))
    return Tables(shown, gradebook, _items(scores), _misconceptions(scores), runs)


#: How many students the report's "slowest students" table lists.
SLOWEST = 10


def slowest_students(runs: pd.DataFrame, n: int = SLOWEST) -> pd.DataFrame:
    """The `n` students whose grading took longest, with their score and what timed out."""
    if runs.empty:
        return runs
    columns = ["student", "duration_s", "score", "max_score", "status", "timeouts"]
    return runs.sort_values("duration_s", ascending=False).head(n)[columns].reset_index(drop=True)


def load(course_root: str | Path, assignment_id: str) -> Tables:
    """The report's tables as DataFrames, for instructors who work in a notebook."""
    store = GradeStore(load_course(Path(course_root)))
    try:
        return tables(store, assignment_id)
    finally:
        store.close()
