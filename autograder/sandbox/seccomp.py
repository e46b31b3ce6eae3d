"""A small seccomp filter of our own: the system calls a worker never needs answer EPERM.

The filter is a classic BPF program, built here and reviewed as data (`program`), installed
with `prctl(PR_SET_SECCOMP)` after `PR_SET_NO_NEW_PRIVS`. It holds for the process and every
process it forks, for good. It checks the architecture first (a foreign one, or an x32 call
on x86_64, kills the process), then denies:

- `socket` of any family but AF_UNIX (no UDP, raw, packet, netlink sockets);
- debugging and reading other processes: ptrace, process_vm_readv/writev, pidfd_getfd;
- the kernel's keyrings, eBPF, perf events, io_uring, userfaultfd;
- mounts, namespaces and roots: mount and the new mount API, umount2, unshare, setns,
  pivot_root, chroot, and clone with any CLONE_NEW* flag (clone3, whose flags seccomp cannot
  read, answers ENOSYS so the C library falls back to clone);
- System V IPC objects, which outlive their process and no namespace holds without root;
- loading kernel modules, kexec, swap, reboot, accounting, raw I/O ports.

`install(profile=NO_USERNS)` installs only the clone/unshare part that stops user namespaces
(what Docker's default profile does); the hostile bank uses it to test that mode.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import os
import platform
import struct
from dataclasses import dataclass

PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
PR_GET_SECCOMP = 21
SECCOMP_MODE_FILTER = 2

RET_KILL_PROCESS = 0x80000000
RET_ERRNO = 0x00050000
RET_ALLOW = 0x7FFF0000

# Classic BPF opcodes.
LD_W_ABS = 0x20
JEQ_K = 0x15
JSET_K = 0x45
JGE_K = 0x35
RET_K = 0x06

AF_UNIX = 1
CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
CLONE_NEW_ANY = (
    CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET
)

AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
X32_BIT = 0x40000000

#: System call numbers: name, x86_64 (its own table), aarch64 (the generic one); "-" where an
#: architecture has no such call.
TABLE = """
socket               41  198
clone                56  220
clone3              435  435
unshare             272   97
setns               308  268
ptrace              101  117
process_vm_readv    310  270
process_vm_writev   311  271
pidfd_getfd         438  438
keyctl              250  219
add_key             248  217
request_key         249  218
bpf                 321  280
perf_event_open     298  241
io_uring_setup      425  425
userfaultfd         323  282
mount               165   40
umount2             166   39
pivot_root          155   41
chroot              161   51
open_tree           428  428
move_mount          429  429
fsopen              430  430
fsconfig            431  431
fsmount             432  432
fspick              433  433
mount_setattr       442  442
shmget               29  194
semget               64  190
msgget               68  186
init_module         175  105
finit_module        313  273
delete_module       176  106
kexec_load          246  104
kexec_file_load     320  294
swapon              167  224
swapoff             168  225
reboot              169  142
acct                163   89
iopl                172    -
ioperm              173    -
open_by_handle_at   304  265
name_to_handle_at   303  264
"""
NUMBERS: dict[str, dict[str, int]] = {
    machine: {
        name: int(row.split()[1 + column])
        for row in TABLE.strip().splitlines()
        if (name := row.split()[0]) and row.split()[1 + column] != "-"
    }
    for column, machine in enumerate(("x86_64", "aarch64"))
}

#: Denied outright (EPERM) in a worker; `socket` and `clone` are checked by argument instead.
WORKER_DENY = tuple(name for name in NUMBERS["x86_64"] if name not in ("socket", "clone", "clone3"))

WORKER = "worker"
NO_USERNS = "no-userns"


@dataclass(frozen=True)
class Insn:
    """One classic BPF instruction."""

    code: int
    jt: int
    jf: int
    k: int

    def pack(self) -> bytes:
        return struct.pack("HBBI", self.code, self.jt, self.jf, self.k)


class _SockFprog(ctypes.Structure):
    _fields_ = (("len", ctypes.c_ushort), ("filter", ctypes.c_void_p))


def arch() -> str | None:
    """This machine's architecture if the filter knows it, else None."""
    machine = platform.machine()
    return machine if machine in NUMBERS else None


def available() -> bool:
    """Whether this kernel takes seccomp filters (and the filter knows the architecture)."""
    if arch() is None:
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    return bool(libc.prctl(PR_GET_SECCOMP, 0, 0, 0, 0) >= 0)


