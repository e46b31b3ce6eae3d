"""One `autograder grade` at a time on a course: an advisory lock file next to the gradebook."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator

from autograder.course.layout import Course
from autograder.errors import UsageError


@contextlib.contextmanager
def grade_lock(course: Course, *, command: str = "autograder grade") -> Iterator[None]:
    """Refuse a second grader (`autograder grade`, or `autograder serve`'s queue) on the same
    course while one runs.

    The lock is the kernel's (`flock`), so a grader killed in any way releases it; the file
    keeps the holder's pid and command for the message.
    """
    course.state_dir.mkdir(exist_ok=True)
    path = course.state_dir / "grade.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid, _, holder = os.pread(fd, 128, 0).decode(errors="replace").strip().partition(" ")
            raise UsageError(
                f"another `{holder or 'autograder grade'}` is running on this course "
                f"(pid {pid or 'unknown'}); wait for it to finish, or stop it, then run again."
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} {command}".encode(), 0)
        yield
    finally:
        os.close(fd)
