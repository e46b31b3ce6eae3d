"""Which layers of the jail this machine offers, and which guarantees hold without the rest.

Probed, never assumed: `probe()` asks the kernel (Landlock's ABI, seccomp, a user namespace
and a PID namespace with its own /proc tried in throwaway children, the subreaper flag, a
delegated cgroup v2 and whether it hands on the memory controller). Each guarantee of the
security model holds where any one of the layers that give it is in force (see `GUARANTEES`);
`--isolation strict` wants every layer of `FULL`.
"""

from __future__ import annotations

import ctypes
import os
from dataclasses import dataclass

from autograder.sandbox import landlock, pidns, seccomp

CLONE_NEWUSER = 0x10000000
PR_SET_CHILD_SUBREAPER = 36
PR_GET_CHILD_SUBREAPER = 37

#: What `--isolation strict` needs (a cgroup is a bonus: most hosts delegate none).
FULL = ("landlock", "landlock-net", "landlock-scope", "seccomp", "subreaper", "namespaces", "pidns")

#: Each guarantee, and the layers of which any one gives it.
GUARANTEES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("course files and hidden tests unreadable and unwritable", ("landlock", "namespaces")),
    ("writes only into the worker's own scratch", ("landlock", "uid-drop")),
    ("no network (TCP, UDP, raw sockets)", ("seccomp", "netns")),
    ("cannot signal the judge, the zygote or other processes", ("landlock-scope", "uid-drop", "pidns")),
    ("cannot read or trace other processes (/proc, ptrace)", ("landlock", "uid-drop", "pidns")),
    ("no abstract UNIX socket to the judge", ("landlock-scope", "netns")),
    ("no process outlives its worker", ("subreaper", "uid-drop")),
    ("no namespaces, mounts, keyrings, eBPF or perf from student code", ("seccomp",)),
    ("scratch size capped (a tmpfs)", ("namespaces",)),
)

#: What a delegated cgroup v2 adds where the host has one (most delegate none, so these are
#: never counted as lost): each guarantee, and the layers of which any one gives it.
BONUS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("nothing outlives its zygote, however it forked (killed as one cgroup)", ("cgroup",)),
    ("a worker's memory counts its tmpfs, /tmp and /dev/shm (memory.max)", ("cgroup-memory",)),
)


@dataclass(frozen=True)
class Layers:
    """The layers a worker gets on this machine, as probed."""

    root: bool
    user_namespaces: bool
    landlock_abi: int
    seccomp: bool
    subreaper: bool
    cgroup: str  # a writable (delegated) cgroup v2 directory, or "" where there is none
    pid_namespace: bool = False  # the zygote can be pid 1 of a PID namespace with its own /proc
    cgroup_memory: bool = False  # the delegated cgroup hands on the memory controller

    def names(self) -> list[str]:
        """The layers in force, by name."""
        have = {
            "uid-drop": self.root,
            "namespaces": self.root or self.user_namespaces,
            "netns": self.root or self.user_namespaces,
            "pidns": self.pid_namespace,
            "landlock": self.landlock_abi >= 1,
            "landlock-net": self.landlock_abi >= 4,
            "landlock-scope": self.landlock_abi >= 6,
            "seccomp": self.seccomp,
            "subreaper": self.subreaper,
            "cgroup": bool(self.cgroup),
            "cgroup-memory": bool(self.cgroup) and self.cgroup_memory,
        }
        return [name for name, ok in have.items() if ok]

    def missing(self) -> list[str]:
        """The layers of `FULL` this machine lacks."""
        have = set(self.names())
        return [name for name in FULL if name not in have]

    def lost(self) -> list[str]:
        """The guarantees that do not hold here."""
        have = set(self.names())
        return [what for what, by in GUARANTEES if not have.intersection(by)]

    def bonus(self) -> list[str]:
        """The guarantees a delegated cgroup adds here (see `BONUS`)."""
        have = set(self.names())
        return [what for what, by in BONUS if have.intersection(by)]

    def full(self) -> bool:
        return not self.missing()

    def describe(self) -> str:
        """One line: what is in force, and what does not hold without the rest."""
        parts = []
        for name in self.names():
            if name == "landlock":
                parts.append(f"landlock (ABI {self.landlock_abi})")
            elif name == "cgroup":
                parts.append(f"cgroup v2 at {self.cgroup} (kill-all)")
            elif name == "cgroup-memory":
                parts.append("cgroup memory.max")
            else:
                parts.append(name)
        line = "isolation: " + (", ".join(parts) or "none")
        lost = self.lost()
        if lost:
            line += "; NOT guaranteed without " + ", ".join(self.missing()) + ": " + "; ".join(lost)
        elif self.missing():
            line += "; missing " + ", ".join(self.missing()) + " (every guarantee still holds)"
        return line


def user_namespaces_allowed() -> bool:
    """Whether this process may make a user namespace (tried in a child that exits at once)."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            code = 0 if libc.unshare(CLONE_NEWUSER) == 0 else 1
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0


def subreaper_available() -> bool:
    """Whether prctl knows PR_GET_CHILD_SUBREAPER (Linux >= 3.4)."""
    value = ctypes.c_int(0)
    libc = ctypes.CDLL(None, use_errno=True)
    return bool(libc.prctl(PR_GET_CHILD_SUBREAPER, ctypes.byref(value), 0, 0, 0) == 0)


def delegated_cgroup() -> str:
    """This process's cgroup v2 directory if we may write to it (a delegated subtree), else ""."""
    try:
        with open("/proc/self/cgroup") as f:
            lines = f.read().splitlines()
    except OSError:
        return ""
    rel = next((line[3:] for line in lines if line.startswith("0::")), None)
    if rel is None:
        return ""
    for mount in ("/sys/fs/cgroup", "/sys/fs/cgroup/unified"):
        path = os.path.join(mount, rel.lstrip("/"))
        is_v2 = os.path.isfile(os.path.join(mount, "cgroup.controllers"))
        if is_v2 and os.path.isfile(os.path.join(path, "cgroup.procs")) and os.access(path, os.W_OK):
            return path.rstrip("/")
    return ""


def cgroup_memory(path: str) -> bool:
    """Whether the cgroup v2 directory `path` can hand the memory controller to its children."""
    try:
        with open(os.path.join(path, "cgroup.controllers")) as f:
            return "memory" in f.read().split()
    except OSError:
        return False


def probe() -> Layers:
    """The layers this machine offers a worker forked from here."""
    root = os.geteuid() == 0
    userns = not root and user_namespaces_allowed()
    cgroup = delegated_cgroup()
    return Layers(
        root=root,
        user_namespaces=userns,
        landlock_abi=landlock.abi_version(),
        seccomp=seccomp.available(),
        subreaper=subreaper_available(),
        cgroup=cgroup,
        pid_namespace=(root or userns) and pidns.available(),
        cgroup_memory=bool(cgroup) and cgroup_memory(cgroup),
    )
