"""The jail's unprivileged layers (Landlock, seccomp, the subreaper), each tried in a forked child.

Every check runs in a child forked from the test process: the child installs the layer and
reports what it could still do through a pipe, so the test process itself stays unconfined.
"""

from __future__ import annotations

import ctypes
import dataclasses
import errno
import json
import os
import signal
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from autograder.sandbox import jail, landlock, layers, lifetime, seccomp

LANDLOCK = landlock.abi_version()
needs_landlock = pytest.mark.skipif(LANDLOCK < 6, reason="needs Landlock ABI >= 6 (this kernel's is lower)")
needs_seccomp = pytest.mark.skipif(not seccomp.available(), reason="needs seccomp and a known architecture")


def in_child(body: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run `body` in a forked child; its dict comes back (or the exception it raised, by name)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            out = body()
        except BaseException as exc:
            out = {"raised": f"{type(exc).__name__}: {exc}"}
        os.write(w, json.dumps(out).encode())
        os._exit(0)
    os.close(w)
    with os.fdopen(r) as f:
        text = f.read()
    os.waitpid(pid, 0)
    return json.loads(text)


def errno_of(action: Callable[[], object]) -> str:
    try:
        action()
    except OSError as exc:
        return errno.errorcode.get(exc.errno or 0, str(exc.errno))
    return "ok"


# --- seccomp ------------------------------------------------------------------------------------


def test_the_filter_checks_the_architecture_first_and_ends_allowing():
    for machine in seccomp.NUMBERS:
        prog = seccomp.program(machine)
        assert prog[0] == seccomp.Insn(seccomp.LD_W_ABS, 0, 0, 4)
        assert prog[1].k == seccomp.AUDIT_ARCH[machine]
        assert prog[2].k == seccomp.RET_KILL_PROCESS
        assert prog[-1].k == seccomp.RET_ALLOW
        assert len(prog) < 256  # short enough to review, and to run on every call


@needs_seccomp
def test_seccomp_denies_inet_udp_raw_sockets_ptrace_and_namespaces_but_not_unix_sockets():
    def body() -> dict[str, Any]:
        seccomp.install()
        libc = ctypes.CDLL(None, use_errno=True)

        def call(rc: int) -> str:
            return "ok" if rc == 0 else errno.errorcode[ctypes.get_errno()]

        a, b = socket.socketpair(socket.AF_UNIX)
        a.close()
        b.close()
        return {
            "tcp": errno_of(lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM)),
            "udp": errno_of(lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM)),
            "udp6": errno_of(lambda: socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)),
            "raw": errno_of(lambda: socket.socket(socket.AF_INET, socket.SOCK_RAW, 1)),
            "netlink": errno_of(lambda: socket.socket(socket.AF_NETLINK, socket.SOCK_RAW)),
            "unix": errno_of(lambda: socket.socket(socket.AF_UNIX, socket.SOCK_STREAM).close()),
            "ptrace": call(libc.ptrace(16, os.getppid(), 0, 0)),  # PTRACE_ATTACH
            "unshare": call(libc.unshare(0x10000000)),
            "mount": call(libc.mount(b"none", b"/tmp", b"tmpfs", 0, None)),
            "nnp": Path("/proc/self/status").read_text().split("NoNewPrivs:")[1].split()[0],
            "fork": errno_of(lambda: os.waitpid(_fork_exit(), 0)),
        }

    got = in_child(body)
    assert got == {
        "tcp": "EPERM",
        "udp": "EPERM",
        "udp6": "EPERM",
        "raw": "EPERM",
        "netlink": "EPERM",
        "unix": "ok",
        "ptrace": "EPERM",
        "unshare": "EPERM",
        "mount": "EPERM",
        "nnp": "1",
        "fork": "ok",
    }


def _fork_exit() -> int:
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    return pid


@needs_seccomp
def test_the_no_userns_profile_refuses_only_user_namespaces():
    def body() -> dict[str, Any]:
        seccomp.install(seccomp.NO_USERNS)
        libc = ctypes.CDLL(None, use_errno=True)
        rc = libc.unshare(0x10000000)
        return {
            "userns": "ok" if rc == 0 else errno.errorcode[ctypes.get_errno()],
            "inet": errno_of(lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).close()),
        }

    assert in_child(body) == {"userns": "EPERM", "inet": "ok"}


# --- Landlock -----------------------------------------------------------------------------------


