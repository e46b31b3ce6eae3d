"""The service's own tables, in the course's database (nbgrader's `db_url`: SQLite or PostgreSQL).

Two tables beside nbgrader's and the grade journal's: `serve_tokens` (who may sign in: the
SHA-256 of each token, never the token) and `serve_submissions` (every upload, its place in the
queue and its result). The queue lives here, not in memory: a submission answered 202 is a
committed row, and a restarted service finds it and grades it.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

meta = sa.MetaData()

tokens_table = sa.Table(
    "serve_tokens",
    meta,
    sa.Column("token_sha256", sa.String(64), primary_key=True),
    sa.Column("student", sa.String(128), nullable=False, index=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("revoked_at", sa.Float, nullable=True),
)

submissions_table = sa.Table(
    "serve_submissions",
    meta,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("student", sa.String(128), nullable=False),
    sa.Column("assignment", sa.String(128), nullable=False),
    sa.Column("submitted_at", sa.Float, nullable=False),
    sa.Column("notebook_sha256", sa.String(64), nullable=False),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False, index=True),  # queued|grading|graded|error
    sa.Column("late", sa.Boolean, nullable=False),
    sa.Column("score", sa.Float, nullable=True),
    sa.Column("max_score", sa.Float, nullable=True),
    sa.Column("message", sa.Text, nullable=False, default=""),
    sa.Column("result_json", sa.Text, nullable=False, default=""),
    sa.Column("suite_sha256", sa.String(64), nullable=False, default=""),
    sa.Column("started_at", sa.Float, nullable=True),
    sa.Column("graded_at", sa.Float, nullable=True),
    sa.Column("duration_s", sa.Float, nullable=True),
    sa.Column("duplicate_of", sa.String(32), nullable=True),
    sa.Column("counts", sa.Boolean, nullable=False, default=False),
    sa.Index("serve_submissions_by_student", "student", "assignment", "submitted_at"),
)

STATUSES = ("queued", "grading", "graded", "error")


@dataclass(frozen=True)
class Identity:
    """Who a token belongs to."""

    student: str
    role: str  # student | instructor

    @property
    def is_instructor(self) -> bool:
        return self.role == "instructor"


def connect(db_url: str) -> sa.Engine:
    """An engine on the course's database with the service's tables created.

    SQLite gets WAL (the web process reads while the grader writes) and a busy timeout.
    """
    if db_url.startswith("sqlite"):
        engine = sa.create_engine(db_url, connect_args={"timeout": 30})

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

    else:
        engine = sa.create_engine(db_url, pool_pre_ping=True)
    meta.create_all(engine)
    return engine


def new_id() -> str:
    return uuid.uuid4().hex


def insert_submission(
    engine: sa.Engine,
    *,
    submission_id: str,
    student: str,
    assignment: str,
    notebook_sha256: str,
    path: str,
    late: bool,
    submitted_at: float | None = None,
) -> None:
    with engine.begin() as conn:
        conn.execute(
            sa.insert(submissions_table).values(
                id=submission_id,
                student=student,
                assignment=assignment,
                submitted_at=time.time() if submitted_at is None else submitted_at,
                notebook_sha256=notebook_sha256,
                path=path,
                status="queued",
                late=late,
                message="",
                result_json="",
                suite_sha256="",
                counts=False,
            )
        )


def get_submission(engine: sa.Engine, submission_id: str) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(submissions_table).where(submissions_table.c.id == submission_id)
        ).first()
    return None if row is None else dict(row._mapping)


def list_submissions(
    engine: sa.Engine, *, assignment: str | None = None, student: str | None = None, limit: int = 5000
) -> list[dict[str, Any]]:
    """Submissions, newest first."""
    t = submissions_table
    query = sa.select(t).order_by(t.c.submitted_at.desc(), t.c.id).limit(limit)
    if assignment is not None:
        query = query.where(t.c.assignment == assignment)
    if student is not None:
        query = query.where(t.c.student == student)
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def submitted_times(engine: sa.Engine, student: str, assignment: str) -> list[float]:
    """When this student submitted this assignment (identical resubmissions excluded), oldest first."""
    t = submissions_table
    query = (
        sa.select(t.c.submitted_at, t.c.notebook_sha256)
        .where(t.c.student == student, t.c.assignment == assignment)
        .order_by(t.c.submitted_at)
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    seen: set[str] = set()
    times = []
    for when, sha in rows:
        if sha not in seen:
            times.append(float(when))
            seen.add(sha)
    return times


def has_notebook(engine: sa.Engine, student: str, assignment: str, notebook_sha256: str) -> bool:
    t = submissions_table
    query = sa.select(t.c.id).where(
        t.c.student == student, t.c.assignment == assignment, t.c.notebook_sha256 == notebook_sha256
    )
    with engine.connect() as conn:
        return conn.execute(query.limit(1)).first() is not None
