"""Start workers: the only module (with `pool`) that starts processes.

A `Zygote` is a fresh interpreter (`python -m autograder.sandbox.worker`) with a scrubbed
environment that has imported NumPy and friends once; it forks one confined worker per request
and hands back a `client.Worker`, the judge's handle on it (`client` also holds
`StudentProcess`, which keeps a submission callable across worker deaths). The rest says what a
worker may see: its `JailSpec` and the paths hidden from it.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import signal
import site
import socket
import subprocess
import sys
import sysconfig
from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path

import autograder
from autograder.sandbox import cgroup, layers, pidns
from autograder.sandbox.client import READY_TIMEOUT_S, Worker, WorkerLost
from autograder.sandbox.jail import JailSpec, Limits, scrubbed_environment

log = logging.getLogger(__name__)

#: How long a warm zygote may take to fork a worker (a few ms) before it counts as gone.
SPAWN_TIMEOUT_S = 10.0
#: How long a worker forked ahead may take to confine itself once taken (a millisecond or two)
#: before the judge forks another instead: it may have been stopped while it waited.
AHEAD_READY_TIMEOUT_S = 10.0
#: The largest cell the zygote compiles ahead (a control message: the zygote reads 64 KiB).
MAX_PREPARED_BYTES = 60_000


class ZygoteLost(RuntimeError):
    """The zygote is gone (killed, stopped, exited): it forks no more workers."""


def _package_root() -> str:
    return str(Path(autograder.__file__).resolve().parent.parent)


class Zygote:
    """A warm parent that forks confined workers on request."""

    def __init__(
        self, *, python: str = sys.executable, use_pidns: bool = True, use_cgroup: bool = True
    ) -> None:
        """Start a zygote; `use_pidns` and `use_cgroup` (where the machine offers them: see
        `pidns`, `cgroup`) are there to measure and test what holds without them."""
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        # In a PID namespace the zygote names its workers with SCM_CREDENTIALS: we read them.
        parent.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        #: The zygote's own cgroup v2 (see `cgroup`), where the host delegates one; else "".
        self.cgroup = _new_cgroup() if use_cgroup else ""
        self._memory_mb = 0  # the worker memory limit the cgroup was capped for
        env = scrubbed_environment("/")
        env["PYTHONPATH"] = _package_root()
        self._proc = subprocess.Popen(
            [
                python,
                "-m",
                "autograder.sandbox.worker",
                str(child.fileno()),
                *(["--cgroup", self.cgroup] if self.cgroup else []),
                *([] if use_pidns else ["--no-pidns"]),
            ],
            pass_fds=[child.fileno()],
            env=env,
            cwd="/",
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        child.close()
        self._ctrl = parent
        self._ready = False  # it warms up (a second or so) while the judge collects its suite
        #: The worker forked ahead for the next student: the `JailSpec.ahead` it prepares for,
        #: and our end of its socket (`spawn`).
        self._ahead: tuple[JailSpec, socket.socket] | None = None
        #: Whether the zygote is pid 1 of a PID namespace of its own (`pidns`), as it said.
        self.pid_namespace = False
        #: The process that forks the workers, in our pids: `pid`, or in a PID namespace its
        #: pid 1 (the child of `pid`); known once ready.
        self.forker_pid = self._proc.pid

    @property
    def pid(self) -> int:
        return self._proc.pid

    def wait_ready(self) -> None:
        """Block until the zygote has warmed up; RuntimeError if it could not start."""
        if self._ready:
            return
        self._ctrl.settimeout(READY_TIMEOUT_S)
        sender: int | None = None
        try:
            data, ancdata, _flags, _addr = self._ctrl.recvmsg(4096, pidns.ancillary_size())
            ready = json.loads(data or b"{}")
            sender = pidns.received_pid(ancdata)  # the kernel's word for who sent it, in our pids
        except (OSError, ValueError):
            ready = {}
        if ready.get("ev") != "zygote-ready":
            err = self._proc.stderr.read().decode(errors="replace")[-800:] if self._proc.stderr else ""
            self.close()
            raise RuntimeError(f"the worker zygote did not start: {err.strip() or 'no output'}")
        self._ctrl.settimeout(None)
        self.pid_namespace = ready.get("pidns") is True
        if self.pid_namespace and sender is not None:
            self.forker_pid = sender
        if self.cgroup and ready.get("cgroup") is not True:  # it could not join: nothing to keep
            cgroup.remove(self.cgroup)
            self.cgroup = ""
        self._ready = True

    def spawn(self, spec: JailSpec) -> Worker:
        """A confined worker for `spec`, ready; `ZygoteLost` if the zygote is gone or does not
        answer (a worker may have killed or stopped it).

        Each worker is forked ahead of its student: it prepares what is the same for every
        student (`jail.prepare`: namespaces, mounts, read rules) while the judge grades the one
        before, and only takes its scratch folder, uid and last rules here. Should the worker
        forked ahead be gone or unfit (a spec of another kind), a fresh one is forked at once.
        """
        self.wait_ready()
        if self.cgroup and self._memory_mb != spec.limits.memory_mb:
            self._limit_memory(spec.limits.memory_mb)
        try:
            worker = self._take_ahead(spec, ready_timeout_s=AHEAD_READY_TIMEOUT_S)
        except ZygoteLost:
            raise
        except (WorkerLost, RuntimeError) as exc:  # killed, or stuck, while it waited
            log.info("the worker forked ahead could not be used (%s); forking another", exc)
            worker = None
        if worker is None:
            self._fork_ahead(spec.ahead())
            worker = self._take_ahead(spec, ready_timeout_s=READY_TIMEOUT_S)
            assert worker is not None  # it was forked for this very spec
        self._fork_ahead(spec.ahead())  # the next student's, while this one is graded
        return worker

    def _fork_ahead(self, template: JailSpec) -> None:
        """Ask for a worker that prepares itself for `template` and waits; `_take_ahead` takes it."""
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            request = json.dumps({"ahead": template.to_json()}).encode()
            self._ctrl.settimeout(SPAWN_TIMEOUT_S)
            socket.send_fds(self._ctrl, [request], [theirs.fileno()])
        except OSError as exc:
            mine.close()
            raise ZygoteLost(f"the worker zygote is gone ({type(exc).__name__}: {exc})") from None
        finally:
            theirs.close()
            with suppress(OSError):
                self._ctrl.settimeout(None)
        self._ahead = (template, mine)

    def _take_ahead(self, spec: JailSpec, *, ready_timeout_s: float) -> Worker | None:
        """The worker forked ahead, confined as `spec` and ready within `ready_timeout_s`; None
        if there is none or it was prepared for another kind of spec (it is then ended)."""
        if self._ahead is None:
            return None
        template, sock = self._ahead
        self._ahead = None
        try:
            self._ctrl.settimeout(SPAWN_TIMEOUT_S)
            pid = self._forked_pid()  # the zygote's answer to that fork, in order
        except (OSError, ValueError, KeyError, TypeError) as exc:
            sock.close()
            raise ZygoteLost(f"the worker zygote is gone ({type(exc).__name__}: {exc})") from None
        finally:
            with suppress(OSError):
                self._ctrl.settimeout(None)
        worker = Worker(sock, pid, spec)
        if spec.ahead() != template:
            worker.kill()
            return None
        try:
            worker.confine(spec, cpus=_cpus())
            worker.wait_ready(timeout_s=ready_timeout_s)
        except BaseException:
            worker.kill()
            raise
        return worker

    def _limit_memory(self, memory_mb: int) -> None:
        """Cap the zygote's cgroup at a worker's `memory_mb` on top of the zygote's own pages
        (workers run one at a time); counts tmpfs and /dev/shm, unlike RLIMIT_AS."""
        try:
            cgroup.limit_memory(self.cgroup, memory_mb << 20)
        except (OSError, ValueError) as exc:
            log.warning("no cgroup memory limit for the workers (%s)", exc)
        self._memory_mb = memory_mb

    def _forked_pid(self) -> int:
        """The pid of the worker just forked, in our namespace: the zygote's answer names it in
        its own; in a PID namespace the kernel rewrote the credentials it sent into ours."""
        data, ancdata, _flags, _addr = self._ctrl.recvmsg(4096, pidns.ancillary_size())
        pid = int(json.loads(data)["pid"])
        if not self.pid_namespace:
            return pid
        outside = pidns.received_pid(ancdata)
        if outside is None:
            raise ValueError("no credentials naming the worker")
        return outside

    def prepare(self, sources: Sequence[str]) -> None:
        """Have the zygote compile these cells once for all its workers (public text only:
        the released notebook's cells, which every student has)."""
        for source in dict.fromkeys(sources):
            request = json.dumps({"prepare": source}).encode()
            if len(request) < MAX_PREPARED_BYTES:  # one control message each; larger ones are rare
                self._ctrl.send(request)

    def share(self, hide: Sequence[str]) -> None:
        """Have the zygote make the mounts every worker needs once, hiding `hide` (as root; see
        `jail.confine_shared`). Workers hide whatever it could not."""
        request = json.dumps({"share": list(hide)}).encode()
        if len(request) < MAX_PREPARED_BYTES:  # one control message; each worker hides a longer list
            self._ctrl.send(request)

    def kill(self) -> None:
        """End the zygote at once (and so every worker it forked, which die with it)."""
        if self.cgroup:
            with suppress(OSError):
                cgroup.kill(self.cgroup)
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(self._proc.pid, signal.SIGKILL)
        self.close()

    def close(self) -> None:
        if self._ahead is not None:  # it ends as its socket closes (or with the zygote)
            self._ahead[1].close()
            self._ahead = None
        self._ctrl.close()
        try:
            self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        if self._proc.stderr:
            self._proc.stderr.close()
        if self.cgroup:  # whatever is left in there (nothing should be) dies with it
            cgroup.remove(self.cgroup)
            self.cgroup = ""

    def __enter__(self) -> Zygote:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _cpus() -> list[int]:
    """The CPUs this thread may run on: a worker moves there (a judge pinned to one CPU has its
    worker beside it; see `pool.pinned`)."""
    try:
        return sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return []


def _new_cgroup() -> str:
    """A cgroup of its own for a new zygote below our delegated cgroup v2; "" where none."""
    base = layers.delegated_cgroup()
    if not base:
        return ""
    try:
        return cgroup.create(base)
    except OSError as exc:
        log.info("no cgroup for the zygote below %s (%s)", base, exc)
        return ""


def jail_spec(scratch: Path, *, hide: Sequence[Path], limits: Limits | None = None, serial: int) -> JailSpec:
    """A JailSpec for one worker: its scratch dir, what to hide, and a uid of its own."""
    # A uid per worker, distinct from every other judge's workers on this machine (pids of
    # live judges differ; pid_max <= 2**22 keeps it below 2**32 - 1): the processes and files of
    # one student are out of another's reach, and killing one uid never hits another student.
    uid = 1_000_000 + os.getpid() * 1000 + serial % 1000
    limits = limits or Limits()
    return JailSpec(scratch=str(scratch), limits=limits, uid=uid, hide=hidden_paths(hide))


def trusted_dir() -> Path:
    """The package's judge side (`autograder/judge/`: the judge, the references, the
    classifiers): one folder, hidden from every worker as a whole."""
    return Path(autograder.__file__).resolve().parent / "judge"


def hidden_paths(hide: Sequence[Path]) -> tuple[str, ...]:
    """What a worker must not see: `hide`, the package's judge side, and (run from a checkout)
    everything beside the package."""
    hidden = [str(p) for p in hide]
    hidden.append(str(trusted_dir()))
    hidden += _checkout_paths()
    return tuple(dict.fromkeys(hidden))


def paths_beside(root: Path) -> list[Path]:
    """Everything in `root` but the package and the interpreter's own directories (a .venv)."""
    package = Path(autograder.__file__).resolve().parent
    needed = _interpreter_dirs()
    out = []
    for entry in sorted(root.iterdir()):
        if entry.is_symlink() or entry.resolve() == package:
            continue
        if any(d == entry or d.is_relative_to(entry) for d in needed):
            continue
        out.append(entry)
    return out


def _interpreter_dirs() -> set[Path]:
    """Where this Python's own files live (prefixes, stdlib, site-packages, executable)."""
    dirs = {sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(os.path.realpath(sys.executable))}
    dirs.update(p for p in sysconfig.get_paths().values() if p)
    dirs.update(site.getsitepackages())
    return {Path(d).resolve() for d in dirs}


@functools.lru_cache(maxsize=1)
def _checkout_paths() -> tuple[str, ...]:
    """What lies beside the package when it runs from a checkout: hidden from workers.

    Workers import `autograder` from the folder holding it (the zygote's PYTHONPATH). Installed,
    that is site-packages, and nothing is added. Run from a checkout (this course in a box), it
    is a repository with a course of its own (source/, assignments/ with the hidden suites and
    quiz keys), its git history and its tests, whatever course is being graded: everything
    there but the package and the interpreter's own directories (a .venv) is hidden.
    """
    root = Path(autograder.__file__).resolve().parent.parent
    if any(root == d or root.is_relative_to(d) for d in _interpreter_dirs()):
        return ()
    return tuple(str(p) for p in paths_beside(root))
