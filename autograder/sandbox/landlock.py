"""Landlock, through its three system calls: a filesystem allow-list, no TCP, scoped signals.

Landlock needs no privilege: any process may restrict itself (after `PR_SET_NO_NEW_PRIVS`),
and the restriction holds for it and every process it forks, for good. A worker applies one
ruleset after the jail's mounts and uid drop, before student code (`jail.confine`):

- read only: what `read` lists (the interpreter, its site-packages, the package but its judge
  side, shared libraries, a few files of /dev, /proc and /etc); read and write: what `write`
  lists (its scratch); nothing else, not even to list a directory. No execve anywhere.
- no TCP bind or connect (ABI >= 4);
- signals and abstract UNIX sockets scoped to the worker's own domain (ABI >= 6): it cannot
  signal the judge, the zygote, another worker, nor any other process of the same uid.

Landlock also forbids ptrace (and so reading /proc/<pid>/environ, following /proc/<pid>/cwd)
of any process outside the domain, from ABI 1 on.

Rules are additive (a rule on a folder allows everything below it), so a folder that holds
something to keep out (`except_`) is never allowed whole: its other entries are, one by one.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import os
import platform
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

SYS_CREATE_RULESET = 444  # the same number on x86_64 and aarch64 (and every other arch)
SYS_ADD_RULE = 445
SYS_RESTRICT_SELF = 446
CREATE_RULESET_VERSION = 1
RULE_PATH_BENEATH = 1
PR_SET_NO_NEW_PRIVS = 38

EXECUTE = 1 << 0
WRITE_FILE = 1 << 1
READ_FILE = 1 << 2
READ_DIR = 1 << 3
REMOVE_DIR = 1 << 4
REMOVE_FILE = 1 << 5
MAKE_CHAR = 1 << 6
MAKE_DIR = 1 << 7
MAKE_REG = 1 << 8
MAKE_SOCK = 1 << 9
MAKE_FIFO = 1 << 10
MAKE_BLOCK = 1 << 11
MAKE_SYM = 1 << 12
REFER = 1 << 13  # ABI 2
TRUNCATE = 1 << 14  # ABI 3
IOCTL_DEV = 1 << 15  # ABI 5
NET_BIND_TCP = 1 << 0  # ABI 4
NET_CONNECT_TCP = 1 << 1
SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0  # ABI 6
SCOPE_SIGNAL = 1 << 1

FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV  # the only rights a file rule may hold
READ = READ_FILE | READ_DIR
WRITE = (
    READ
    | WRITE_FILE
    | REMOVE_DIR
    | REMOVE_FILE
    | MAKE_DIR
    | MAKE_REG
    | MAKE_SYM
    | MAKE_SOCK
    | MAKE_FIFO
    | REFER
    | TRUNCATE
)

#: Outside the interpreter, what a worker reads: shared libraries, the files NumPy, matplotlib
#: and the C library open, and its own /proc entry (resolved when the rules are made).
SYSTEM_READ = (
    "/lib",
    "/lib64",
    "/usr/lib",
    "/usr/lib64",
    "/usr/local/lib",
    "/usr/share/zoneinfo",
    "/usr/share/fonts",
    "/etc/ld.so.cache",
    "/etc/localtime",
    "/etc/nsswitch.conf",
    "/etc/passwd",
    "/etc/group",
    "/etc/fonts",
    "/etc/mime.types",
    "/dev/null",
    "/dev/zero",
    "/dev/random",
    "/dev/urandom",
    "/proc/self",
    "/proc/cpuinfo",
    "/proc/meminfo",
    "/proc/stat",
    "/sys/devices/system/cpu",
)


class _RulesetAttr(ctypes.Structure):
    _fields_ = (
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    )


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = (("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32))


@dataclass(frozen=True)
class Applied:
    """What one `restrict` put in force."""

    abi: int
    rules: int
    net: bool  # TCP bind and connect denied
    scoped: bool  # signals and abstract UNIX sockets kept inside the domain


@functools.lru_cache(maxsize=1)
def _libc() -> ctypes.CDLL:
    """The C library, opened once a process (a zygote opens it for all its forks: ~0.2 ms each)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    return libc


@functools.lru_cache(maxsize=1)
def abi_version() -> int:
    """The Landlock ABI this kernel offers; 0 where it has none (or it is disabled).

    Asked once a process: the kernel's answer cannot change while it runs.
    """
    if platform.system() != "Linux":
        return 0
    rc = int(_libc().syscall(ctypes.c_long(SYS_CREATE_RULESET), None, ctypes.c_size_t(0), ctypes.c_uint32(1)))
    return max(rc, 0)


@functools.lru_cache(maxsize=4)
def prepared(planned: tuple[str, ...]) -> tuple[tuple[str, bool], ...]:
    """Each of `planned` (already `plan`ned) with whether it is a folder; missing ones dropped.

    The zygote calls it once with its workers' read list, so that a fork only opens each path
    and adds its rule, and loads the C library and asks the ABI on the way.
    """
    abi_version()
    out = []
    for path in planned:
        try:
            out.append((path, stat.S_ISDIR(os.stat(path).st_mode)))
        except OSError:
            continue
    return tuple(out)


def handled_fs(abi: int) -> int:
    """Every filesystem right the kernel of `abi` knows: all of them are denied unless allowed."""
    rights = (1 << 13) - 1
    if abi >= 2:
        rights |= REFER
    if abi >= 3:
        rights |= TRUNCATE
    if abi >= 5:
        rights |= IOCTL_DEV
    return rights


