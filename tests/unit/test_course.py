"""A broken course is a CourseError naming the file and the fix."""

from __future__ import annotations

import pytest

from autograder.course.layout import load_assignment, load_course
from autograder.errors import CourseError, UnknownAssignmentError


def write_assignment(folder, toml="[items.f]\npoints = 1\n", suite="def test_f(student):\n    pass\n"):
    folder.mkdir(parents=True)
    (folder / "assignment.toml").write_text(toml)
    if suite is not None:
        (folder / "test_f.py").write_text(suite)
    return folder


def test_no_config_says_where_to_run(tmp_path):
    with pytest.raises(CourseError, match="no nbgrader_config.py"):
        load_course(tmp_path)


def test_a_config_that_raises_is_named(tmp_path):
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\n1/0\n")
    with pytest.raises(CourseError, match="nbgrader_config.py: cannot be read .ZeroDivisionError"):
        load_course(tmp_path)


def test_unknown_assignment_lists_the_known_ones(repo_course):
    with pytest.raises(UnknownAssignmentError, match=r"no assignment 'hw9' in .* \(found: .*ps4-softmax"):
        repo_course.assignment("hw9")


def test_suite_with_a_syntax_error_names_file_and_line(tmp_path):
    folder = write_assignment(tmp_path / "a", suite="def test_f(:\n")
    with pytest.raises(CourseError, match=r"test_f.py: syntax error on line 1"):
        load_assignment(folder)


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[items.f]\npoints = -1\n", "'points' must be a non-negative number"),
        ("[items]\n", "no \\[items.<function>\\] tables"),
        ("[items.f\n", "not valid TOML"),
        ('[assignment]\nlimit_multiple = "50"\n[items.f]\n', "'limit_multiple' must be a non-negative number"),
    ],
)
def test_bad_assignment_toml(tmp_path, toml, message):
    with pytest.raises(CourseError, match=message):
        load_assignment(write_assignment(tmp_path / "a", toml=toml))


def test_missing_suite(tmp_path):
    with pytest.raises(CourseError, match="no hidden suite"):
        load_assignment(write_assignment(tmp_path / "a", suite=None))


def test_repo_assignments_load(repo_course):
    for assignment_id in repo_course.assignment_ids():
        spec = repo_course.assignment(assignment_id)
        assert spec.items and len(spec.quiz) >= 6
        assert (spec.limit_multiple, spec.call_floor_s, spec.cell_floor_s) == (50.0, 1.5, 2.0)
