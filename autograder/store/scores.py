"""reports/<a>/scores.csv, the file every grade run leaves (interfaces.md).

Written with the standard `csv` module, which is what pandas' `to_csv` drives underneath, so
the bytes are the same as `report.scores_frame(...).to_csv(index=False)` would give; grading
does not pay for importing pandas (about half a second) to write one table.
"""

from __future__ import annotations

import csv
import re
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
