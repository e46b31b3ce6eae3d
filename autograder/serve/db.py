"""The service's own tables, in the course's database (nbgrader's `db_url`: SQLite or PostgreSQL).

Two tables beside nbgrader's and the grade journal's: `serve_tokens` (who may sign in: the
SHA-256 of each token, never the token) and `serve_submissions` (every upload, its place in the
queue and its result). The queue lives here, not in memory: a submission answered 202 is a
committed row, and a restarted service finds it and grades it.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
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

grader_table = sa.Table(  # one row: the grading process's heartbeat, read by /healthz
    "serve_grader",
    meta,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("mode", sa.String(300), nullable=False),  # local | dask tcp://...
    sa.Column("problem", sa.Text, nullable=False),  # why it cannot grade now; "" when it can
    sa.Column("beat_at", sa.Float, nullable=False),
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


def insert_if_allowed(
    engine: sa.Engine,
    decide: Callable[[list[float]], Any],
    *,
    submission_id: str,
    student: str,
    assignment: str,
    notebook_sha256: str,
    path: str,
    late: bool,
    submitted_at: float,
) -> Any:
    """Insert a submission unless `decide(earlier)` (the times from `submitted_times`) refuses.

    The check and the insert are one transaction that holds a lock on the student and
    assignment, so that two uploads at once cannot both pass an attempt limit or a cool-down:
    on SQLite the database's write lock (`BEGIN IMMEDIATE`: one writer at a time), on
    PostgreSQL a transaction-scoped advisory lock on the pair (other students go on in
    parallel). Returns what `decide` returned when it refused, else None.
    """
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        elif engine.dialect.name == "postgresql":
            digest = hashlib.sha256(f"{student}\0{assignment}".encode()).digest()
            conn.execute(
                sa.select(sa.func.pg_advisory_xact_lock(int.from_bytes(digest[:8], "big", signed=True)))
            )
        refusal = decide(_submitted_times(conn, student, assignment))
        if refusal is not None:
            conn.rollback()
            return refusal
        conn.execute(
            sa.insert(submissions_table).values(
                id=submission_id,
                student=student,
                assignment=assignment,
                submitted_at=submitted_at,
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
        conn.commit()
    return None


def beat(engine: sa.Engine, *, pid: int, mode: str, problem: str, now: float) -> None:
    """The grading process's heartbeat (`now` 0: it stopped)."""
    values = {"pid": pid, "mode": mode, "problem": problem, "beat_at": now}
    with engine.begin() as conn:
        if conn.execute(sa.update(grader_table).where(grader_table.c.id == 1).values(**values)).rowcount == 0:
            conn.execute(sa.insert(grader_table).values(id=1, **values))


@dataclass(frozen=True)
class Health:
    """Whether submissions are being graded: `problem` says why not ("" when they are)."""

    mode: str
    heard_s_ago: float | None
    queued: int
    oldest_queued_s: float
    problem: str

    @property
    def ok(self) -> bool:
        return not self.problem


def health(engine: sa.Engine, *, now: float, stale_s: float = 10.0, stuck_s: float = 300.0) -> Health:
    """Grading's health from the grader's heartbeat and the queue: alive, able, and moving."""
    t = submissions_table
    with engine.connect() as conn:
        row = conn.execute(sa.select(grader_table).where(grader_table.c.id == 1)).first()
        queued, oldest = conn.execute(
            sa.select(sa.func.count(), sa.func.min(t.c.submitted_at)).where(t.c.status == "queued")
        ).one()
        last_done = conn.execute(sa.select(sa.func.max(t.c.graded_at))).scalar()
    waited = now - float(oldest) if oldest is not None else 0.0
    mode = row.mode if row is not None else "none"
    heard = now - float(row.beat_at) if row is not None and row.beat_at else None
    problem = ""
    if row is None or heard is None:
        problem = "the grading process is not running."
    elif heard > stale_s:
        problem = f"the grading process has not answered for {heard:.0f} s."
    elif row.problem:
        problem = str(row.problem)
    elif queued and waited > stuck_s and (last_done is None or now - float(last_done) > stuck_s):
        problem = f"the queue is not moving: {queued} submissions waiting, the oldest for {waited:.0f} s."
    return Health(mode, heard, int(queued), waited, problem)


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
    with engine.connect() as conn:
        return _submitted_times(conn, student, assignment)


def _submitted_times(conn: sa.Connection, student: str, assignment: str) -> list[float]:
    t = submissions_table
    query = (
        sa.select(t.c.submitted_at, t.c.notebook_sha256)
        .where(t.c.student == student, t.c.assignment == assignment)
        .order_by(t.c.submitted_at)
    )
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
