"""The untrusted side: a zygote that forks jailed workers, and the worker's serve loop.

`python -m autograder.sandbox.worker FD` starts a zygote on the control socket FD. It imports what
student code needs (NumPy, matplotlib with Agg, IPython's input transformer) once, then for
each request forks a child that confines itself (`jail.confine`), runs the notebook's code
cells in a fresh namespace and serves calls until told to stop. Everything it sends is data
(`protocol`), and the judge treats all of it as the student's answer, never as a verdict.
Nothing here imports the hidden suite, the references or the quiz keys.
"""

from __future__ import annotations

import builtins
import contextlib
import dataclasses
import functools
import gc
import json
import os
import select
import signal
import socket
import sys
import time
import traceback
import warnings
from typing import Any

import numpy as np

from autograder.sandbox import cgroup, landlock, lifetime, pidns, protocol, seccomp
from autograder.sandbox.activations import BY_NAME
from autograder.sandbox.jail import (
    JailSpec,
    Shared,
    confine,
    confine_shared,
    interpreter_paths,
    plan_readable,
    prepare,
    readable_paths,
)
from autograder.sandbox.lifetime import die_with_parent
from autograder.sandbox.softlimit import HungFunctions, SoftLimit

# Bound now, before student code can rebind names in builtins or in this module's globals.
_exec = builtins.exec
_compile = builtins.compile
_BaseException = BaseException
_perf = time.perf_counter
_array_equal = np.array_equal
_ndarray = np.ndarray

OUTPUT_CAP_CHARS = 64_000
ERROR_TEXT_CAP = 400


#: Activations a call may name: the course's public ones, never a reference solution.
BUILTIN_FUNCTIONS = BY_NAME

#: Code of the released notebook's cells, compiled once in the zygote (see `Zygote.prepare`):
#: most of a submission's cells are the released ones, so its workers skip their transform
#: and compile. Only public text is ever put here: every worker can read it.
_PREPARED: dict[str, Any] = {}


