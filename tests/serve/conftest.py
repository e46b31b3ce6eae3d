"""Fixtures for the service's tests: a served course and ps4 notebooks (see running.py)."""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
import sqlalchemy as sa
from running import ASSIGNMENT, NO_COOLDOWN, Server, free_port, serving

from autograder.course import synth
from autograder.course.layout import load_course


@pytest.fixture(scope="module")
def served_root(tmp_path_factory: pytest.TempPathFactory, released_template: Path) -> Path:
    root = tmp_path_factory.mktemp("served") / "course"
    shutil.copytree(released_template, root)
    return root


@pytest.fixture(scope="module")
def server(served_root: Path) -> Iterator[Server]:
    """One server for a test module: ps4 released, no cool-down, students alice..dave + teacher."""
    with serving(served_root, rules=NO_COOLDOWN) as s:
        yield s


@pytest.fixture(scope="session")
def notebooks(released_template: Path) -> dict[str, bytes]:
    """ps4 notebooks as bytes: the solution, the stub, one with a misconception."""
    course = load_course(released_template)
    spec = course.assignment(ASSIGNMENT)
    solution = synth.solution_sources(course, spec)
    right = synth.quiz_answers(spec, correct={q.id for q in spec.quiz})
    release_nb = course.release_notebook(ASSIGNMENT)
    mutant = next(m for m in synth.modules(spec, "mutants") if "softmax" in m.cells)

    def build(answers: dict[str, str]) -> bytes:
        return nbformat.writes(synth.build_notebook(release_nb, answers)).encode()

    return {
        "solution": build({**solution, **right}),
        "stub": build({}),
        "mutant": build({**solution, **right, **mutant.cells}),
    }


# --- PostgreSQL ------------------------------------------------------------------------------


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


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A PostgreSQL server of our own for the session (Debian's postgresql package), in a temp
    dir, on a free port, as a non-root user (PostgreSQL refuses to run as root): its admin URL."""
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
        yield f"postgresql+psycopg://{role}@127.0.0.1:{port}"
    finally:
        run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")


@pytest.fixture
def postgres_url(postgres_server: str, request: pytest.FixtureRequest) -> str:
    """A fresh, empty database on the session's PostgreSQL server, for one test."""
    name = "gradebook_" + re.sub(r"\W", "_", request.node.name)[-40:].lower()
    admin = sa.create_engine(f"{postgres_server}/postgres", isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return f"{postgres_server}/{name}"
