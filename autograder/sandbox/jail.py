"""Confine the current process (a freshly forked worker) before any student code runs.

In two parts: what is the same for every student (`prepare`: steps 1, 2 and the read rules
of 6), done by a worker the zygote forks ahead while the judge grades the student before, and
the rest (`confine`: the scratch folder, the uid, the limits, the write rule, seccomp), done
once the judge names the student's jail spec. Applied in order, each step best-effort where
the kernel or our rights forbid it, and reported back so the judge can say once per batch
what was not isolated:

1. its own session and process group (the judge kills the whole group);
2. a new mount, network and IPC namespace: no network at all (only a loopback that is down),
   and an empty read-only tmpfs (or /dev/null for a file) over every path the worker must not
   read: the course's source/, assignments/, submitted/, the gradebook, the references;
   private, small tmpfs copies of the shared temp dirs (/tmp, /var/tmp, /dev/shm, /run/lock),
   so a worker can neither read what others left there nor leave anything behind;
3. a scratch working dir holding only the submission (in namespaces: a size-limited tmpfs
   filled with a copy, so whatever the worker writes vanishes with it), a scrubbed environment;
4. resource limits: CPU seconds, address space, file size, open files, processes, no core;
5. as root: drop to a per-worker unprivileged uid with no groups;
6. the layers that need no privilege, wherever the kernel has them: Landlock (`landlock`: read
   only the interpreter and the package but its judge side, write only the scratch, no TCP,
   signals and abstract sockets scoped to the worker) and a seccomp filter (`seccomp`: no
   sockets but AF_UNIX, no ptrace, namespaces, mounts, keyrings, eBPF...). These are what
   hold as a normal user, with or without user namespaces (see `layers`).

Around all of this, made once per zygote rather than per worker: where user namespaces are
allowed (or as root) the zygote is pid 1 of a PID namespace with its own /proc (`pidns`), so a
worker's /proc and kill(-1) reach no process of the judge's; where the host delegates a cgroup
v2, the zygote has a cgroup of its own, killed whole when it closes and capped at a worker's
memory limit where the memory controller is delegated (`cgroup`).

The mounts that are the same for every worker of a judge (the hidden course paths, the
interpreter exposed under a private home) can be made once, by the zygote as root, in a mount
namespace of its own (`confine_shared`): each worker's namespace starts as a copy of it, which
costs far less than mounting them again in every fork.
"""

from __future__ import annotations

import ctypes
import dataclasses
import functools
import os
import resource
import shutil
import stat
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from autograder.sandbox import landlock, seccomp

CLONE_NEWNS = 0x00020000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 1 << 18

SAFE_PATH = "/usr/local/bin:/usr/bin:/bin"
#: World-writable dirs every process shares; each worker gets its own empty copy instead.
SHARED_TEMP_DIRS = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock")


@dataclass(frozen=True)
class Limits:
    """Resource limits of one worker (all of its cells and calls together)."""

    cpu_s: int = 120
    memory_mb: int = 3072
    file_mb: int = 64
    nofile: int = 256
    nproc: int = 64
    scratch_mb: int = 256  # the scratch tmpfs (all its files together), where namespaces allow


@dataclass(frozen=True)
class JailSpec:
    """What the judge asks of one worker; travels to the zygote as JSON."""

    scratch: str
    limits: Limits = field(default_factory=Limits)
    uid: int = 65534
    hide: tuple[str, ...] = ()
    namespaces: bool = True
    drop_privileges: bool = True
    expose: tuple[str, ...] = ()  # the interpreter's directories (see interpreter_paths)
    landlock: bool = True  # where the kernel has it
    seccomp: bool = True

    def to_json(self) -> dict[str, Any]:
        return {
            **self.__dict__,
            "hide": list(self.hide),
            "expose": list(self.expose),
            "limits": dict(self.limits.__dict__),
        }

    def ahead(self) -> JailSpec:
        """What a worker forked ahead of its student prepares (`prepare`): this spec but for the
        scratch folder's own name (it holds the folder's parent) and the uid."""
        return dataclasses.replace(self, scratch=os.path.dirname(self.scratch.rstrip("/")), uid=-1)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> JailSpec:
        return cls(
            **{
                **data,
                "hide": tuple(data.get("hide", ())),
                "expose": tuple(data.get("expose", ())),
                "limits": Limits(**data["limits"]),
            }
        )


