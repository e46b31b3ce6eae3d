"""reports/<a>/scores.csv, the file every grade run leaves (interfaces.md), and its companion
runs.csv (one row a student: how long grading took and how it ended).

Written with the standard `csv` module, which is what pandas' `to_csv` drives underneath, so
the bytes are the same as `tables.scores_frame(...).to_csv(index=False)` would give; grading
does not pay for importing pandas (about half a second) to write one table.
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

from autograder.course.layout import Course
from autograder.models import SCORE_COLUMNS
from autograder.store.gradebook import GradeStore

_BREAKS = re.compile(r"[\r\n]+")


def write_scores_csv(course: Course, store: GradeStore, assignment_id: str) -> Path:
    """One row per student and item, in the journal's order; messages on one line."""
    out = course.reports_dir / assignment_id / "scores.csv"
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(SCORE_COLUMNS)
        for row in store.item_rows(assignment_id):
            cells = [row[c] for c in SCORE_COLUMNS]
            cells[SCORE_COLUMNS.index("message")] = _BREAKS.sub(" ", str(row["message"]))
            writer.writerow(cells)
    return out


RUN_COLUMNS = (
    "student",
    "assignment",
    "score",
    "max_score",
    "status",
    "duration_s",
    "timeouts",
    "graded_at",
)


def run_table(store: GradeStore, assignment_id: str) -> list[dict[str, object]]:
    """One row a graded student: total score, how the run ended, how long grading took, and
    the items that ran out of time (the first thing to look at when a batch is slow)."""
    totals: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    timeouts: dict[str, list[str]] = defaultdict(list)
    for row in store.item_rows(assignment_id):
        total = totals[row["student"]]
        total[0] += float(row["score"])
        total[1] += float(row["max_score"])
        if row["status"] == "timeout":
            timeouts[row["student"]].append(str(row["item"]))
    out: list[dict[str, object]] = []
    for run in store.run_rows(assignment_id):
        student = run["student"]
        score, max_score = totals[student]
        out.append(
            {
                "student": student,
                "assignment": assignment_id,
                "score": round(score, 6),
                "max_score": round(max_score, 6),
                "status": run["status"],
                "duration_s": round(float(run["duration_s"]), 3),
                "timeouts": " ".join(timeouts[student]),
                "graded_at": datetime.fromtimestamp(float(run["graded_at"]), UTC).isoformat(
                    timespec="seconds"
                ),
            }
        )
    return out


def write_runs_csv(course: Course, store: GradeStore, assignment_id: str) -> Path:
    """reports/<a>/runs.csv: `run_table` as CSV, next to scores.csv."""
    out = course.reports_dir / assignment_id / "runs.csv"
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=RUN_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(run_table(store, assignment_id))
    return out
