"""A cgroup v2 per zygote where the host delegates one (`sandbox.cgroup`): killed whole when the
zygote goes, a memory limit that counts tmpfs (real processes; skipped where none is delegated)."""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autograder.sandbox import cgroup, layers
from autograder.sandbox.client import StudentProcess
from autograder.sandbox.process import Zygote, jail_spec

BASE = layers.delegated_cgroup()
pytestmark = pytest.mark.skipif(not BASE, reason="no delegated cgroup v2 on this machine")

#: Joins the cgroup argv[1], double-forks a daemon in a session of its own, prints its pid, exits.
DAEMON = """
import os, sys, time
with open(os.path.join(sys.argv[1], "cgroup.procs"), "w") as f:
    f.write("0")
r, w = os.pipe()
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        null = os.open(os.devnull, os.O_RDWR)
        os.dup2(null, 1)
        os.dup2(null, 2)
        os.write(w, str(os.getpid()).encode())
        time.sleep(60)
    os._exit(0)
print(os.read(r, 32).decode(), flush=True)
"""


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def gone(pid: int) -> bool:
    for _ in range(300):
        if not alive(pid):
            return True
        time.sleep(0.01)
    return False


def test_removing_a_cgroup_kills_a_double_forked_daemon_in_a_session_of_its_own():
    path = cgroup.create(BASE)
    try:
        out = subprocess.run([sys.executable, "-c", DAEMON, path], capture_output=True, text=True, check=True)
        daemon = int(out.stdout)
        assert alive(daemon) and cgroup.members(path) == [daemon]
        assert os.getsid(daemon) != os.getsid(0)  # out of reach of a process-group kill
    finally:
        cgroup.remove(path)
    assert gone(daemon)
    assert not os.path.exists(path)


def test_a_zygote_runs_in_a_cgroup_of_its_own_that_goes_with_it(tmp_path):
    with Zygote() as zygote:
        zygote.wait_ready()
        path = zygote.cgroup
        assert path.startswith(BASE + "/autograder-")
        scratch = tmp_path / "s"
        scratch.mkdir()
        code = (
            "import os, time\n"
            "def daemon():\n"
            "    if os.fork() == 0:\n"
            "        os.setsid()\n"
            "        if os.fork() == 0:\n"
            "            time.sleep(60)\n"
            "        os._exit(0)\n"
            "    time.sleep(0.2)\n"
            "    return 1\n"
        )
        s = StudentProcess(zygote, jail_spec(scratch, hide=[], serial=1), [(0, code)], 10, 30)
        s.start()
        assert s.worker is not None
        # The zygote, its worker, and the worker it forks ahead for the next student (which
        # joins as we look).
        deadline = time.monotonic() + 5
        while len(before := set(cgroup.members(path))) < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert {zygote.pid, s.worker.pid} <= before
        assert s.call("daemon", [], {}, timeout_s=5).value == 1
        left = set(cgroup.members(path)) - before
        assert len(left) == 1  # the daemon the worker left, still in the zygote's cgroup
        zygote.kill()
        s.close()
    assert all(gone(pid) for pid in left | before)
    assert not os.path.exists(path)


@pytest.mark.skipif(not BASE or not layers.cgroup_memory(BASE), reason="no memory controller delegated")
def test_memory_max_stops_a_process_filling_a_tmpfs(tmp_path):
    """RLIMIT_AS does not count a tmpfs's pages; the cgroup's memory.max does."""
    fill = tmp_path / "tmpfs"
    fill.mkdir()
    path = cgroup.create(BASE)
    try:
        assert cgroup.has_memory(path)
        cgroup.limit_memory(path, 32 << 20)
        pid = os.fork()
        if pid == 0:  # a mount namespace of its own, so the tmpfs goes with it
            code = 1
            try:
                libc = ctypes.CDLL(None, use_errno=True)
                assert libc.unshare(0x00020000) == 0
                assert libc.mount(None, b"/", None, (1 << 18) | 0x4000, None) == 0
                assert libc.mount(b"tmpfs", str(fill).encode(), b"tmpfs", 0, b"size=512m") == 0
                cgroup.join(path)
                with open(fill / "big", "wb") as f:
                    for _ in range(256):
                        f.write(b"x" * (1 << 20))
                        f.flush()
                code = 0  # it wrote 256 MB past a cap of 32 MB: the limit did not hold
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == 9  # the cgroup's OOM killer
    finally:
        cgroup.remove(path)


def test_a_zygote_caps_its_cgroup_at_the_workers_memory_limit(tmp_path):
    with Zygote() as zygote:
        zygote.wait_ready()
        if not cgroup.has_memory(zygote.cgroup):
            pytest.skip("no memory controller delegated")
        zygote.spawn(jail_spec(tmp_path, hide=[], serial=1)).close()
        cap = int(Path(zygote.cgroup, "memory.max").read_text())
        assert 3072 << 20 < cap < (3072 << 20) + (2 << 30)


def test_a_cgroup_left_by_a_judge_that_is_gone_is_removed_when_the_next_is_made():
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    stale = os.path.join(BASE, f"{cgroup.PREFIX}{int(dead.stdout)}-0000")
    os.mkdir(stale)
    mine = cgroup.create(BASE)
    try:
        assert not os.path.exists(stale)
        assert os.path.isdir(mine)  # a live judge's (ours) is kept
        assert cgroup.remove_stale(BASE) == []
    finally:
        cgroup.remove(mine)