class _CappedText:
    """A stdout/stderr stand-in that keeps the first characters and drops the rest."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.parts: list[str] = []
        self.size = 0

    def write(self, text: str) -> int:
        if self.size < self.cap:
            piece = str(text)[: self.cap - self.size]
            self.parts.append(piece)
            self.size += len(piece)
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


class _Shell:
    """Just enough of `get_ipython()` for notebook magics a course uses; nothing else."""

    harmless = frozenset({"matplotlib", "config", "load_ext", "autoreload", "precision"})

    def __init__(self, namespace: dict[str, Any]) -> None:
        self.user_ns = namespace
        self.input_transformers_post: list[Any] = []
        self.input_transformers_cleanup: list[Any] = []

    def run_line_magic(self, name: str, line: str, *_: Any) -> None:
        if name not in self.harmless:
            raise RuntimeError(f"%{name} is not available while grading")

    def run_cell_magic(self, name: str, line: str, cell: str) -> None:
        raise RuntimeError(f"%%{name} is not available while grading")

    def system(self, cmd: str) -> None:
        raise RuntimeError("shell commands (!cmd) are not available while grading")

    getoutput = system


def _describe(exc: BaseException) -> dict[str, Any]:
    try:
        text = str(exc)
    except _BaseException:
        text = "(its message could not be read)"
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename.startswith("<cell"):
            line = tb.tb_lineno
        tb = tb.tb_next
    return {"ename": type(exc).__name__, "evalue": " ".join(text.split())[:ERROR_TEXT_CAP], "line": line}


class Session:
    """One student's namespace inside a worker: runs cells, answers calls."""

    def __init__(self, sock: socket.socket, reader: protocol.FrameReader | None = None) -> None:
        self.sock = sock
        self.reader = reader or protocol.FrameReader(sock)
        self.ns: dict[str, Any] = {"__name__": "__main__", "__builtins__": builtins}
        self.shell = _Shell(self.ns)
        self.ns["get_ipython"] = lambda: self.shell
        self.ns["display"] = lambda *a, **k: None
        self.limit = SoftLimit()
        self.limit.install()
        #: Functions that ran past a time limit -> why; each fails at once from then on.
        self.hung = HungFunctions(self.ns)

    def send(self, header: dict[str, Any], blobs: list[bytes] | None = None) -> None:
        protocol.send_frame(self.sock, header, blobs or [])

    def run_cells(self, cells: list[dict[str, Any]], total_s: Any = None, hung: Any = None) -> None:
        """Run each cell within its `limit_s` (if given) and the notebook's `total_s` (if given).

        A cell past its limit is stopped, its row says so, and the student function it was
        stuck in (if any) is marked hung; the cells after it run as usual. Once `total_s` is
        spent, the remaining cells are not run.
        """
        if isinstance(hung, dict):  # found out by an earlier worker of this notebook
            for name, why in hung.items():
                self.hung.why.setdefault(str(name), str(why))
        end = _perf() + float(total_s) if type(total_s) in (int, float) else None
        for cell in cells:
            index = int(cell["index"])
            source = str(cell["source"])
            result: dict[str, Any] = {"ev": "cell", "i": index, "ok": True}
            limit = _limit(cell.get("limit_s"))
            if end is not None:
                left = end - _perf()
                if left <= 0:
                    result.update(
                        ok=False, ename="BudgetExceeded", evalue="not run: the notebook used up its time"
                    )
                    self.send(result)
                    continue
                limit = left if limit is None else min(limit, left)
            start = 0.0
            try:
                code = _PREPARED.get(source) or _compile_cell(source, f"<cell {index}>")
                start = _perf()
                self.limit.start(limit)
                try:
                    _exec(code, self.ns)
                finally:
                    self.limit.stop()
            except _BaseException as exc:  # SystemExit and KeyboardInterrupt too
                result.update(ok=False, **_describe(exc))
            result["elapsed_s"] = _perf() - start if start else 0.0
            if self.limit.timed_out:
                names = self.hung.blame(self.limit.stuck, None)
                where = f" in {names[0]}" if names else ""
                why = f"ran past its time limit of {limit:.3g} s in an earlier cell, so it was not run again"
                self.hung.mark(names, why)
                result.update(
                    why=why,
                    ok=False,
                    ename="TimeoutError",
                    evalue=f"the cell ran past its time limit of {limit:.3g} s{where}",
                    timeout=True,
                    hung=names,
                )
            self.hung.restub()  # a cell that defined a hung function again
            _close_figures()
            self.send(result)
        self.send({"ev": "done"})

    def _resolve_func(self, ref: protocol.FuncRef) -> Any:
        if ref.source == "builtin" and ref.name in BUILTIN_FUNCTIONS:
            return BUILTIN_FUNCTIONS[ref.name]
        if ref.source == "student" and callable(self.ns.get(ref.name)):
            return self.ns[ref.name]
        raise protocol.ProtocolError(f"no function {ref.name!r}")

    def call(self, header: dict[str, Any], blobs: list[bytes]) -> None:
        name = str(header["name"])
        if name in self.hung.why:
            self.send({"ok": False, "kind": "timeout", "evalue": self.hung.why[name], "hung": [name]})
            return
        fn = self.ns.get(name)
        if fn is None or not callable(fn):
            self.send({"ok": False, "kind": "missing"})
            return
        limit = _limit(header.get("limit_s"))
        args = protocol.decode(header["args"], blobs, resolve_func=self._resolve_func)
        kwargs = protocol.decode(header["kwargs"], blobs, resolve_func=self._resolve_func)
        before = [a.copy() if type(a) is _ndarray else None for a in args]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            start = _perf()
            error: BaseException | None = None
            try:
                self.limit.start(limit)
                try:
                    # Overflow, invalid and divide warnings tell misconceptions apart; underflow
                    # to 0 is what a correct, stable formula does and would only add noise.
                    with np.errstate(over="warn", invalid="warn", divide="warn", under="ignore"):
                        value = fn(*args, **kwargs)
                finally:
                    self.limit.stop()
            except _BaseException as exc:
                error = exc
            elapsed = _perf() - start
            if self.limit.timed_out:  # even if the code caught the timeout and returned
                names = self.hung.blame(self.limit.stuck, name)
                why = f"no answer within {limit:.3g} s (time limit)"
                self.hung.mark(names, why)
                stopped = {"ok": False, "kind": "timeout", "evalue": why, "hung": names, "elapsed_s": elapsed}
                self.send(stopped)
                return
            if error is not None:
                self.send({"ok": False, "kind": "raised", **_describe(error), "elapsed_s": elapsed})
                return
        mutated = [
            i
            for i, (old, new) in enumerate(zip(before, args, strict=True))
            if old is not None
            and not (
                type(new) is _ndarray and new.shape == old.shape and _array_equal(new, old, equal_nan=True)
            )
        ]
        reply: dict[str, Any] = {
            "ok": True,
            "elapsed_s": elapsed,
            "mutated": mutated,
            # Distinct messages only: a loop repeating one warning must not crowd out another.
            "warnings": list(dict.fromkeys(f"{w.category.__name__}: {w.message}"[:200] for w in caught))[:5],
        }
        out: list[bytes] = []
        try:
            reply["value"] = protocol.encode(value, out, resolve=_as_data)
        except (protocol.ProtocolError, TypeError, ValueError, RecursionError) as exc:
            self.send({"ok": False, "kind": "unreadable", "evalue": str(exc)[:ERROR_TEXT_CAP]})
            return
        self.send(reply, out)

    def answer(self, header: dict[str, Any], blobs: list[bytes]) -> None:
        """One call and its reply; a call the judge sent malformed still gets one."""
        try:
            self.call(header, blobs)
        except (protocol.ProtocolError, KeyError) as exc:
            self.send({"ok": False, "kind": "unreadable", "evalue": str(exc)})

    def get(self, header: dict[str, Any]) -> None:
        name = str(header["name"])
        if name not in self.ns:
            self.send({"ok": False, "kind": "missing"})
            return
        out: list[bytes] = []
        try:
            value = protocol.encode(self.ns[name], out, resolve=_as_data)
        except (protocol.ProtocolError, TypeError, ValueError, RecursionError) as exc:
            self.send({"ok": False, "kind": "unreadable", "evalue": str(exc)[:ERROR_TEXT_CAP]})
            return
        self.send({"ok": True, "value": value}, out)

    def serve(self) -> None:
        while True:
            try:
                header, blobs = self.reader.recv()
            except protocol.ChannelClosed:
                return
            op = header.get("op")
            if op == "run":
                self.run_cells(header["cells"], header.get("total_s"), header.get("hung"))
            elif op == "call":
                self.answer(header, blobs)
            elif op == "calls":  # several calls sent ahead: answered in order, one reply each
                for call in header.get("calls", []):
                    self.answer(call if isinstance(call, dict) else {}, blobs)
            elif op == "get":
                self.get(header)
            elif op == "bye":
                return


