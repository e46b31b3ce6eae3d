"""`autograder doctor`: what this machine offers the grader, checked rather than assumed."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import tempfile
from dataclasses import dataclass
from pathlib import Path

from autograder.judge.reference.backend import available_backends
from autograder.sandbox import layers
from autograder.sandbox.client import StudentProcess
from autograder.sandbox.jail import Limits
from autograder.sandbox.process import Zygote, jail_spec

PACKAGES = (
    "numpy",
    "nbgrader",
    "jupyterlab",
    "pandas",
    "pytest",
    "hypothesis",
    "dask",
    "distributed",
    "torch",
    "cupy",
)

PROBE = """
import os, socket
try:
    socket.create_connection(("127.0.0.1", 9), timeout=1)
    net = "open"
except OSError as exc:
    net = os.strerror(exc.errno) if exc.errno else type(exc).__name__
try:
    secret = open(SECRET).read()
except OSError:
    secret = ""
uid = os.getuid()
"""


@dataclass(frozen=True)
class Finding:
    """One line of the doctor's report."""

    topic: str
    value: str
    ok: bool = True


def versions() -> list[Finding]:
    found = [Finding("python", platform.python_version())]
    for name in PACKAGES:
        try:
            found.append(Finding(name, importlib.metadata.version(name)))
        except importlib.metadata.PackageNotFoundError:
            found.append(Finding(name, "not installed", ok=name in ("torch", "cupy")))
    return found


def backends() -> list[Finding]:
    out = []
    for name, where in available_backends():
        usable = where == "cpu" or where.startswith("cuda")
        # Only NumPy must work everywhere; torch and CuPy are optional.
        out.append(
            Finding(
                f"reference backend {name}",
                f"usable on {where}" if usable else where,
                ok=usable or name != "numpy",
            )
        )
    return out


def jail() -> list[Finding]:
    """Start a real worker and see what it can do."""
    limits = Limits()
    out = [
        Finding(
            "worker limits",
            f"{limits.cpu_s} CPU s, {limits.memory_mb} MB address space, "
            f"{limits.file_mb} MB files, {limits.nproc} processes, {limits.nofile} open files",
        )
    ]
    with tempfile.TemporaryDirectory() as tmp:
        secret = Path(tmp) / "hidden" / "secret.txt"
        secret.parent.mkdir()
        secret.write_text("course file")
        scratch = Path(tmp) / "scratch"
        scratch.mkdir()
        with Zygote() as zygote:
            process = StudentProcess(
                zygote,
                jail_spec(scratch, hide=[secret.parent], serial=0),
                [(0, f"SECRET = {str(secret)!r}\n" + PROBE)],
                cell_timeout_s=10,
                total_timeout_s=20,
            )
            process.start()
            own_pids, own_cgroup = zygote.pid_namespace, zygote.cgroup
            try:
                iso = process.worker.isolation if process.worker else {}
                net = process.get("net", timeout_s=5).value
                read = process.get("secret", timeout_s=5).value
                uid = process.get("uid", timeout_s=5).value
            finally:
                process.close()
    out.append(
        Finding(
            "namespaces",
            "yes" if iso.get("namespaces") else "; ".join(iso.get("notes", [])) or "no",
            ok=bool(iso.get("namespaces")),
        )
    )
    applied = [
        f"Landlock ABI {iso['landlock']}" if iso.get("landlock") else "",
        "seccomp" if iso.get("seccomp") else "",
    ]
    out.append(
        Finding(
            "a worker applied",
            ", ".join(a for a in applied if a) or "neither Landlock nor seccomp",
            ok=bool(iso.get("landlock")) and bool(iso.get("seccomp")),
        )
    )
    out.append(
        Finding("network from a worker", f"blocked ({net})" if net != "open" else "OPEN", ok=net != "open")
    )
    out.append(Finding("course files from a worker", "hidden" if not read else "READABLE", ok=not read))
    pids = "pid 1 of a PID namespace of its own" if own_pids else "in the grader's PID namespace"
    below = f", in a cgroup of its own below {os.path.dirname(own_cgroup)}" if own_cgroup else ", no cgroup"
    out.append(Finding("the workers' zygote", pids + below))
    out.append(
        Finding(
            "worker uid", f"{uid} (grader runs as {os.getuid()})", ok=uid != os.getuid() or os.getuid() != 0
        )
    )
    return out


def isolation() -> list[Finding]:
    """The jail's layers this machine offers, and each guarantee that does not hold without
    the ones it lacks (what `grade --isolation strict` refuses to grade without)."""
    found = layers.probe()
    have = set(found.names())
    out = []
    for name in layers.FULL:
        value = "in force" if name in have else "MISSING"
        if name == "landlock" and found.landlock_abi:
            value = f"in force (ABI {found.landlock_abi})"
        out.append(Finding(f"layer {name}", value, ok=name in have))
    out.append(Finding("layer uid-drop", "in force (as root)" if found.root else "no (not root)"))
    if found.cgroup:
        memory = "memory.max counts tmpfs" if found.cgroup_memory else "no memory controller delegated"
        cgroup_value = f"delegated at {found.cgroup}: a cgroup per zygote, killed whole ({memory})"
    else:
        cgroup_value = "none delegated (kill-all rests on the subreaper and the PID namespace)"
    out.append(Finding("layer cgroup v2", cgroup_value))
    lost = found.lost()
    for what in lost:
        out.append(Finding("NOT guaranteed", what, ok=False))
    if not lost:
        out.append(Finding("guarantees", "every guarantee of the security model holds here"))
    return out


def diagnose() -> list[Finding]:
    """Everything the doctor checks, in the order it prints."""
    return [*versions(), *backends(), *isolation(), *jail()]
