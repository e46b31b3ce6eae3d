"""The zygote is pid 1 of a PID namespace of its own (`sandbox.pidns`): a worker's /proc and
`kill(-1)` reach only that namespace (real processes; needs root or user namespaces)."""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from autograder import doctor
from autograder.sandbox import pidns
from autograder.sandbox.client import StudentProcess
from autograder.sandbox.process import Zygote, jail_spec

pytestmark = pytest.mark.skipif(not pidns.available(), reason="no PID namespace on this machine")

CELLS = [
    (
        0,
        "import os, signal\n"
        "def pids():\n"
        "    return sorted(int(e) for e in os.listdir('/proc') if e.isdigit())\n"
        "def me():\n"
        "    return os.getpid()\n"
        "def child():\n"
        "    import subprocess\n"
        "    return subprocess.Popen(['sleep', '30']).pid\n"
        "def kill_all():\n"
        "    try:\n"
        "        os.kill(-1, signal.SIGSTOP)\n"
        "        os.kill(-1, signal.SIGKILL)\n"
        "    except OSError as exc:\n"
        "        return type(exc).__name__\n"
        "    return 'sent'\n",
    )
]


@pytest.fixture
def zygote() -> Iterator[Zygote]:
    with Zygote() as z:
        z.wait_ready()
        yield z


def student(zygote: Zygote, scratch: Path, serial: int, **spec: bool) -> StudentProcess:
    scratch.mkdir()
    jail = dataclasses.replace(jail_spec(scratch, hide=[], serial=serial), **spec)
    s = StudentProcess(zygote, jail, CELLS, cell_timeout_s=10, total_timeout_s=30)
    s.start()
    return s


def value(s: StudentProcess, name: str) -> object:
    reply = s.call(name, [], {}, timeout_s=5)
    assert reply.ok, reply
    return reply.value


def test_the_zygote_says_it_is_in_a_pid_namespace(zygote):
    assert zygote.pid_namespace is True
    # Its pid 1 forks the workers: a child of the process we started, known to us by our pid.
    with open(f"/proc/{zygote.forker_pid}/status") as f:
        status = dict(line.split(":", 1) for line in f.read().splitlines())
    assert int(status["PPid"]) == zygote.pid
    assert status["NSpid"].split() == [str(zygote.forker_pid), "1"]


def test_a_worker_lists_only_itself_and_its_children_in_proc(zygote, tmp_path):
    # Landlock alone would refuse the listing: without it, what the worker sees is the namespace's.
    s = student(zygote, tmp_path / "a", 1, landlock=False, seccomp=False)
    try:
        me, kid = value(s, "me"), value(s, "child")
        assert value(s, "pids") == sorted([me, kid])  # not the zygote (hidepid), not the judge
        assert s.worker is not None and s.worker.pid != me  # the judge knows it by its own pid
        with open(f"/proc/{s.worker.pid}/status") as f:
            nspid = next(line for line in f if line.startswith("NSpid:")).split()[1:]
        assert nspid == [str(s.worker.pid), str(me)]
    finally:
        s.close()


def test_kill_minus_one_from_a_worker_touches_neither_the_zygote_nor_a_sibling(zygote, tmp_path):
    sibling = student(zygote, tmp_path / "sibling", 1)
    killer = student(zygote, tmp_path / "killer", 2)
    try:
        before = value(sibling, "me")
        assert value(killer, "kill_all") in {"sent", "ProcessLookupError", "PermissionError"}
        assert value(sibling, "me") == before  # the same sibling still answers, unstopped
        third = zygote.spawn(jail_spec(tmp_path, hide=[], serial=3))  # the zygote still forks
        assert third.alive
        third.close()
        os.kill(zygote.pid, 0)
    finally:
        killer.close()
        sibling.close()


def test_a_worker_handle_kills_the_worker_by_the_judges_pid(zygote, tmp_path):
    s = student(zygote, tmp_path / "a", 1)
    assert s.worker is not None
    pid = s.worker.pid
    s.worker.kill()
    for _ in range(200):
        stat = Path(f"/proc/{pid}/stat")
        if not stat.exists() or stat.read_text().split()[2] == "Z":
            break
        time.sleep(0.01)
    else:
        pytest.fail(f"worker {pid} still runs after kill")
    s.close()


def test_without_the_pid_namespace_a_worker_lists_the_machines_pids(tmp_path):
    # What the layer is for: the same worker from a zygote left in the judge's namespace.
    with Zygote(use_pidns=False, use_cgroup=False) as bare:
        bare.wait_ready()
        assert bare.pid_namespace is False
        s = student(bare, tmp_path / "a", 1, landlock=False, seccomp=False)
        try:
            seen = value(s, "pids")
            assert isinstance(seen, list) and os.getpid() in seen and bare.pid in seen
            assert s.worker is not None and value(s, "me") == s.worker.pid  # one namespace: one pid
        finally:
            s.close()


def test_the_doctor_says_where_the_workers_zygote_runs():
    found = {f.topic: f.value for f in doctor.jail()}
    assert found["the workers' zygote"].startswith("pid 1 of a PID namespace of its own, ")
