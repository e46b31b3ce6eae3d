"""The service on a real PostgreSQL: a server the tests start themselves (`postgres_server` in
conftest.py: Debian's postgresql package, in a temp dir, on a free port, as a non-root user).

Skips only where the server's binaries are absent; `scripts/ensure-postgres.sh` (run by
`./dev test`) installs them where it may.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from running import ASSIGNMENT, NO_COOLDOWN, course_on, serving

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def test_the_service_grades_into_nbgraders_gradebook_on_postgresql(
    tmp_path: Path, released_template: Path, postgres_url: str, notebooks: dict[str, bytes]
) -> None:
    course = course_on(postgres_url, released_template, tmp_path / "course")
    assert course.db_url == postgres_url
    root = course.root
    with serving(root, rules=NO_COOLDOWN) as server:
        good = server.submit("alice", notebooks["solution"]).body["id"]
        bad = server.submit("bob", notebooks["mutant"]).body["id"]
        assert server.wait_graded(good, server.tokens["alice"])["score"] == 18.0
        mutant = server.wait_graded(bad, server.tokens["bob"])
        assert mutant["status"] == "graded" and mutant["score"] < 18.0
        board = server.request("GET", f"/api/v1/assignments/{ASSIGNMENT}/dashboard", token=server.tokens["teacher"])
        assert {s["student"] for s in board.body["students"]} == {"alice", "bob"}
    from nbgrader.api import Gradebook

    with Gradebook(postgres_url, course_id=course.course_id) as gb:
        sub = gb.find_submission(ASSIGNMENT, "alice")
        assert sub.score == 18.0 and sub.timestamp is not None
        assert gb.find_submission(ASSIGNMENT, "bob").score == mutant["score"]
    engine = sa.create_engine(postgres_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("select student, status from serve_submissions order by student")).all()
    finally:
        engine.dispose()
    assert [tuple(r) for r in rows] == [("alice", "graded"), ("bob", "graded")]
    assert not (root / "gradebook.db").exists()
