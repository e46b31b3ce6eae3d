"""The judge outlives its zygote: a zygote killed or stopped is replaced, and only the session
that was running when it went is touched (real processes)."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator

import pytest

from autograder.sandbox import process
from autograder.sandbox.launcher import ZygoteLauncher
from autograder.sandbox.process import Zygote, ZygoteLost, jail_spec

CELLS = [
    (0, "import os, time\ndef f(x):\n    return x + 1"),
    (1, "def pid():\n    return os.getpid()\ndef nap(s):\n    time.sleep(s)"),
]


@pytest.fixture
def launcher() -> Iterator[ZygoteLauncher]:
    with ZygoteLauncher() as launcher:
        launcher.prepare([source for _, source in CELLS])
        launcher.wait_ready()
        yield launcher


def session(launcher, tmp_path, name):
    scratch = tmp_path / name
    scratch.mkdir()
    s = launcher.launch(CELLS, scratch, hide=(), cell_timeout_s=5, total_timeout_s=10)
    s.start()
    return s


def wait_gone(pid: int) -> None:
    for _ in range(200):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.01)


def test_a_killed_zygote_is_replaced_and_the_next_student_is_graded_as_usual(launcher, tmp_path):
    first = launcher.pid
    before = session(launcher, tmp_path, "a")
    assert before.call("f", [1], {}, timeout_s=5).value == 2
    before.close()
    os.kill(first, signal.SIGKILL)
    wait_gone(first)
    after = session(launcher, tmp_path, "b")
    try:
        assert after.call("f", [41], {}, timeout_s=5).value == 42
        assert launcher.restarts == 1 and launcher.pid != first
    finally:
        after.close()


def test_the_session_running_when_its_zygote_dies_gets_a_new_worker(launcher, tmp_path):
    """The call in flight when the zygote (and so its worker) died is that call's loss; the
    session's other functions answer from a worker of the new zygote."""
    s = session(launcher, tmp_path, "a")
    try:
        assert s.worker is not None
        worker = s.worker.pid  # the judge's pid of it (inside a PID namespace, every first worker is 2)
        killer = threading.Timer(0.3, os.kill, (launcher.pid, signal.SIGKILL))
        killer.start()
        lost = s.call("nap", [3.0], {}, timeout_s=5)
        killer.join()
        assert not lost.ok and lost.kind == "crashed"
        reply = s.call("f", [1], {}, timeout_s=5)
        assert reply.ok and reply.value == 2
        assert s.worker is not None and s.worker.pid != worker
        assert launcher.restarts == 1
    finally:
        s.close()


def test_a_stopped_zygote_counts_as_lost_and_is_replaced(launcher, tmp_path, monkeypatch):
    monkeypatch.setattr(process, "SPAWN_TIMEOUT_S", 0.5)
    stopped = launcher.pid
    os.killpg(stopped, signal.SIGSTOP)  # the zygote's group: in a PID namespace it forks as pid 1 there
    s = session(launcher, tmp_path, "a")
    try:
        assert s.call("f", [1], {}, timeout_s=5).value == 2
        assert launcher.restarts == 1
        wait_gone(stopped)
        with pytest.raises(ProcessLookupError):
            os.kill(stopped, 0)  # killed, not left stopped behind
    finally:
        s.close()


def test_a_zygote_that_is_gone_says_so_when_asked_to_fork(tmp_path):
    zygote = Zygote()
    zygote.wait_ready()
    os.kill(zygote.pid, signal.SIGKILL)
    wait_gone(zygote.pid)
    with pytest.raises(ZygoteLost, match=r"^the worker zygote is gone"):
        zygote.spawn(jail_spec(tmp_path, hide=[], serial=1))
    zygote.close()
