"""One grader at a time on a course, and the refusal names the one that holds it."""

from __future__ import annotations

import os

import pytest

from autograder.errors import UsageError
from autograder.store.lock import grade_lock


def test_a_second_grader_is_told_which_command_holds_the_course(course):
    with grade_lock(course, command="autograder serve"), pytest.raises(UsageError) as info, grade_lock(course):
        pass  # never reached: the second lock is refused
    assert str(info.value) == (
        f"another `autograder serve` is running on this course (pid {os.getpid()}); "
        "wait for it to finish, or stop it, then run again."
    )
    with grade_lock(course):  # released with its holder
        pass