@dataclass(frozen=True)
class Shared:
    """What the zygote confined once for all its workers (`confine_shared`)."""

    hidden: frozenset[str] = frozenset()  # paths already hidden in the zygote's mount namespace
    exposed: bool = False  # the interpreter is reachable from a private home already
    network: bool = False  # in a network namespace of its own, where no interface is up
    #: What every worker may read (`landlock.plan` of `readable_paths` less `planned_for`), planned
    #: once; a worker that hides more than `planned_for` plans its own.
    readable: tuple[str, ...] = ()
    planned_for: frozenset[str] = frozenset()


def plan_readable(hide: Sequence[str]) -> tuple[tuple[str, ...], frozenset[str]]:
    """Plan, once in the zygote, what its workers may read: `readable_paths` without `hide` and
    the judge side. /proc/self is left to each worker (it names the process that resolves it)."""
    except_ = (*hide, _judge_dir())
    paths = [p for p in readable_paths() if p not in PER_WORKER_READ]
    return tuple(landlock.plan(paths, except_)), frozenset(except_)


@dataclass
class Isolation:
    """What the jail achieved (reported to the judge; never trusted for scores)."""

    namespaces: bool = False
    hidden: int = 0
    uid: int = -1
    landlock: int = 0  # the Landlock ABI applied, 0 if none
    seccomp: bool = False
    notes: list[str] = field(default_factory=list)


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _check(rc: int, what: str) -> None:
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def confine_shared(hide: Sequence[str], expose: Sequence[str]) -> Shared:
    """In the zygote, as root: a mount namespace of its own that hides `hide` and exposes the
    interpreter, and a network namespace with no interface up, for every worker it forks to
    copy or share. What could not be done there is left to each worker (`confine` does
    whatever `Shared` does not cover), so this never fails.

    The workers of one zygote run one after another, and each is killed with every process of
    its uid before the next starts, so a shared network namespace with nothing up carries
    nothing from one to the next; IPC objects outlive their processes, so each worker still
    gets an IPC namespace of its own.
    """
    if os.geteuid() != 0:  # without root, each worker does it all in its own user namespace
        return Shared()
    libc = _libc()
    try:
        _check(libc.unshare(CLONE_NEWNS | CLONE_NEWNET), "unshare")
    except OSError:
        return Shared()
    hidden: set[str] = set()
    exposed = False
    try:
        _check(libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None), "mount --make-rprivate /")
        _expose_interpreter(libc, tuple(expose))
        exposed = True
        for path, is_dir in _existing(hide).items():
            _hide(libc, path, is_dir)
            hidden.add(path)
    except OSError:
        pass
    return Shared(frozenset(hidden), exposed, network=True)


def _existing(paths: Sequence[str]) -> dict[str, bool]:
    """The paths that exist now, each with whether it is a directory."""
    return {path: os.path.isdir(path) for path in paths if os.path.lexists(path)}


def _hide(libc: ctypes.CDLL, path: str, is_dir: bool) -> None:
    """An empty read-only tmpfs over a directory, /dev/null over a file."""
    raw = os.fsencode(path)
    if is_dir:
        rc = libc.mount(
            b"tmpfs", raw, b"tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, b"size=4k,mode=0"
        )
    else:
        rc = libc.mount(b"/dev/null", raw, None, MS_BIND, None)
    _check(rc, f"hide {path}")


def map_ids(uid: int, gid: int, *, inside_uid: int, inside_gid: int) -> None:
    """In a user namespace just made: `uid` and `gid` (ours outside, read before the unshare)
    are `inside_uid` and `inside_gid` in it, and no other id is mapped; setgroups is denied."""
    with open("/proc/self/setgroups", "w") as f:
        f.write("deny")
    with open("/proc/self/uid_map", "w") as f:
        f.write(f"{inside_uid} {uid} 1")
    with open("/proc/self/gid_map", "w") as f:
        f.write(f"{inside_gid} {gid} 1")