def program(machine: str, profile: str = WORKER) -> list[Insn]:
    """The filter for `machine` ("x86_64" or "aarch64") and `profile` (WORKER or NO_USERNS)."""
    nr = NUMBERS[machine]
    eperm = RET_ERRNO | errno.EPERM
    out = [
        Insn(LD_W_ABS, 0, 0, 4),  # seccomp_data.arch
        Insn(JEQ_K, 1, 0, AUDIT_ARCH[machine]),
        Insn(RET_K, 0, 0, RET_KILL_PROCESS),
        Insn(LD_W_ABS, 0, 0, 0),  # seccomp_data.nr
    ]
    if machine == "x86_64":
        out += [Insn(JGE_K, 0, 1, X32_BIT), Insn(RET_K, 0, 0, RET_KILL_PROCESS)]
    denied = WORKER_DENY if profile == WORKER else ("setns",)
    for name in denied:
        if name in nr:
            out += [Insn(JEQ_K, 0, 1, nr[name]), Insn(RET_K, 0, 0, eperm)]
    new_ns = CLONE_NEW_ANY if profile == WORKER else CLONE_NEWUSER
    if profile == NO_USERNS:  # unshare may make other namespaces, as Docker lets it
        out += [
            Insn(JEQ_K, 0, 4, nr["unshare"]),
            Insn(LD_W_ABS, 0, 0, 16),  # args[0], low half: the flags
            Insn(JSET_K, 0, 1, CLONE_NEWUSER),
            Insn(RET_K, 0, 0, eperm),
            Insn(RET_K, 0, 0, RET_ALLOW),
        ]
    out += [
        Insn(JEQ_K, 0, 1, nr["clone3"]),
        Insn(RET_K, 0, 0, RET_ERRNO | errno.ENOSYS),
        Insn(JEQ_K, 0, 4, nr["clone"]),
        Insn(LD_W_ABS, 0, 0, 16),
        Insn(JSET_K, 0, 1, new_ns),
        Insn(RET_K, 0, 0, eperm),
        Insn(RET_K, 0, 0, RET_ALLOW),
    ]
    if profile == WORKER:
        out += [
            Insn(JEQ_K, 0, 4, nr["socket"]),
            Insn(LD_W_ABS, 0, 0, 16),  # args[0], low half: the family
            Insn(JEQ_K, 1, 0, AF_UNIX),
            Insn(RET_K, 0, 0, eperm),
            Insn(RET_K, 0, 0, RET_ALLOW),
        ]
    out.append(Insn(RET_K, 0, 0, RET_ALLOW))
    return out


@functools.lru_cache(maxsize=4)
def compiled(machine: str, profile: str = WORKER) -> bytes:
    """The filter as the kernel takes it; built once (the zygote builds it for all its forks)."""
    return b"".join(insn.pack() for insn in program(machine, profile))


@dataclass(frozen=True)
class _Loaded:
    """A filter ready for `prctl`: the program in C memory, and the C library to call."""

    buf: ctypes.Array[ctypes.c_char]
    prog: _SockFprog
    libc: ctypes.CDLL


@functools.lru_cache(maxsize=4)
def _loaded(machine: str, profile: str) -> _Loaded:
    """`compiled`, in C memory with its `sock_fprog`: made once a process, so that a zygote's
    forks only call `prctl` (opening the C library alone costs a fork ~0.2 ms)."""
    code = compiled(machine, profile)
    buf = ctypes.create_string_buffer(code, len(code))
    prog = _SockFprog(len(code) // 8, ctypes.cast(buf, ctypes.c_void_p))
    return _Loaded(buf, prog, ctypes.CDLL(None, use_errno=True))


def prepare(profile: str = WORKER) -> None:
    """Build the filter of `profile` ahead (in the zygote, for every fork); nothing if the
    architecture is unknown."""
    machine = arch()
    if machine is not None:
        _loaded(machine, profile)


def install(profile: str = WORKER) -> int:
    """Set no_new_privs and install the filter of `profile` on this process; its length.

    OSError if the architecture is unknown or the kernel refuses (the process is then as it was,
    but for no_new_privs).
    """
    machine = arch()
    if machine is None:
        raise OSError(errno.ENOSYS, f"no seccomp filter for {platform.machine()}")
    loaded = _loaded(machine, profile)
    libc = loaded.libc
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"no_new_privs: {os.strerror(err)}")
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(loaded.prog), 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"seccomp: {os.strerror(err)}")
    return len(compiled(machine, profile)) // 8
