"""Errors the library raises; `cli` turns each into a one-line message and an exit status.

    AutograderError                 anything the user can fix; exit status 2
    ├── CourseError                 the course on disk is broken (config, assignment, suite)
    │   └── UnknownAssignmentError  no such assignment
    ├── UsageError                  bad arguments, a busy course (another grade run)
    └── BackendError                a reference backend that cannot be used here
        └── reference.backend.BackendUnavailableError   its library or GPU is missing

Problems with one submission are never errors of the command: they are rows with status
`error` or `timeout`. These exceptions carry such problems inside the grader and never reach
the user as an exit status:

    course.notebook.NotebookError   a submission that cannot be read (its row says why)
    sandbox.client.WorkerLost       a worker that ended or hung before it answered
    sandbox.process.ZygoteLost      a zygote that is gone (the launcher starts another)
    sandbox.protocol.ProtocolError  a frame from a worker that the grader does not take
    judge.proxy.StudentFailure      a call to a student's function that gave no answer
    selfcheck.SelfCheckError        a self-check that did not pass, in the student's kernel
"""

from __future__ import annotations


class AutograderError(Exception):
    """Something the user can fix; the message says what and where."""


class CourseError(AutograderError):
    """The course on disk is broken: a missing or unreadable file, a bad setting."""


class UnknownAssignmentError(CourseError):
    """An assignment id that the course does not have."""


class UsageError(AutograderError):
    """Bad arguments, or a state in which the command cannot run (a grade run in progress)."""


class BackendError(AutograderError):
    """A reference backend that is not usable on this machine."""