def _enter_namespaces(libc: ctypes.CDLL, spec: JailSpec, iso: Isolation, shared: Shared) -> None:
    flags = CLONE_NEWNS | CLONE_NEWIPC
    if not (shared.network and spec.drop_privileges):  # a worker left root could bring one up
        flags |= CLONE_NEWNET
    if os.geteuid() != 0:
        # An unprivileged user namespace makes us root inside it, allowed to mount.
        uid, gid = os.geteuid(), os.getegid()
        _check(libc.unshare(flags | CLONE_NEWUSER), "unshare(user)")
        map_ids(uid, gid, inside_uid=0, inside_gid=0)
    else:
        _check(libc.unshare(flags), "unshare")
    _check(libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None), "mount --make-rprivate /")
    iso.namespaces = True
    if os.geteuid() == 0 and spec.drop_privileges and not shared.exposed:
        _expose_interpreter(libc, spec.expose)
    iso.hidden += sum(path in shared.hidden for path in spec.hide)
    hide = _existing([path for path in spec.hide if path not in shared.hidden])
    # The scratch folder is not bound back in: `confine` mounts it, once it knows which it is.
    _private_temp_dirs(libc, spec.expose)
    for path, is_dir in hide.items():
        if not os.path.lexists(path):  # it was below a shared temp dir: show it, empty, all the same
            os.makedirs(path if is_dir else os.path.dirname(path), mode=0o755, exist_ok=True)
            if not is_dir:
                open(path, "a").close()
        _hide(libc, path, is_dir)
        iso.hidden += 1


def _private_temp_dirs(libc: ctypes.CDLL, keep: tuple[str, ...]) -> None:
    """An empty, small tmpfs over each shared temp dir; what the worker needs below one stays."""
    tops = dict.fromkeys(os.path.realpath(top) for top in SHARED_TEMP_DIRS if os.path.isdir(top))
    for top in tops:  # each once, even where one is a link to another (/var/tmp -> /tmp)
        below = [os.path.realpath(k) for k in keep if os.path.realpath(k).startswith(top + "/")]
        _cover(libc, top, below, b"size=16m,mode=1777")


def _private_scratch(libc: ctypes.CDLL, spec: JailSpec, source: int) -> None:
    """Put a size-limited tmpfs over the scratch dir holding a copy of its files.

    What the worker writes then counts against `scratch_mb`, not the grader's disk, and is gone
    when the worker ends: a restarted worker finds the submission as the judge left it.
    """
    files: dict[str, int] = {}
    for name in os.listdir(source):
        try:
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=source)
        except OSError:
            continue  # a link or something unreadable: the judge copies plain files only
        if stat.S_ISREG(os.fstat(fd).st_mode):
            files[name] = fd
        else:
            os.close(fd)
    try:
        size = spec.limits.scratch_mb * (1 << 20) + sum(os.fstat(fd).st_size for fd in files.values())
        _check(
            libc.mount(
                b"tmpfs",
                os.fsencode(spec.scratch),
                b"tmpfs",
                MS_NOSUID | MS_NODEV,
                f"size={size},mode=0700".encode(),
            ),
            "scratch tmpfs",
        )
        for name, fd in files.items():
            with open(fd, "rb", closefd=False) as src, open(os.path.join(spec.scratch, name), "xb") as dst:
                shutil.copyfileobj(src, dst)
    finally:
        for fd in files.values():
            os.close(fd)


def _cover(libc: ctypes.CDLL, top: str, keep: list[str], options: bytes) -> None:
    """Mount an empty tmpfs over `top`, then bind each of `keep` (paths below it) back in."""
    keep = [k for k in sorted(set(keep)) if not any(k != o and k.startswith(o + "/") for o in keep)]
    fds = [os.open(k, os.O_PATH) for k in keep]
    try:
        _check(
            libc.mount(b"tmpfs", os.fsencode(top), b"tmpfs", MS_NOSUID | MS_NODEV, options), f"cover {top}"
        )
        for path, fd in zip(keep, fds, strict=True):
            if stat.S_ISDIR(os.fstat(fd).st_mode):
                os.makedirs(path, mode=0o755, exist_ok=True)
            else:
                os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
                open(path, "a").close()
            _check(
                libc.mount(f"/proc/self/fd/{fd}".encode(), os.fsencode(path), None, MS_BIND | MS_REC, None),
                f"bind {path}",
            )
    finally:
        for fd in fds:
            os.close(fd)