def _limit(value: Any) -> float | None:
    """A time limit the judge sent: positive seconds, or None for none."""
    if type(value) in (int, float) and 0 < value < 1e6:
        return float(value)
    return None


def _as_data(value: Any) -> tuple[Any, str]:
    """Turn an answer of another type into plain data, as `np.asarray` would read it."""
    kind = type(value).__name__
    if isinstance(value, bool | np.bool_):
        return bool(value), kind
    if isinstance(value, int):
        return int(value), kind
    if isinstance(value, float):
        return float(value), kind
    array = np.asarray(value)
    if type(array) is not np.ndarray:
        array = np.array(array, copy=True, subok=False)
    if array.dtype.kind not in protocol.SAFE_KINDS:
        raise ValueError(f"returned a {kind} that NumPy reads only as objects (dtype {array.dtype})")
    return array, kind


def _compile_cell(source: str, filename: str) -> Any:
    """Compile a cell as Jupyter would run it.

    IPython's input transforms (magics, `!cmd`, `obj?`, prompts, a common indent) only rewrite
    what is not valid Python, so a cell that compiles as it stands needs none of them; that is
    nearly every cell, and the transform costs more than the compile.
    """
    try:
        return _compile(source, filename, "exec")
    except SyntaxError:  # IndentationError too
        return _compile(_transform(source), filename, "exec")


@functools.lru_cache(maxsize=1)
def _transformer() -> Any:
    """IPython's input transformer: one a process, built in the zygote for every fork."""
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager()


