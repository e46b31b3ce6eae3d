"""Run a command as an unprivileged user, as a JupyterHub pod would: `python launch.py [--uid U]
[--expose PATH]... [--no-userns] -- COMMAND...`.

Run as root, it makes a mount namespace of its own where each PATH to `--expose` (the
interpreter under a private home such as /root, the course under pytest's private temp dir)
is reachable by others: the private ancestor is covered with an empty tmpfs and only those
paths are bound back in. It then drops to `--uid` (no groups). Run as a normal user, it needs
neither. With `--no-userns` it installs a seccomp filter that refuses user namespaces
(`unshare`/`clone` with CLONE_NEWUSER answer EPERM, as Docker's default profile does) before
it execs COMMAND, so the grader and everything it starts live without them.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import sys

from autograder.sandbox import seccomp
from autograder.sandbox.jail import CLONE_NEWNS, MS_PRIVATE, MS_REC, _expose_interpreter


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--uid", type=int, default=None)
    parser.add_argument("--expose", action="append", default=[])
    parser.add_argument("--no-userns", action="store_true")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if args.uid is not None and os.geteuid() == 0:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.unshare(CLONE_NEWNS) != 0 or libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None) != 0:
            sys.exit(f"launch: cannot make a mount namespace: {os.strerror(ctypes.get_errno())}")
        _expose_interpreter(libc, tuple(os.path.realpath(p) for p in args.expose))
        os.setgroups([])
        os.setgid(args.uid)
        os.setuid(args.uid)
    if args.no_userns:
        seccomp.install(seccomp.NO_USERNS)
    os.execvp(command[0], command)


if __name__ == "__main__":
    main()