def interpreter_paths() -> list[str]:
    """Directories the worker's Python needs to read: its prefixes and its import path."""
    paths = {sys.base_prefix, sys.prefix, os.path.dirname(os.path.realpath(sys.executable))}
    paths.update(p for p in sys.path if p and os.path.isdir(p))
    return sorted(os.path.realpath(p) for p in paths)


def _blocked_ancestor(path: str) -> str | None:
    """The highest ancestor of `path` that others may not traverse (like /root, mode 700)."""
    parts = path.strip("/").split("/")
    for n in range(1, len(parts)):
        ancestor = "/" + "/".join(parts[:n])
        if not os.stat(ancestor).st_mode & 0o001:
            return ancestor
    return None


def _expose_interpreter(libc: ctypes.CDLL, paths: tuple[str, ...]) -> None:
    """Let an unprivileged worker reach Python when it lives under a private home.

    The private ancestor is covered with an empty tmpfs (hiding the rest of it), and only the
    interpreter's own directories are bound back in.
    """
    by_top: dict[str, list[str]] = {}
    for path in paths:
        top = _blocked_ancestor(path)
        if top is not None:
            by_top.setdefault(top, []).append(path)
    for top, keep in by_top.items():
        _cover(libc, top, keep, b"size=64k,mode=0755")


def _set_limits(spec: JailSpec, *, was_root: bool) -> None:
    mb = 1 << 20
    limits = [
        (resource.RLIMIT_CPU, spec.limits.cpu_s, spec.limits.cpu_s + 1),
        (resource.RLIMIT_AS, spec.limits.memory_mb * mb, spec.limits.memory_mb * mb),
        (resource.RLIMIT_FSIZE, spec.limits.file_mb * mb, spec.limits.file_mb * mb),
        (resource.RLIMIT_NOFILE, spec.limits.nofile, spec.limits.nofile),
        (resource.RLIMIT_CORE, 0, 0),
    ]
    if not was_root or spec.drop_privileges:
        # RLIMIT_NPROC counts the processes of the real uid; root is exempt anyway.
        limits.append((resource.RLIMIT_NPROC, spec.limits.nproc, spec.limits.nproc))
    for which, soft, hard in limits:
        _cur_soft, cur_hard = resource.getrlimit(which)
        if cur_hard != resource.RLIM_INFINITY:
            hard = min(hard, cur_hard)
            soft = min(soft, hard)
        resource.setrlimit(which, (soft, hard))


def _chown_tree(root: str, uid: int) -> None:
    os.chown(root, uid, uid)
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            os.chown(os.path.join(dirpath, name), uid, uid, follow_symlinks=False)