def _transform(source: str) -> str:
    return str(_transformer().transform_cell(source))


def _close_figures() -> None:
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is not None:
        # The student may have broken pyplot; their figures are not our business.
        with contextlib.suppress(Exception):
            plt.close("all")


def _child(chan: socket.socket, template: JailSpec, shared: Shared) -> None:
    """A fresh fork: prepare what is the same for every student (`jail.prepare`, on top of what
    the zygote `shared`), wait for the judge to name its student's jail spec, confine this
    process as it says (`jail.confine`), then serve the judge on `chan`."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    keep = chan.fileno()
    os.closerange(3, keep)
    os.closerange(keep + 1, 65536)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)
    sys.stdout = _CappedText(OUTPUT_CAP_CHARS)
    sys.stderr = _CappedText(OUTPUT_CAP_CHARS)
    parent = os.getppid()
    die_with_parent(parent)
    prepared = prepare(template, shared)
    reader = protocol.FrameReader(chan)
    try:
        header, _ = reader.recv()
    except protocol.ChannelClosed:  # the judge no longer needs a worker
        return
    if header.get("op") != "jail":
        raise protocol.ProtocolError(f"expected a jail spec, got {header.get('op')!r}")
    spec = dataclasses.replace(JailSpec.from_json(header["jail"]), expose=template.expose)
    cpus = header.get("cpus")
    if isinstance(cpus, list) and cpus and all(type(c) is int for c in cpus):
        with contextlib.suppress(OSError, ValueError):  # the judge's CPU (see `pool.pinned`)
            os.sched_setaffinity(0, cpus)
    iso = confine(spec, shared, prepared)
    die_with_parent(parent)  # again: changing uid clears the parent-death signal
    protocol.send_frame(
        chan,
        {
            "ev": "ready",
            "pid": os.getpid(),
            "namespaces": iso.namespaces,
            "hidden": iso.hidden,
            "uid": iso.uid,
            "landlock": iso.landlock,
            "seccomp": iso.seccomp,
            "notes": iso.notes,
            "soft_limit": True,  # this process's main thread keeps time limits itself (softlimit)
        },
    )
    Session(chan, reader).serve()


def _warm_up() -> None:
    """Import once in the zygote what every worker needs, so forks start warm."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    _transformer()

    import autograder.selfcheck  # noqa: F401

    # A first figure loads fonts and builds caches (~0.2 s): pay that once, here.
    fig, ax = plt.subplots()
    ax.plot([0.1, 1.0], [1.0, 2.0], label="warm")
    ax.set(xscale="log", xlabel="x", ylabel="y", title="t")
    ax.legend()
    fig.canvas.draw()
    plt.close(fig)


def _prepare(source: str) -> None:
    """Transform and compile one released cell ahead of the forks; a cell that fails is left out."""
    with contextlib.suppress(Exception), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _PREPARED[source] = _compile_cell(source, "<cell>")


