"""`autograder tokens`: CSV lines, hashed storage, instructor role, revocation, clear refusals."""

from __future__ import annotations

import re

import sqlalchemy as sa
from click.testing import CliRunner

from autograder.cli import main
from autograder.course.layout import Course
from autograder.serve import db, tokens


def _run(course: Course, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["--course", str(course.root), "tokens", *args])
    return result.exit_code, result.stdout, result.stderr


def test_tokens_prints_student_token_lines_and_stores_only_hashes(course: Course) -> None:
    code, out, _ = _run(course, "--student", "ada", "--student", "alan")
    assert code == 0
    lines = out.splitlines()
    assert [line.split(",")[0] for line in lines] == ["ada", "alan"]
    assert all(re.fullmatch(r"[a-z]+,[A-Za-z0-9_-]{43}", line) for line in lines)
    engine = db.connect(course.db_url)
    try:
        with engine.connect() as conn:
            stored = [r.token_sha256 for r in conn.execute(sa.select(db.tokens_table))]
        assert sorted(stored) == sorted(tokens.token_sha256(line.split(",")[1]) for line in lines)
        assert tokens.identify(engine, lines[0].split(",")[1]) == db.Identity("ada", "student")
    finally:
        engine.dispose()


def test_an_instructor_token_carries_the_role_and_revoke_ends_it(course: Course) -> None:
    code, out, _ = _run(course, "--instructor")
    assert code == 0 and out.startswith("instructor,")
    token = out.strip().split(",")[1]
    engine = db.connect(course.db_url)
    try:
        assert tokens.identify(engine, token) == db.Identity("instructor", "instructor")
        code, out, err = _run(course, "--revoke", "instructor")
        assert (code, out, err) == (0, "", "revoked 1 tokens of instructor\n")
        assert tokens.identify(engine, token) is None
    finally:
        engine.dispose()


def test_without_students_in_the_gradebook_tokens_says_to_name_them(course: Course) -> None:
    code, _, err = _run(course)
    assert code == 2
    assert "the gradebook has no students yet: name them with --student ID." in err


def test_a_student_id_that_could_be_a_path_is_refused(course: Course) -> None:
    code, out, err = _run(course, "--student", "../etc")
    assert (code, out) == (2, "")
    assert err == (
        "Error: student id '../etc' must be letters, digits and _.@+- (at most 128, "
        "starting with a letter or digit).\n"
    )