def plan(allow: Iterable[str], except_: Sequence[str]) -> list[str]:
    """The paths to allow so that `allow` is reachable but nothing of `except_` is.

    A path of `allow` that holds one of `except_` is split into its entries, recursively, down
    to the excepted path, which is left out. Missing paths are dropped.
    """
    return _plan(allow, [os.path.realpath(p) for p in except_])


def _plan(allow: Iterable[str], excluded: Sequence[str]) -> list[str]:
    """`plan`, with the paths to leave out already resolved (`excluded`)."""
    out: list[str] = []
    todo = sorted({os.path.realpath(p) for p in allow})
    while todo:
        path = todo.pop()
        if not os.path.exists(path):
            continue
        if any(path == e or path.startswith(e + "/") for e in excluded):
            continue
        if any(e.startswith(path + "/") for e in excluded) and os.path.isdir(path):
            try:
                todo += [os.path.join(path, name) for name in os.listdir(path)]
            except OSError:
                continue
            continue
        out.append(path)
    return sorted(set(out))


def restrict(
    read: Iterable[str], write: Iterable[str], *, except_: Sequence[str] = (), planned: Sequence[str] = ()
) -> Applied:
    """Restrict this process (and all it forks) to reading `read` and writing `write`, with
    whatever of `except_` lies below them left out; no execve, no TCP, scoped signals.
    `planned` is more to read, already `plan`ned (by the zygote, once for all its forks).

    OSError if the kernel has no Landlock or refuses the ruleset; the process is then as it was.
    """
    return Ruleset.reading(read, except_=except_, planned=planned).restrict(write)


class Ruleset:
    """A ruleset built in two steps: its read rules (`reading`), then its write rules and the
    restriction itself (`restrict`). A worker forked ahead of its student does the first, the
    slow one (an open and a rule a path), before it knows which scratch folder it will write.
    """

    def __init__(self, abi: int, fd: int, except_: Sequence[str]) -> None:
        self.abi = abi
        self.fd = fd
        self.excluded = [os.path.realpath(p) for p in except_]  # resolved now, not in `restrict`
        self.rules = 0

    @classmethod
    def reading(
        cls, read: Iterable[str], *, except_: Sequence[str] = (), planned: Sequence[str] = ()
    ) -> Ruleset:
        """A ruleset that allows reading `read` and `planned` (see `restrict`) and nothing else yet."""
        abi = abi_version()
        if abi < 1:
            raise OSError(38, "Landlock is not available on this kernel")
        libc = _libc()
        attr = _RulesetAttr(handled_fs(abi), NET_BIND_TCP | NET_CONNECT_TCP if abi >= 4 else 0, 0)
        if abi >= 6:
            attr.scoped = SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL
        size = 8 if abi < 4 else 16 if abi < 6 else 24
        create = ctypes.c_long(SYS_CREATE_RULESET)
        fd = int(libc.syscall(create, ctypes.byref(attr), ctypes.c_size_t(size), 0))
        if fd < 0:
            err = ctypes.get_errno()
            raise OSError(err, f"landlock_create_ruleset: {os.strerror(err)}")
        ruleset = cls(abi, fd, except_)
        try:
            # What the zygote prepared needs no stat; the worker's own few paths (/proc/self)
            # are planned here, as they name it.
            known = prepared(tuple(planned))
            done = {path for path, _ in known}
            own_read = [(p, None) for p in _plan(read, ruleset.excluded) if p not in done]
            for path, is_dir in (*known, *own_read):
                ruleset.rules += _add_rule(libc, fd, path, READ & handled_fs(abi), is_dir)
        except BaseException:
            ruleset.close()
            raise
        return ruleset

    def restrict(self, write: Iterable[str]) -> Applied:
        """Allow writing `write` too, then restrict this process to the ruleset, for good; the
        ruleset is closed either way."""
        libc = _libc()
        try:
            for path in _plan(write, self.excluded):
                self.rules += _add_rule(libc, self.fd, path, WRITE & handled_fs(self.abi))
            if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
                err = ctypes.get_errno()
                raise OSError(err, f"no_new_privs: {os.strerror(err)}")
            if libc.syscall(ctypes.c_long(SYS_RESTRICT_SELF), self.fd, 0) != 0:
                err = ctypes.get_errno()
                raise OSError(err, f"landlock_restrict_self: {os.strerror(err)}")
        finally:
            self.close()
        abi = self.abi
        return Applied(abi=abi, rules=self.rules, net=abi >= 4, scoped=abi >= 6)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def _add_rule(libc: ctypes.CDLL, ruleset: int, path: str, rights: int, is_dir: bool | None = None) -> int:
    """Allow `rights` below `path` (a folder if `is_dir`, looked up if None); 0 if it vanished or
    cannot be opened, 1 once added."""
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return 0
    try:
        if not (stat.S_ISDIR(os.fstat(fd).st_mode) if is_dir is None else is_dir):
            rights &= FILE_RIGHTS
        rule = _PathBeneathAttr(rights, fd)
        rc = libc.syscall(ctypes.c_long(SYS_ADD_RULE), ruleset, RULE_PATH_BENEATH, ctypes.byref(rule), 0)
        if rc != 0 and is_dir and ctypes.get_errno() == errno.EINVAL:  # a folder when prepared, a file now
            rule = _PathBeneathAttr(rights & FILE_RIGHTS, fd)
            rc = libc.syscall(ctypes.c_long(SYS_ADD_RULE), ruleset, RULE_PATH_BENEATH, ctypes.byref(rule), 0)
        if rc != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"landlock_add_rule {path}: {os.strerror(err)}")
    finally:
        os.close(fd)
    return 1
