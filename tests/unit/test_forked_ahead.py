"""Workers forked ahead: the zygote forks the next student's worker while the judge grades the
one before, and the judge confines it as that student's when it takes it (`Zygote.spawn`)."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from autograder.sandbox import process
from autograder.sandbox.client import Worker
from autograder.sandbox.process import Zygote, jail_spec


@pytest.fixture
def zygote() -> Iterator[Zygote]:
    with Zygote() as z:
        yield z


def _children(pid: int) -> set[int]:
    out = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_bytes()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()
        if int(fields[1]) == pid and fields[0] != b"Z":
            out.add(int(entry))
    return out


def _forked_ahead(zygote: Zygote, worker: Worker) -> int:
    """The pid of the worker the zygote forked ahead beside `worker` (it forks as we look)."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        others = _children(zygote.forker_pid) - {worker.pid}
        if others:
            (pid,) = others
            return pid
        time.sleep(0.01)
    raise AssertionError("no worker was forked ahead")


def _settled_state(pid: int) -> str:
    """The state of `pid` once it is no longer running (it may still be preparing itself)."""
    deadline = time.monotonic() + 5
    state = "gone"
    while time.monotonic() < deadline:
        try:
            stat = Path(f"/proc/{pid}/stat").read_bytes()
        except OSError:
            return "gone"
        state = stat[stat.rfind(b")") + 2 :].split()[0].decode()
        if state != "R":
            return state
        time.sleep(0.01)
    return state


def _scratch(tmp_path: Path, name: str, text: str) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    (folder / "mine.txt").write_text(text)
    return folder


def _run(worker: Worker, source: str) -> tuple[bool, str, str]:
    (_, ok, ename, evalue, _), *_ = worker.run_cells([(0, source)], cell_timeout_s=10, total_timeout_s=10)
    return ok, ename, evalue


def test_the_next_worker_is_the_one_forked_ahead_confined_as_its_own_student(zygote, tmp_path):
    first = zygote.spawn(jail_spec(_scratch(tmp_path, "s-1", "first"), hide=[], serial=1))
    ahead = _forked_ahead(zygote, first)
    first.close()
    second = zygote.spawn(jail_spec(_scratch(tmp_path, "s-2", "second"), hide=[], serial=2))
    try:
        assert second.pid == ahead
        # Its own scratch folder, with its own student's files, under its own uid: nothing of
        # the spec it was forked ahead for (the folder's parent) is left.
        ok, ename, evalue = _run(
            second,
            "import os\n"
            "assert open('mine.txt').read() == 'second', open('mine.txt').read()\n"
            "assert os.getcwd().endswith('/s-2'), os.getcwd()\n"
            "assert os.environ['HOME'].endswith('/s-2'), os.environ['HOME']\n"
            "assert not os.path.exists('../s-1/mine.txt')\n",
        )
        assert (ok, ename, evalue) == (True, "", "")
        if os.geteuid() == 0:
            assert second.isolation["uid"] == jail_spec(tmp_path / "s-2", hide=[], serial=2).uid
    finally:
        second.close()


KILL_EVERYTHING = """
import os, signal
for sig in (signal.SIGSTOP, signal.SIGKILL):
    for entry in os.listdir('/proc'):
        if entry.isdigit() and int(entry) != os.getpid():
            try:
                os.kill(int(entry), sig)
            except OSError:
                pass
    try:
        os.kill(-1, sig)
    except OSError:
        pass
"""