def test_the_plan_splits_a_folder_around_what_it_must_keep_out(tmp_path):
    for name in ("pkg/a.py", "pkg/judge/secret.py", "pkg/sub/b.py", "other/c.py"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    got = landlock.plan([str(tmp_path / "pkg"), str(tmp_path / "missing")], [str(tmp_path / "pkg" / "judge")])
    assert got == [str(tmp_path / "pkg" / "a.py"), str(tmp_path / "pkg" / "sub")]


@needs_landlock
def test_landlock_allows_only_the_listed_paths_and_no_tcp(tmp_path):
    readable = tmp_path / "readable"
    (readable / "judge").mkdir(parents=True)
    (readable / "ok.txt").write_text("ok")
    (readable / "judge" / "secret.txt").write_text("secret")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    (tmp_path / "course.txt").write_text("course")
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def body() -> dict[str, Any]:
        applied = landlock.restrict(
            [str(readable), *landlock.SYSTEM_READ], [str(scratch)], except_=[str(readable / "judge")]
        )
        (scratch / "w.txt").write_text("w")
        return {
            "abi": applied.abi,
            "read": (readable / "ok.txt").read_text(),
            "judge": errno_of(lambda: (readable / "judge" / "secret.txt").read_text()),
            "course": errno_of(lambda: (tmp_path / "course.txt").read_text()),
            "write outside": errno_of(lambda: (readable / "new.txt").write_text("x")),
            "scratch": (scratch / "w.txt").read_text(),
            "tcp": errno_of(lambda: socket.create_connection(("127.0.0.1", port), timeout=1)),
            "exec": errno_of(lambda: os.execv("/bin/true", ["true"])),
        }

    got = in_child(body)
    server.close()
    assert got == {
        "abi": LANDLOCK,
        "read": "ok",
        "judge": "EACCES",
        "course": "EACCES",
        "write outside": "EACCES",
        "scratch": "w",
        "tcp": "EACCES",
        "exec": "EACCES",
    }


@needs_landlock
def test_rules_prepared_ahead_by_the_zygote_allow_a_fork_the_same_paths(tmp_path):
    folder = tmp_path / "lib"
    folder.mkdir()
    (folder / "a.py").write_text("a")
    single = tmp_path / "one.txt"
    single.write_text("one")
    (tmp_path / "other.txt").write_text("other")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    planned = tuple(landlock.plan([str(folder), str(single), str(tmp_path / "gone")], []))
    # Once, before the forks: a folder, a file (file rights only), and nothing for what is missing.
    assert landlock.prepared(planned) == ((str(folder), True), (str(single), False))

    def body() -> dict[str, Any]:
        applied = landlock.restrict(list(landlock.SYSTEM_READ), [str(scratch)], planned=planned)
        return {
            "rules": applied.rules >= 3,
            "folder": (folder / "a.py").read_text(),
            "file": single.read_text(),
            "write file": errno_of(lambda: single.write_text("x")),
            "other": errno_of(lambda: (tmp_path / "other.txt").read_text()),
            "scratch": (scratch / "w.txt").write_text("w"),
        }

    assert in_child(body) == {
        "rules": True,
        "folder": "a",
        "file": "one",
        "write file": "EACCES",
        "other": "EACCES",
        "scratch": 1,
    }


@needs_landlock
def test_a_prepared_folder_that_became_a_file_still_gets_its_rule(tmp_path):
    changing = tmp_path / "changing"
    changing.mkdir()
    planned = (str(changing),)
    assert landlock.prepared(planned) == ((str(changing), True),)
    changing.rmdir()
    changing.write_text("now a file")

    def body() -> dict[str, Any]:
        landlock.restrict(list(landlock.SYSTEM_READ), [str(tmp_path / "none")], planned=planned)
        return {"read": changing.read_text(), "write": errno_of(lambda: changing.write_text("x"))}

    assert in_child(body) == {"read": "now a file", "write": "EACCES"}


@needs_landlock
def test_landlock_scopes_signals_and_proc_to_the_worker_itself(tmp_path):
    victim = os.fork()
    if victim == 0:  # a process of the same uid outside the domain: the judge, say
        os.environ["SECRET_OF_THE_JUDGE"] = "x"
        time.sleep(30)
        os._exit(0)

    def body() -> dict[str, Any]:
        landlock.restrict(list(landlock.SYSTEM_READ), [str(tmp_path)])
        mine = _fork_exit()
        os.kill(os.getpid(), 0)  # itself: allowed
        return {
            "kill": errno_of(lambda: os.kill(victim, signal.SIGKILL)),
            "kill parent": errno_of(lambda: os.kill(os.getppid(), signal.SIGSTOP)),
            "environ": errno_of(lambda: Path(f"/proc/{victim}/environ").read_bytes()),
            "cwd": errno_of(lambda: os.listdir(f"/proc/{victim}/cwd")),
            "own child": errno_of(lambda: os.waitpid(mine, 0)),
            "abstract": errno_of(lambda: _abstract_connect(b"\0autograder-test-" + str(victim).encode())),
        }

    listener = socket.socket(socket.AF_UNIX)
    listener.bind(b"\0autograder-test-" + str(victim).encode())
    listener.listen()
    try:
        got = in_child(body)
        alive = os.waitpid(victim, os.WNOHANG) == (0, 0)
    finally:
        listener.close()
        os.kill(victim, signal.SIGKILL)
        os.waitpid(victim, 0)
    assert got == {
        "kill": "EPERM",
        "kill parent": "EPERM",
        "environ": "EACCES",
        "cwd": "EACCES",
        "own child": "ok",
        "abstract": "EPERM",
    }
    assert alive


def _abstract_connect(name: bytes) -> None:
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(name)


# --- the subreaper and the layer report ---------------------------------------------------------


def test_a_subreaper_gets_the_orphans_of_its_descendants():
    def body() -> dict[str, Any]:
        assert lifetime.become_subreaper()
        r, w = os.pipe()
        middle = os.fork()
        if middle == 0:
            os.setsid()
            daemon = os.fork()
            if daemon == 0:
                time.sleep(30)
                os._exit(0)
            os.write(w, str(daemon).encode())
            os._exit(0)
        os.waitpid(middle, 0)
        daemon = int(os.read(r, 32))
        time.sleep(0.05)
        adopted = daemon in lifetime.children(os.getpid())
        os.kill(daemon, signal.SIGKILL)
        os.waitpid(daemon, 0)
        return {"adopted": adopted}

    assert in_child(body) == {"adopted": True}


def test_the_report_names_what_does_not_hold_without_the_missing_layers():
    bare = layers.Layers(
        root=False, user_namespaces=False, landlock_abi=0, seccomp=False, subreaper=True, cgroup=""
    )
    assert not bare.full()
    assert bare.missing() == ["landlock", "landlock-net", "landlock-scope", "seccomp", "namespaces", "pidns"]
    assert "course files and hidden tests unreadable and unwritable" in bare.lost()
    assert "no process outlives its worker" not in bare.lost()
    assert bare.describe().startswith("isolation: subreaper; NOT guaranteed without landlock,")

    pod = layers.Layers(
        root=False, user_namespaces=False, landlock_abi=7, seccomp=True, subreaper=True, cgroup=""
    )
    assert pod.missing() == ["namespaces", "pidns"]
    assert pod.lost() == ["scratch size capped (a tmpfs)"]
    assert pod.describe() == (
        "isolation: landlock (ABI 7), landlock-net, landlock-scope, seccomp, subreaper; "
        "NOT guaranteed without namespaces, pidns: scratch size capped (a tmpfs)"
    )
    full = layers.Layers(
        root=True,
        user_namespaces=False,
        landlock_abi=7,
        seccomp=True,
        subreaper=True,
        cgroup="",
        pid_namespace=True,
    )
    assert full.full() and full.lost() == [] and full.bonus() == []


def test_a_delegated_cgroup_is_reported_with_what_it_adds():
    hybrid = layers.Layers(
        root=True,
        user_namespaces=False,
        landlock_abi=7,
        seccomp=True,
        subreaper=True,
        cgroup="/sys/fs/cgroup/unified",
        pid_namespace=True,
    )
    assert hybrid.names()[-1] == "cgroup"
    assert hybrid.bonus() == ["nothing outlives its zygote, however it forked (killed as one cgroup)"]
    assert hybrid.describe().endswith("subreaper, cgroup v2 at /sys/fs/cgroup/unified (kill-all)")
    both = dataclasses.replace(hybrid, cgroup_memory=True)
    assert both.describe().endswith("(kill-all), cgroup memory.max")
    assert "a worker's memory counts its tmpfs, /tmp and /dev/shm (memory.max)" in both.bonus()


def test_probing_this_machine_finds_what_its_kernel_offers():
    found = layers.probe()
    assert found.landlock_abi == LANDLOCK
    assert found.root == (os.geteuid() == 0)
    assert found.subreaper
    assert found.describe().startswith("isolation: ")


def test_the_zygote_plans_the_read_list_once_without_the_judge_side_or_its_own_proc_entry(tmp_path):
    hidden = tmp_path / "course"
    planned, planned_for = jail.plan_readable([str(hidden)])
    judge = jail._judge_dir()
    package = os.path.dirname(judge)
    assert not [p for p in planned if p == judge or p.startswith(judge + "/")]
    assert package not in planned  # split around the judge side...
    assert os.path.join(package, "sandbox") in planned  # ...into its other entries
    assert not [p for p in planned if p.startswith("/proc/") and p.split("/")[2].isdigit()]
    assert planned_for == {str(hidden), judge}
