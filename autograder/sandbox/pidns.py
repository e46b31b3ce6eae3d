"""The zygote as pid 1 of a PID namespace of its own, with its own /proc.

Design: one PID namespace per zygote, entered once when the zygote starts (`enter`), not one
per worker. `unshare(CLONE_NEWPID)` only moves the caller's future children, and a namespace
whose pid 1 has died forks no more; so the process the judge started (the "outer" one, whose
pid the judge holds) unshares a PID and a mount namespace (and, without root, a user namespace
mapping only our own uid) and forks once: that child is pid 1 of the new namespace, mounts a
fresh /proc there and becomes the zygote, while the outer process only waits for it and exits
with its status. Per fork this costs nothing: workers are plain forks of the zygote, already
inside the namespace (a namespace per worker would cost a second fork for every submission).

What it gives, with the other layers:
- A worker's /proc lists only the namespace: the zygote, the worker and its own children;
  never the judge, so no /proc/<judge>/environ, cwd or root. /proc is mounted `hidepid=2`,
  so a worker (another uid as root; another Landlock domain without root) does not even see
  the zygote there. As root it hides more: a worker's own forks that have not exec'd are
  not dumpable (the uid drop made the worker so), and hidepid hides those from it too; they
  run, and wait/kill reach them, all the same.
- `kill(-1, ...)` from a worker reaches only the namespace, never the judge or the grader.
  The kernel never delivers to a namespace's pid 1, from inside it, a signal it has no handler
  for: SIGKILL and SIGSTOP from a worker cannot touch the zygote (it handles only SIGCHLD, and
  SIGINT is ignored here).
- When the zygote dies (the judge kills it, or its own parent dies), the kernel kills every
  process left in the namespace: nothing a student started outlives it.

Workers of one zygote run one at a time today. Were they to run side by side, one worker's
`kill(-1)` would reach a sibling's pids in the namespace; what keeps siblings apart then is
what keeps them apart today: a uid per worker as root, Landlock's signal scope (ABI >= 6)
without root. The PID namespace guards the judge and the rest of the machine, not siblings.

Pids: the zygote knows its workers by their pids in the namespace; the judge kills by the pids
of its own namespace. The zygote tells the judge which worker it forked with SCM_CREDENTIALS
(the kernel rewrites the pid into the receiver's namespace: `send_pid`, `received_pid`).
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import struct

from autograder.sandbox import jail, lifetime

CLONE_NEWNS = 0x00020000
CLONE_NEWPID = 0x20000000
CLONE_NEWUSER = 0x10000000
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_REC = 0x4000
MS_PRIVATE = 1 << 18

_UCRED = struct.Struct("iII")  # struct ucred: pid, uid, gid


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _unshare() -> None:
    """A PID and a mount namespace for our next child (and a user namespace without root)."""
    libc = _libc()
    flags = CLONE_NEWPID | CLONE_NEWNS
    if os.geteuid() == 0:
        if libc.unshare(flags) != 0:
            raise OSError(ctypes.get_errno(), "unshare(pid)")
        return
    uid, gid = os.geteuid(), os.getegid()
    if libc.unshare(flags | CLONE_NEWUSER) != 0:
        raise OSError(ctypes.get_errno(), "unshare(user, pid)")
    # Our own uid and gid only, as themselves: workers nest their own user namespaces as before.
    jail.map_ids(uid, gid, inside_uid=uid, inside_gid=gid)


def _mount_proc() -> None:
    """In pid 1 of the new namespace: keep our mounts from the host's, and a /proc of our own."""
    libc = _libc()
    if libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None) != 0:
        raise OSError(ctypes.get_errno(), "mount --make-rprivate /")
    if libc.mount(b"proc", b"/proc", b"proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, b"hidepid=2") != 0:
        raise OSError(ctypes.get_errno(), "mount proc")


def available() -> bool:
    """Whether a PID namespace with its own /proc can be made here (tried in throwaway children:
    a namespace whose pid 1 has exited forks no more, so the try must not be ours)."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            _unshare()
            inner = os.fork()
            if inner == 0:
                ok = 1
                try:
                    _mount_proc()
                    ok = 0 if os.getpid() == 1 and os.listdir("/proc/1") else 1
                finally:
                    os._exit(ok)
            code = os.waitstatus_to_exitcode(os.waitpid(inner, 0)[1])
        finally:
            os._exit(code)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0


def enter(close_in_outer: socket.socket) -> bool:
    """Become pid 1 of a fresh PID namespace with its own /proc; False (nothing changed) where
    this machine cannot. Returns only in the new pid 1: the process that called it waits for
    that one and exits with its status (closing `close_in_outer`, the zygote's control socket,
    so the judge sees the zygote go when pid 1 goes)."""
    if not available():
        return False
    lifetime.die_with_parent()  # the judge's death ends us, and so (below) pid 1 and its namespace
    try:
        _unshare()
    except OSError:
        return False
    pid = os.fork()
    if pid == 0:
        try:
            _mount_proc()
        except OSError:
            os._exit(71)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        return True
    close_in_outer.close()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except InterruptedError:
            continue
    code = os.waitstatus_to_exitcode(status)
    os._exit(code if code >= 0 else 70)  # pid 1 killed: so is the zygote, as the judge sees it


def send_pid(sock: socket.socket, data: bytes, pid: int) -> None:
    """Send `data` naming process `pid` (of our namespace) so that the receiver learns its pid in
    the receiver's own namespace (the receiver sets SO_PASSCRED; see `received_pid`)."""
    creds = _UCRED.pack(pid, os.getuid(), os.getgid())
    sock.sendmsg([data], [(socket.SOL_SOCKET, socket.SCM_CREDENTIALS, creds)])


def received_pid(ancdata: list[tuple[int, int, bytes]]) -> int | None:
    """The pid an SCM_CREDENTIALS message named, as the kernel rewrote it for us; None if none."""
    for level, kind, data in ancdata:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS and len(data) >= _UCRED.size:
            pid, _uid, _gid = _UCRED.unpack_from(data)
            return int(pid) if pid > 0 else None
    return None


def ancillary_size() -> int:
    """The buffer `recvmsg` needs for one SCM_CREDENTIALS message."""
    return socket.CMSG_SPACE(_UCRED.size)