@pytest.mark.parametrize("drop_privileges", [True, False], ids=["own-uid", "grader-uid"])
def test_a_worker_cannot_stop_or_kill_the_one_forked_ahead_for_the_next_student(
    zygote, tmp_path, drop_privileges, caplog
):
    first_spec = jail_spec(_scratch(tmp_path, "s-1", "first"), hide=[], serial=1)
    first = zygote.spawn(dataclasses.replace(first_spec, drop_privileges=drop_privileges))
    ahead = _forked_ahead(zygote, first)
    with contextlib.suppress(Exception):  # it may well have ended itself
        _run(first, KILL_EVERYTHING)
    first.close()
    assert _settled_state(ahead) == "S"  # asleep, waiting for its student: not stopped, not dead
    second_spec = jail_spec(_scratch(tmp_path, "s-2", "second"), hide=[], serial=2)
    with caplog.at_level(logging.INFO, logger="autograder.sandbox.process"):
        second = zygote.spawn(dataclasses.replace(second_spec, drop_privileges=drop_privileges))
    try:
        assert second.pid == ahead
        assert "could not be used" not in caplog.text
        assert _run(second, "x = open('mine.txt').read()")[0]
    finally:
        second.close()


def test_a_worker_forked_ahead_that_died_is_replaced_at_once(zygote, tmp_path, caplog):
    first = zygote.spawn(jail_spec(_scratch(tmp_path, "s-1", "first"), hide=[], serial=1))
    ahead = _forked_ahead(zygote, first)
    first.close()
    os.kill(ahead, signal.SIGKILL)
    with caplog.at_level(logging.INFO, logger="autograder.sandbox.process"):
        second = zygote.spawn(jail_spec(_scratch(tmp_path, "s-2", "second"), hide=[], serial=2))
    try:
        assert second.pid != ahead
        assert "the worker forked ahead could not be used" in caplog.text
        assert _run(second, "assert open('mine.txt').read() == 'second'")[0]
    finally:
        second.close()


def test_a_worker_forked_for_another_kind_of_spec_is_not_used(zygote, tmp_path):
    first = zygote.spawn(jail_spec(_scratch(tmp_path, "s-1", "first"), hide=[], serial=1))
    ahead = _forked_ahead(zygote, first)
    first.close()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    second = zygote.spawn(jail_spec(_scratch(elsewhere, "s-2", "second"), hide=[], serial=2))
    try:
        assert second.pid != ahead  # prepared beside another folder: ended, and one forked afresh
        assert _run(second, "assert open('mine.txt').read() == 'second'")[0]
    finally:
        second.close()
    deadline = time.monotonic() + 5
    while ahead in _children(zygote.forker_pid) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert ahead not in _children(zygote.forker_pid)


def test_the_worker_forked_ahead_ends_with_its_zygote(tmp_path):
    with Zygote() as zygote:
        first = zygote.spawn(jail_spec(_scratch(tmp_path, "s-1", "first"), hide=[], serial=1))
        ahead = _forked_ahead(zygote, first)
        first.close()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and Path(f"/proc/{ahead}").exists():
        stat = Path(f"/proc/{ahead}/stat").read_bytes()
        if stat[stat.rfind(b")") + 2 : stat.rfind(b")") + 3] == b"Z":
            break
        time.sleep(0.01)
    assert not Path(f"/proc/{ahead}").exists() or b") Z" in Path(f"/proc/{ahead}/stat").read_bytes()


def test_a_worker_forked_ahead_that_was_stopped_is_given_up_for_a_fresh_one(zygote, tmp_path, monkeypatch):
    # Where signals are not scoped (Landlock below ABI 6) and workers share a uid, a worker
    # could stop the next one as it waits: the judge waits a moment for it, not for ever.
    monkeypatch.setattr(process, "AHEAD_READY_TIMEOUT_S", 0.5)
    first = zygote.spawn(jail_spec(_scratch(tmp_path, "s-1", "first"), hide=[], serial=1))
    ahead = _forked_ahead(zygote, first)
    first.close()
    assert _settled_state(ahead) == "S"
    os.kill(ahead, signal.SIGSTOP)
    second = zygote.spawn(jail_spec(_scratch(tmp_path, "s-2", "second"), hide=[], serial=2))
    try:
        assert second.pid != ahead
        assert _run(second, "assert open('mine.txt').read() == 'second'")[0]
    finally:
        second.close()
    assert _settled_state(ahead) in ("gone", "Z")