def scrubbed_environment(home: str) -> dict[str, str]:
    """The whole environment a worker sees: nothing of the grader's."""
    return {
        "PATH": SAFE_PATH,
        "HOME": home,
        "TMPDIR": home,
        "LANG": "C.UTF-8",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": home,
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


@dataclass
class Prepared:
    """What a worker forked ahead of its student did already (`prepare`); `confine` does the rest."""

    template: JailSpec  # the `JailSpec.ahead` of every spec it may be confined as
    iso: Isolation
    parent: int  # the scratch folder's parent, open: reachable under a private /tmp too
    was_root: bool
    rules: landlock.Ruleset | None


def prepare(template: JailSpec, shared: Shared = Shared()) -> Prepared:
    """The part of confining a fresh fork that is the same for every student (`template` is a
    `JailSpec.ahead`): its own session, the namespaces with their mounts and covers, and the
    read rules of its Landlock ruleset. A zygote forks a worker and has it do this before the
    judge needs it; `confine` then takes a moment."""
    iso = Isolation()
    was_root = os.geteuid() == 0  # inside a user namespace we would look like root
    os.setsid()
    os.environ.clear()  # `confine` names the scratch folder in it
    os.environ.update(scrubbed_environment(template.scratch))
    parent = os.open(template.scratch, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    if template.namespaces:
        try:
            _enter_namespaces(_libc(), template, iso, shared)
        except OSError as exc:
            iso.notes.append(
                f"no namespaces ({exc.strerror}): no mount covers, private /tmp or scratch tmpfs; "
                "the network and the course rest on Landlock and seccomp"
            )
    rules = None
    if template.landlock:
        except_ = (*template.hide, _judge_dir())
        if shared.readable and shared.planned_for.issuperset(except_):
            read, planned = list(PER_WORKER_READ), shared.readable
        else:
            read, planned = list(readable_paths()), ()
        try:
            rules = landlock.Ruleset.reading(read, except_=except_, planned=planned)
        except OSError as exc:
            iso.notes.append(f"no Landlock ({exc.strerror}): files, signals and TCP rest on the other layers")
    return Prepared(template, iso, parent, was_root, rules)


def confine(spec: JailSpec, shared: Shared, prepared: Prepared) -> Isolation:
    """Confine this process as `spec` says, on top of what its zygote `shared` and what it
    `prepared` itself for `spec.ahead()`; return what was achieved."""
    if spec.ahead() != prepared.template:
        raise ValueError("a worker prepared for another jail spec")
    iso = prepared.iso
    try:
        if iso.namespaces:
            _scratch_in_namespace(spec, prepared.parent)
    finally:
        os.close(prepared.parent)
    os.chdir(spec.scratch)
    os.environ.update(scrubbed_environment(spec.scratch).items() - os.environ.items())
    if prepared.was_root and spec.drop_privileges:
        _chown_tree(spec.scratch, spec.uid)
        os.setgroups([])
        os.setgid(spec.uid)
        os.setuid(spec.uid)
    iso.uid = os.getuid()
    _set_limits(spec, was_root=prepared.was_root)
    if prepared.rules is not None:
        try:
            iso.landlock = prepared.rules.restrict([spec.scratch]).abi
        except OSError as exc:
            iso.notes.append(f"no Landlock ({exc.strerror}): files, signals and TCP rest on the other layers")
    if spec.seccomp:
        try:
            seccomp.install()
            iso.seccomp = True
        except OSError as exc:
            iso.notes.append(f"no seccomp filter ({exc.strerror})")
    return iso


def _scratch_in_namespace(spec: JailSpec, parent: int) -> None:
    """The scratch tmpfs, filled from the judge's folder `spec.scratch` (read through `parent`,
    its parent folder opened before a private /tmp covered it), at the same path."""
    source = os.open(
        os.path.basename(spec.scratch.rstrip("/")),
        os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC,
        dir_fd=parent,
    )
    try:
        os.makedirs(spec.scratch, mode=0o755, exist_ok=True)  # under a private /tmp: not there yet
        _private_scratch(_libc(), spec, source)
    finally:
        os.close(source)


def _judge_dir() -> str:
    """The package's judge side, never readable by a worker (as `process.trusted_dir`)."""
    return os.path.join(os.path.dirname(os.path.dirname(os.path.realpath(__file__))), "judge")


#: Read rules that name the worker itself, planned in each worker.
PER_WORKER_READ = ("/proc/self",)


@functools.lru_cache(maxsize=1)
def readable_paths() -> tuple[str, ...]:
    """What a worker may read: the interpreter's own directories, the package (its judge side
    is excepted by the caller), and the system files `landlock.SYSTEM_READ` lists.

    The import path is not taken whole: run from a checkout it holds the repository, and so
    a course of its own; only the package is needed from there.
    """
    import site
    import sysconfig

    dirs = {sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(os.path.realpath(sys.executable))}
    dirs.update(p for k, p in sysconfig.get_paths().items() if p and k not in ("scripts", "data"))
    dirs.update(site.getsitepackages())
    package = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
    return tuple(sorted({*dirs, package, *landlock.SYSTEM_READ}))