def zygote(control: socket.socket, *, pid_namespace: bool = False, in_cgroup: bool = False) -> None:
    """Fork a confined worker per request on `control` until it closes.

    Requests: `prepare` (compile a released cell ahead), `share` (the mounts every worker
    needs, made once: `jail.confine_shared`), and `ahead` (a `JailSpec.ahead`) with a socket:
    fork a worker that prepares itself (`jail.prepare`) and waits for its spec on the socket.

    The zygote is a child subreaper: whatever a worker leaves running (a double-forked daemon
    in a session of its own) comes back to it as an orphan, and every orphan is killed as soon
    as the zygote looks (`_sweep`: whenever one of its children ends, and when it
    exits), so nothing a student started outlives the worker that started it.

    With `pid_namespace` it is pid 1 of a PID namespace of its own (`pidns`): the pids it knows
    are the namespace's, so it names each worker it forks to the judge with SCM_CREDENTIALS,
    which the kernel rewrites into the judge's pid.
    """
    workers: set[int] = set()
    subreaper = lifetime.become_subreaper()
    wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
    signal.signal(signal.SIGCHLD, lambda *_: None)  # reaped by `_sweep`, woken by the pipe
    die_with_parent()
    _warm_up()
    expose = tuple(interpreter_paths())
    readable_paths()  # once, for every worker's Landlock rules and seccomp filter
    seccomp.prepare()  # the filter in C memory, for every fork to install as it is
    shared: Shared | None = None
    hello = {
        "ev": "zygote-ready",
        "pid": os.getpid(),
        "subreaper": subreaper,
        "pidns": pid_namespace,
        "cgroup": in_cgroup,
    }
    control.send(json.dumps(hello).encode())
    try:
        while True:
            ready, _, _ = select.select([control.fileno(), wake_r], [], [])
            if wake_r in ready:
                with contextlib.suppress(BlockingIOError):
                    while os.read(wake_r, 512):
                        pass
                _sweep(workers)
            if control.fileno() not in ready:
                continue
            try:
                msg, fds, _flags, _addr = socket.recv_fds(control, 1 << 16, 1)
            except OSError:
                return
            if not msg:
                return
            request = json.loads(msg)
            if "prepare" in request:
                _prepare(str(request["prepare"]))
                continue
            if "share" in request:
                if shared is None:  # once: a second namespace would nest inside the first
                    hide = [str(p) for p in request["share"]]
                    shared = confine_shared(hide, expose)
                    readable, planned_for = plan_readable(hide)  # as the workers will see the files
                    shared = dataclasses.replace(shared, readable=readable, planned_for=planned_for)
                    landlock.prepared(readable)  # each fork then only opens each path and adds it
                continue
            if not fds:
                continue
            _reap(workers)  # orphans were swept when their worker ended (SIGCHLD)
            chan = socket.socket(fileno=fds[0])
            # Untracked by the collector from now on, so that a worker's collections do not write
            # to (and so copy) every page of objects it inherited.
            gc.freeze()
            pid = os.fork()
            if pid == 0:
                code = 0
                try:
                    signal.set_wakeup_fd(-1)
                    control.close()
                    template = JailSpec.from_json(request["ahead"])
                    _child(chan, dataclasses.replace(template, expose=expose), shared or Shared())
                except _BaseException:
                    code = 70
                    with contextlib.suppress(_BaseException):
                        protocol.send_frame(
                            chan, {"ev": "jail-failed", "error": traceback.format_exc()[-2000:]}
                        )
                finally:
                    os._exit(code)
            workers.add(pid)
            chan.close()
            if pid_namespace:
                pidns.send_pid(control, json.dumps({"pid": pid}).encode(), pid)
            else:
                control.send(json.dumps({"pid": pid}).encode())
    finally:
        workers.clear()
        _sweep(workers)  # the zygote's end is every worker's and every orphan's


def _reap(workers: set[int]) -> None:
    """Collect every child that has ended; a worker that did is no longer one."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        workers.discard(pid)


def _sweep(workers: set[int]) -> None:
    """Reap what ended, then SIGKILL every child of ours that is not a live worker (orphans a
    worker left behind, handed to us as subreaper), until none is left. A stray forking as
    fast as it can hands its children to us too: each round takes them."""
    _reap(workers)
    for _ in range(1000):
        strays = [pid for pid in lifetime.children(os.getpid()) if pid not in workers]
        if not strays:
            return
        for pid in strays:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for pid in strays:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
        _reap(workers)


def main() -> None:
    """Entry point: `python -m autograder.sandbox.worker FD [--cgroup PATH] [--no-pidns]`."""
    control = socket.socket(fileno=int(sys.argv[1]))
    options = sys.argv[2:]
    in_cgroup = False
    if "--cgroup" in options:  # the cgroup the judge made for us: joined before anything is forked
        with contextlib.suppress(OSError, IndexError):
            cgroup.join(options[options.index("--cgroup") + 1])
            in_cgroup = True
    # Pid 1 of a PID namespace of its own where the machine allows (see `pidns` for why one per
    # zygote); the process the judge started waits for it there and never comes back here.
    in_pidns = "--no-pidns" not in options and pidns.enter(control)
    zygote(control, pid_namespace=in_pidns, in_cgroup=in_cgroup)
    sys.stderr.flush()
    os._exit(0)  # nothing to clean up: skip tearing down NumPy, matplotlib and friends (~0.2 s)


if __name__ == "__main__":
    main()
