"""Sign-in tokens: minted at random, stored as their SHA-256, valid until revoked.

A token is 32 random bytes (URL-safe base64), so a plain SHA-256 is enough to store it: there
is nothing to guess. Students are named by their nbgrader student id; an instructor token is a
role, never a secret URL.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time

import sqlalchemy as sa

from autograder.errors import UsageError
from autograder.serve.db import Identity, tokens_table
from autograder.store import nbgrader_rows

STUDENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@+-]{0,127}")


def token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def check_student_id(student_id: str) -> str:
    """A student id that is safe as a folder name, a CSV cell and a database key."""
    if not STUDENT_ID.fullmatch(student_id) or ".." in student_id:
        raise UsageError(
            f"student id {student_id!r} must be letters, digits and _.@+- (at most 128, "
            "starting with a letter or digit)."
        )
    return student_id


def mint(engine: sa.Engine, student_id: str, *, instructor: bool = False) -> str:
    """A new token for `student_id` (their earlier tokens stay valid)."""
    check_student_id(student_id)
    token = secrets.token_urlsafe(32)
    with engine.begin() as conn:
        conn.execute(
            sa.insert(tokens_table).values(
                token_sha256=token_sha256(token),
                student=student_id,
                role="instructor" if instructor else "student",
                created_at=time.time(),
                revoked_at=None,
            )
        )
    return token


def revoke(engine: sa.Engine, student_id: str) -> int:
    """Revoke every token of `student_id`; how many were valid."""
    t = tokens_table
    with engine.begin() as conn:
        done = conn.execute(
            sa.update(t)
            .where(t.c.student == student_id, t.c.revoked_at.is_(None))
            .values(revoked_at=time.time())
        )
    return int(done.rowcount)


def identify(engine: sa.Engine, token: str) -> Identity | None:
    """Who holds `token`, or None for a missing, unknown or revoked one."""
    if not token or len(token) > 512:
        return None
    t = tokens_table
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(t.c.student, t.c.role).where(
                t.c.token_sha256 == token_sha256(token), t.c.revoked_at.is_(None)
            )
        ).first()
    return None if row is None else Identity(str(row.student), str(row.role))


def gradebook_students(engine: sa.Engine) -> list[str]:
    """Every student in nbgrader's gradebook (empty when it has none yet)."""
    if not sa.inspect(engine).has_table(nbgrader_rows.student.name):
        return []
    with engine.connect() as conn:
        return [
            str(s)
            for (s,) in conn.execute(
                sa.select(nbgrader_rows.student.c.id).order_by(nbgrader_rows.student.c.id)
            )
        ]
