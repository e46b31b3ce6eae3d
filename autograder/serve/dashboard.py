"""The instructor dashboard's data: the class live, and `autograder report`'s own tables."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import sqlalchemy as sa

from autograder.course.layout import AssignmentSpec
from autograder.serve import db
from autograder.store.gradebook import GradeStore
from autograder.views.tables import tables as report_tables


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = json.loads(frame.to_json(orient="records"))
    return out


def _brief(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "student": row["student"],
        "submitted_at": row["submitted_at"],
        "status": row["status"],
        "score": row["score"],
        "max_score": row["max_score"],
        "late": bool(row["late"]),
        "counts": bool(row["counts"]),
        "duration_s": row["duration_s"],
        "message": row["message"],
    }


def dashboard_json(engine: sa.Engine, store: GradeStore, spec: AssignmentSpec) -> dict[str, Any]:
    """Everything the dashboard shows for one assignment, as JSON-ready values."""
    rows = db.list_submissions(engine, assignment=spec.assignment_id)
    students: dict[str, dict[str, Any]] = {}
    for row in rows:  # newest first
        s = students.setdefault(
            row["student"],
            {
                "student": row["student"],
                "submissions": 0,
                "last_submitted_at": row["submitted_at"],
                "last_status": row["status"],
                "score": None,
                "max_score": spec.max_points,
                "late": False,
                "counting_id": None,
            },
        )
        s["submissions"] += 1
        if row["counts"]:
            s["score"] = row["score"]
            s["late"] = bool(row["late"])
            s["counting_id"] = row["id"]
    queue = {status: 0 for status in db.STATUSES}
    for row in rows:
        queue[row["status"]] = queue.get(row["status"], 0) + 1
    finished = [r for r in rows if r["status"] in ("graded", "error") and r["duplicate_of"] is None]
    slowest = sorted(
        (r for r in finished if r["duration_s"] is not None), key=lambda r: -float(r["duration_s"])
    )[:10]
    failing = [r for r in finished if r["status"] == "error" or (r["score"] or 0.0) == 0.0][:20]
    tables = report_tables(store, spec.assignment_id)
    return {
        "assignment": spec.assignment_id,
        "title": spec.title,
        "max_score": spec.max_points,
        "queue": queue,
        "students": sorted(students.values(), key=lambda s: s["student"]),
        "recent": [_brief(r) for r in rows[:25]],
        "slowest": [_brief(r) for r in slowest],
        "failing": [_brief(r) for r in failing],
        "gradebook": _records(tables.gradebook),
        "items": _records(tables.items),
        "misconceptions": _records(tables.misconceptions),
    }
