"""The service on a real PostgreSQL: a server this test starts itself (Debian's postgresql package),
in a temp dir, on a free port, as a non-root user (PostgreSQL refuses to run as root).

Skips only where the server's binaries are absent; `scripts/ensure-postgres.sh` (run by
`./dev test`) installs them where it may.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from running import ASSIGNMENT, NO_COOLDOWN, free_port, serving

from autograder.course import release
from autograder.course.layout import load_course

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def _bin_dir() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


def _run_as() -> str | None:
    """The user to run PostgreSQL as: ourselves, or (as root) `postgres` or `nobody`."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    pytest.skip("running as root and no 'postgres' or 'nobody' user to run PostgreSQL as")


@pytest.fixture(scope="module")
def postgres_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    bindir = _bin_dir()
    if bindir is None:
        pytest.skip("PostgreSQL's server binaries are missing: run scripts/ensure-postgres.sh (apt-get install postgresql)")
    user = _run_as()
    base = tmp_path_factory.mktemp("postgres")
    data, sockets = base / "data", base / "sockets"
    sockets.mkdir()
    if user is not None:
        info = pwd.getpwnam(user)
        # pytest's temp dirs are private to root: let the server's user through them (search only).
        for folder in [base, *base.parents]:
            if folder == Path(tmp_path_factory.getbasetemp()).parent.parent:
                break
            folder.chmod(folder.stat().st_mode | 0o111)
        for path in (base, sockets):
            os.chown(path, info.pw_uid, info.pw_gid)
    port = free_port()
    role = "autograder"

    def run(*args: str) -> None:
        subprocess.run(args, check=True, capture_output=True, user=user, cwd=base, timeout=120)

    run(str(bindir / "initdb"), "-D", str(data), "-U", role, "--auth=trust", "-E", "UTF8", "--no-sync")
    log = base / "postgres.log"
    run(
        str(bindir / "pg_ctl"),
        "-D", str(data),
        "-l", str(log),
        "-w",
        "-o", f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off",
        "start",
    )
    try:
        admin = sa.create_engine(f"postgresql+psycopg://{role}@127.0.0.1:{port}/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text("CREATE DATABASE gradebook"))
        admin.dispose()
        yield f"postgresql+psycopg://{role}@127.0.0.1:{port}/gradebook"
    finally:
        run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")


def test_the_service_grades_into_nbgraders_gradebook_on_postgresql(
    tmp_path: Path, released_template: Path, postgres_url: str, notebooks: dict[str, bytes]
) -> None:
    root = tmp_path / "course"
    shutil.copytree(released_template, root)
    (root / "gradebook.db").unlink()
    config = root / "nbgrader_config.py"
    config.write_text(re.sub(r'db_url = ".*"', f'db_url = "{postgres_url}"', config.read_text()))
    course = load_course(root)
    assert course.db_url == postgres_url
    release.release(course, ASSIGNMENT)  # nbgrader writes the assignment into PostgreSQL
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
