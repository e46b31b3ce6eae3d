"""A cgroup v2 per zygote, where the host delegates one to us: kill-all, and a memory limit that
counts tmpfs and /dev/shm.

Design: one cgroup per zygote, made by the judge below our own delegated cgroup
(`layers.delegated_cgroup`) and joined by the zygote itself first thing (so nothing it forks,
not even its PID namespace's pid 1, starts outside it). Workers are forks of the zygote and stay
in it; a cgroup per worker would cost a mkdir, two writes and an rmdir on every fork, against a
per-submission budget of a few ms, and the workers of one zygote run one at a time anyway.

- Kill-all: when the judge closes or kills the zygote it writes `cgroup.kill` (Linux >= 5.14;
  before that, SIGKILL to each pid listed, until none is left), so whatever anyone in there
  started, however it forked or hid (a new session, a daemon), ends with it; then the cgroup
  is removed. The zygote's subreaper and PID namespace end a worker's strays per worker.
- Memory: where the memory controller is delegated too, `memory.max` is the worker's limit
  (`jail.Limits.memory_mb`) on top of what the zygote itself holds. Unlike RLIMIT_AS it counts
  what a worker writes to its tmpfs scratch, /tmp or /dev/shm, which outlives no worker but
  lives in memory: a filler is stopped by the kernel's OOM killer in the cgroup, not the host's.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import signal
import time

log = logging.getLogger(__name__)

#: The name of every zygote's cgroup starts so, then the judge's pid: `remove_stale` knows them.
PREFIX = "autograder-"
#: How long the judge waits for a killed cgroup to empty before it gives up removing it.
EMPTY_TIMEOUT_S = 2.0


def create(base: str) -> str:
    """A fresh cgroup for one zygote below `base` (a delegated cgroup v2 directory), with the
    memory controller enabled for it where `base` may hand it on. OSError if it cannot be made."""
    controllers = _read(os.path.join(base, "cgroup.controllers")).split()
    if (
        "memory" in controllers
        and "memory" not in _read(os.path.join(base, "cgroup.subtree_control")).split()
    ):
        # Refused (EBUSY) where `base` holds processes and is not the root: then no memory limit.
        with contextlib.suppress(OSError):
            _write(os.path.join(base, "cgroup.subtree_control"), "+memory")
    remove_stale(base)
    path = os.path.join(base, f"{PREFIX}{os.getpid()}-{secrets.token_hex(4)}")
    os.mkdir(path, 0o755)
    return path


def remove_stale(base: str) -> list[str]:
    """Remove the cgroups below `base` left by judges that are gone (killed before they could
    clean up), with whatever is still in them; the paths removed."""
    removed = []
    try:
        entries = os.listdir(base)
    except OSError:
        return []
    for entry in entries:
        judge = entry[len(PREFIX) :].split("-", 1)[0]
        if not entry.startswith(PREFIX) or not judge.isdigit() or _alive(int(judge)):
            continue
        path = os.path.join(base, entry)
        remove(path)
        if not os.path.exists(path):
            removed.append(path)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def join(path: str) -> None:
    """Move this process into the cgroup `path` (the zygote, before it forks anything)."""
    _write(os.path.join(path, "cgroup.procs"), "0")


def members(path: str) -> list[int]:
    """The pids in the cgroup `path` (in our PID namespace); none if it is gone."""
    try:
        return [int(line) for line in _read(os.path.join(path, "cgroup.procs")).split()]
    except (OSError, ValueError):
        return []


def has_memory(path: str) -> bool:
    """Whether the cgroup `path` can take a memory limit."""
    return os.path.isfile(os.path.join(path, "memory.max"))


def limit_memory(path: str, extra_bytes: int) -> int:
    """Cap the cgroup at what it holds now plus `extra_bytes` (the worker's limit on top of the
    zygote's own pages); the cap written, or 0 where the cgroup has no memory controller."""
    if not has_memory(path):
        return 0
    current = int(_read(os.path.join(path, "memory.current")) or 0)
    cap = current + extra_bytes
    _write(os.path.join(path, "memory.max"), str(cap))
    return cap


def kill(path: str) -> None:
    """SIGKILL everything in the cgroup `path` at once (`cgroup.kill`), or pid by pid where the
    kernel is older than 5.14."""
    try:
        _write(os.path.join(path, "cgroup.kill"), "1")
        return
    except FileNotFoundError:
        pass
    for _ in range(100):
        pids = members(path)
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)


def remove(path: str) -> None:
    """Kill everything in the cgroup `path` and remove it (as the zygote's end: never raises)."""
    if not os.path.isdir(path):
        return
    try:
        kill(path)
    except OSError as exc:
        log.warning("could not kill the processes of cgroup %s: %s", path, exc)
    deadline = time.monotonic() + EMPTY_TIMEOUT_S
    while True:
        try:
            os.rmdir(path)
            return
        except FileNotFoundError:
            return
        except OSError as exc:  # EBUSY until the killed processes are gone
            if time.monotonic() > deadline:
                log.warning("could not remove cgroup %s: %s", path, exc)
                return
            time.sleep(0.005)


def _read(path: str) -> str:
    with open(path) as f:
        return f.read().strip()


def _write(path: str, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)
