"""The judge's side of a worker: talk to it, time it, and keep a submission callable.

A `Worker` is the judge's handle on one confined process (forked by a `process.Zygote`): run
the cells, call a function, read a variable, each under a wall-clock limit that kills the
worker's whole process group. `StudentProcess` keeps one submission reachable: when its code
ends the process (`os._exit`, a crash, a timeout) it starts a fresh worker, re-running the
cells but the one that killed the last, so the items the suite can still reach keep their
points. Nothing here starts a process: a `Spawner` (the zygote, or the launcher that restarts
one) does.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import time
from collections.abc import Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any, Protocol

from autograder.models import CellResult
from autograder.sandbox import protocol
from autograder.sandbox.jail import JailSpec

log = logging.getLogger(__name__)

#: How long a fresh worker (or zygote) may take to say it is ready.
READY_TIMEOUT_S = 30.0
#: The most a call's answer may weigh; an array past it ends the worker (the judge's memory).
MAX_REPLY_BYTES = 64 << 20
#: How long past a soft limit (the worker's own timer, see `softlimit`) the judge waits for the
#: worker to report the hang itself before it kills the worker: the timer samples twice
#: (0.2 s apart), and a busy machine may be slow to schedule it.
HARD_GRACE_S = 1.5


class WorkerLost(Exception):
    """The worker ended (exited, crashed, was killed) before it answered."""

    def __init__(self, reason: str, *, timed_out: bool = False, at_cell: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.timed_out = timed_out
        self.at_cell = at_cell


@dataclass(frozen=True)
class CallReply:
    """What came back from one call: a value, or why there is none (all plain data)."""

    ok: bool
    value: Any = None
    kind: str = ""  # raised | missing | unreadable | timeout | crashed
    ename: str = ""
    evalue: str = ""
    line: int | None = None
    warnings: tuple[str, ...] = ()
    mutated: tuple[int, ...] = ()
    elapsed_s: float = 0.0


class Worker:
    """The judge's handle on one confined worker process."""

    def __init__(self, sock: socket.socket, pid: int, spec: JailSpec) -> None:
        self.sock = sock
        self.reader = protocol.FrameReader(sock)
        self.pid = pid
        self.spec = spec
        self.alive = True
        self.isolation: dict[str, Any] = {}
        #: Functions the worker reported as hung (past a soft limit) -> why; never called again.
        self.hung: dict[str, str] = {}

    def _recv(self, deadline: float) -> tuple[dict[str, Any], list[bytes]]:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            self.kill()
            raise WorkerLost("time limit", timed_out=True)
        self.sock.settimeout(remaining)
        try:
            return self.reader.recv(max_blob_bytes=MAX_REPLY_BYTES)
        except TimeoutError:
            self.kill()
            raise WorkerLost("time limit", timed_out=True) from None
        except (protocol.ChannelClosed, OSError) as exc:
            self.kill()
            raise WorkerLost(f"the process ended ({exc})") from None
        except protocol.ProtocolError as exc:  # garbage, or an answer over MAX_REPLY_BYTES
            self.kill()
            raise WorkerLost(f"the process sent what the grader cannot take ({exc})") from None

    def _send(self, header: dict[str, Any], blobs: Sequence[bytes] = ()) -> None:
        try:
            protocol.send_frame(self.sock, header, blobs)
        except OSError as exc:
            self.kill()
            raise WorkerLost(f"the process ended ({exc})") from None

    @property
    def grace_s(self) -> float:
        """How long past a limit the judge waits before it kills: `HARD_GRACE_S` for a worker
        that keeps soft limits itself (it said so when ready), none for one that does not."""
        return HARD_GRACE_S if self.isolation.get("soft_limit") is True else 0.0

    def confine(self, spec: JailSpec, *, cpus: Sequence[int] = ()) -> None:
        """Tell a worker forked ahead the spec to confine itself as (then `wait_ready`), and
        the CPUs to move to."""
        self._send({"op": "jail", "jail": spec.to_json(), "cpus": list(cpus)})

    def wait_ready(self, *, timeout_s: float = READY_TIMEOUT_S) -> None:
        header, _ = self._recv(time.monotonic() + timeout_s)
        if header.get("ev") != "ready":
            self.kill()
            raise RuntimeError(f"a worker could not be confined: {header.get('error', header)}")
        self.isolation = header

    def run_cells(
        self,
        cells: Sequence[tuple[int, str]],
        *,
        cell_timeout_s: float,
        total_timeout_s: float,
        cell_limits: dict[int, float] | None = None,
    ) -> Iterator[tuple[int, bool, str, str, float]]:
        """Run (index, source) cells in order, yielding (index, ok, ename, evalue, seconds) as
        each ends, seconds being how long its code ran as the worker measured it.

        Each cell's limit is `cell_limits[index]`, else `cell_timeout_s`, and all of them
        together `total_timeout_s`. The worker keeps them itself (a soft limit: it stops the
        cell, names the function that hung in `hung` and goes on); the judge kills it
        `HARD_GRACE_S` later should it not. What finished before a cell killed the worker is
        known: the cell running is always the one after the last reported.
        """
        limits = {i: (cell_limits or {}).get(i, cell_timeout_s) for i, _ in cells}
        self._send(
            {
                "op": "run",
                "cells": [{"index": i, "source": s, "limit_s": limits[i]} for i, s in cells],
                "total_s": total_timeout_s,
                "hung": dict(self.hung),
            }
        )
        end = time.monotonic() + total_timeout_s + self.grace_s
        order = [i for i, _ in cells]
        current: int | None = order[0] if order else None
        while True:
            limit = limits.get(current, cell_timeout_s) if current is not None else cell_timeout_s
            deadline = min(end, time.monotonic() + limit + self.grace_s)
            try:
                header, _ = self._recv(deadline)
            except WorkerLost as lost:
                lost.at_cell = current
                raise
            if header.get("ev") == "done":
                return
            if header.get("ev") == "cell":
                finished = header.get("i")
                if type(finished) is not int:
                    self.kill()
                    raise WorkerLost("the process sent what the grader cannot take (a cell without index)")
                later = order.index(finished) + 1 if finished in order else len(order)
                current = order[later] if later < len(order) else None
                self._note_hung(header)
                yield (
                    finished,
                    bool(header.get("ok")),
                    str(header.get("ename", ""))[:100],
                    str(header.get("evalue", ""))[:400],
                    _seconds(header.get("elapsed_s")),
                )

    def call(self, name: str, args: Sequence[Any], kwargs: dict[str, Any], *, timeout_s: float) -> CallReply:
        """Call the student's function `name` within `timeout_s`; values cross as data only."""
        blobs: list[bytes] = []
        self._send({"op": "call", **_call_header(name, args, kwargs, blobs, timeout_s)}, blobs)
        return self.reply(timeout_s=timeout_s)

    def send_calls(
        self,
        calls: Sequence[tuple[str, Sequence[Any], dict[str, Any]]],
        limits: Sequence[float] | None = None,
    ) -> None:
        """Send several calls in one message, the i-th within `limits[i]` seconds (the worker's
        soft limit); `reply` then reads their answers in order."""
        blobs: list[bytes] = []
        headers = [
            _call_header(n, a, k, blobs, limits[i] if limits and i < len(limits) else None)
            for i, (n, a, k) in enumerate(calls)
        ]
        self._send({"op": "calls", "calls": headers}, blobs)

    def reply(self, *, timeout_s: float) -> CallReply:
        """The answer to the next call sent: the worker stops it after `timeout_s` (and says
        so); the judge kills the worker `HARD_GRACE_S` later."""
        header, out = self._recv(time.monotonic() + timeout_s + self.grace_s)
        self._note_hung(header)
        return _reply(header, out)

    def _note_hung(self, header: dict[str, Any]) -> None:
        hung = header.get("hung")
        if isinstance(hung, list):
            text = str(header.get("why") or header.get("evalue", ""))
            why = " ".join(text.split())[:200] or "ran past its time limit"
            for name in hung[:8]:
                if isinstance(name, str) and len(name) < 200:
                    self.hung.setdefault(name, why)

    def get(self, name: str, *, timeout_s: float) -> CallReply:
        """Read the student's global variable `name`."""
        self._send({"op": "get", "name": name})
        reply, out = self._recv(time.monotonic() + timeout_s)
        return _reply(reply, out)

    def kill(self) -> None:
        """Kill the worker's process group (and, as root, every process of its uid)."""
        if not self.alive:
            return
        self.alive = False
        _move_off_this_cpu(self.pid)
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        uid = self.isolation.get("uid", -1)
        if isinstance(uid, int) and uid > 0 and uid != os.getuid():
            _kill_uid(uid)
        self.sock.close()

    def close(self) -> None:
        if self.alive:
            _move_off_this_cpu(self.pid)  # it ends now: not on the judge's CPU, if there is another
            with suppress(OSError):
                protocol.send_frame(self.sock, {"op": "bye"})
        self.kill()


def _move_off_this_cpu(pid: int) -> None:
    """Let process `pid` run anywhere but where this thread may (a judge pinned to one CPU, its
    worker beside it: `pool.pinned`), so that its exit, tearing down a whole interpreter's
    memory, runs beside the judge instead of in its way. Nothing where there is no other CPU."""
    try:
        mine = os.sched_getaffinity(0)
        others = set(range(os.cpu_count() or 1)) - mine
        if others:
            os.sched_setaffinity(pid, others)
    except (AttributeError, OSError):  # gone already, not ours to move, or not Linux
        pass


def _call_header(
    name: str, args: Sequence[Any], kwargs: dict[str, Any], blobs: list[bytes], limit_s: float | None = None
) -> dict[str, Any]:
    header = {
        "name": name,
        "args": protocol.encode(list(args), blobs),
        "kwargs": protocol.encode(dict(kwargs), blobs),
    }
    if limit_s is not None:
        header["limit_s"] = limit_s
    return header


def _reply(header: dict[str, Any], blobs: list[bytes]) -> CallReply:
    def text(key: str, cap: int = 400) -> str:
        return " ".join(str(header.get(key, "")).split())[:cap]

    elapsed_s = _seconds(header.get("elapsed_s"))
    if header.get("ok") is True:
        try:
            value = protocol.decode(header.get("value"), blobs)
        except protocol.ProtocolError as exc:
            return CallReply(False, kind="unreadable", evalue=str(exc))
        warns = header.get("warnings", [])
        mutated = header.get("mutated", [])
        return CallReply(
            True,
            value=value,
            warnings=tuple(str(w)[:200] for w in warns[:5]) if isinstance(warns, list) else (),
            mutated=tuple(int(i) for i in mutated if isinstance(i, int)) if isinstance(mutated, list) else (),
            elapsed_s=elapsed_s,
        )
    kind = str(header.get("kind", "unreadable"))
    line = header.get("line")
    return CallReply(
        False,
        kind=kind if kind in {"raised", "missing", "unreadable", "timeout"} else "unreadable",
        ename=text("ename", 80),
        evalue=text("evalue"),
        line=line if isinstance(line, int) else None,
        elapsed_s=elapsed_s,
    )


def _seconds(value: Any) -> float:
    """A duration the worker reported: information only (never a verdict), so just sane."""
    if type(value) not in (int, float) or not 0.0 <= value < 1e6:
        return 0.0
    return float(value)


def _kill_uid(uid: int) -> None:
    """SIGKILL every process owned by `uid` (workers run under their own uid).

    Scans /proc until a scan finds no process it has not killed already: one that forked as it
    was killed leaves its child to the next scan. A killed process stays listed (a zombie) until
    reaped, so it is remembered rather than killed and counted again.
    """
    killed: set[int] = set()
    for _ in range(3):
        fresh = False
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) in killed:
                continue
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    fresh = True
                    killed.add(int(entry))
                    os.kill(int(entry), signal.SIGKILL)
            except (FileNotFoundError, ProcessLookupError, PermissionError):
                continue
        if not fresh:
            return


class Spawner(Protocol):
    """Whatever forks confined workers: a `Zygote`, or a launcher that restarts one."""

    def spawn(self, spec: JailSpec) -> Worker: ...


@dataclass
class StudentProcess:
    """One submission kept callable across worker deaths (see module docstring)."""

    spawner: Spawner
    spec: JailSpec
    cells: Sequence[tuple[int, str]]
    cell_timeout_s: float
    total_timeout_s: float
    max_restarts: int = 8
    worker: Worker | None = None
    skipped: dict[int, str] = field(default_factory=dict)
    cell_results: dict[int, tuple[bool, str, str]] = field(default_factory=dict)
    cell_seconds: dict[int, float] = field(default_factory=dict)  # how long each cell's code ran
    restarts: int = 0
    lost_s: float = 0.0  # time spent in attempts that a cell ended (see start)
    student_s: float = 0.0  # the student code's own run time, cells and calls, as workers report it
    crashers: dict[str, str] = field(default_factory=dict)  # function -> why it is not called again
    #: Function -> why: it ran past a time limit (in a cell or a call) and is not called again.
    hung: dict[str, str] = field(default_factory=dict)
    #: Each cell's own time limit (calibrated from the reference solution); others get cell_timeout_s.
    cell_limits: dict[int, float] = field(default_factory=dict)

    def start(self) -> None:
        """Run the notebook, skipping on restart each cell that ended a worker.

        Time lost to cells that hung or ended the process counts against the notebook's
        budget across restarts: once it is spent, cells that never finished are not tried
        again (each would cost a full cell timeout), and a restart re-runs only the cells
        that finished before, to rebuild the student's functions.
        """
        while True:
            budget = self.total_timeout_s - self.lost_s
            if budget <= 0:
                for index, _ in self.cells:
                    if index not in self.cell_results:
                        self.skipped[index] = "BudgetExceeded"
                        self.cell_results[index] = (
                            False,
                            "BudgetExceeded",
                            f"not run: the notebook used up its {self.total_timeout_s:g} s of time",
                        )
            worker = self.spawner.spawn(self.spec)
            todo = [(i, s) for i, s in self.cells if i not in self.skipped]
            started = time.monotonic()
            try:
                worker.hung.update(self.hung)  # a restarted worker stubs them as it defines them
                for index, ok, ename, evalue, seconds in worker.run_cells(
                    todo,
                    cell_timeout_s=min(self.cell_timeout_s, max(budget, 1.0)),
                    total_timeout_s=self.total_timeout_s if budget <= 0 else budget,
                    cell_limits=self.cell_limits,
                ):
                    self.cell_results[index] = (ok, ename, evalue)
                    self.cell_seconds[index] = seconds
                    self.student_s += seconds
                self.hung.update(worker.hung)
                self.worker = worker
                return
            except WorkerLost as lost:
                self.hung.update(worker.hung)
                self.lost_s += time.monotonic() - started
                if lost.at_cell is None or self.restarts >= self.max_restarts:
                    self.worker = None
                    raise
                why = "TimeoutError" if lost.timed_out else "ProcessExit"
                text = (
                    f"the cell ran past its time limit of {self.cell_timeout_s:g} s"
                    if lost.timed_out
                    else "the cell ended the Python process (os._exit, a crash or a kill)"
                )
                self.skipped[lost.at_cell] = why
                self.cell_results[lost.at_cell] = (False, why, text)
                self.restarts += 1

    def results(self) -> list[CellResult]:
        return [
            CellResult(index=i, grade_id=None, ok=ok, ename=en, evalue=ev)
            for i, (ok, en, ev) in sorted(self.cell_results.items())
        ]

    def _live(self) -> Worker:
        if self.worker is None or not self.worker.alive:
            if self.restarts >= self.max_restarts:
                raise WorkerLost("the notebook ended its process too many times")
            self.restarts += 1
            self.start()
        assert self.worker is not None
        return self.worker

    def call(self, name: str, args: Sequence[Any], kwargs: dict[str, Any], *, timeout_s: float) -> CallReply:
        """Call a student function; a worker lost on the way is a reply, not an exception.

        A function whose call ended the worker is not called again: every later call of it
        answers `crashed` at once, so one function that exits (on every input of a property
        test, say) cannot use up the restarts the notebook's other functions need.
        """
        if name in self.crashers:
            return CallReply(False, kind="crashed", evalue=self.crashers[name])
        if name in self.hung:
            return CallReply(False, kind="timeout", evalue=self.hung[name])
        try:
            worker = self._live()
        except WorkerLost as lost:
            return CallReply(False, kind="crashed", evalue=lost.reason)
        try:
            reply = worker.call(name, args, kwargs, timeout_s=timeout_s)
            self.student_s += reply.elapsed_s
            self.hung.update(worker.hung)
            return reply
        except WorkerLost as lost:
            return self.lost_reply(name, lost, timeout_s)

    def lost_reply(self, name: str, lost: WorkerLost, timeout_s: float) -> CallReply:
        """The reply for a call that lost its worker; a function that ended it is not called again."""
        if lost.timed_out:
            why = f"no answer within {timeout_s:.3g} s (time limit)"
            self.hung[name] = why
            return CallReply(False, kind="timeout", evalue=why)
        why = "the call ended the Python process" if "ended" in lost.reason else lost.reason
        self.crashers[name] = why
        return CallReply(False, kind="crashed", evalue=why)

    def send_ahead(
        self,
        calls: Sequence[tuple[str, Sequence[Any], dict[str, Any]]],
        limits: Sequence[float] | None = None,
    ) -> CallsAhead | None:
        """Send `calls` to the worker in one message (the i-th within `limits[i]` s), up to the
        first function that crashed or hung before; read their answers with the returned
        `CallsAhead`. None if none was sent."""
        todo = []
        for call in calls:
            if call[0] in self.crashers or call[0] in self.hung:
                break
            todo.append(call)
        if not todo:
            return None
        try:
            worker = self._live()
            worker.send_calls(todo, limits)
        except WorkerLost:
            return None  # the next call, made as usual, says why
        return CallsAhead(self, worker, len(todo))

    def get(self, name: str, *, timeout_s: float) -> CallReply:
        try:
            return self._live().get(name, timeout_s=timeout_s)
        except WorkerLost as lost:
            return CallReply(False, kind="crashed", evalue=lost.reason)

    def isolation(self) -> dict[str, Any]:
        return self.worker.isolation if self.worker is not None else {}

    def close(self) -> None:
        if self.worker is not None:
            self.worker.close()
            self.worker = None


@dataclass
class CallsAhead:
    """The answers to calls sent ahead (`StudentProcess.send_ahead`), read one at a time."""

    process: StudentProcess
    worker: Worker
    pending: int

    def next(self, name: str, *, timeout_s: float) -> CallReply:
        """The answer to the next call (of function `name`), as `StudentProcess.call` gives it."""
        try:
            reply = self.worker.reply(timeout_s=timeout_s)
        except WorkerLost as lost:
            self.pending = 0  # the worker is gone, and the calls after this one with it
            return self.process.lost_reply(name, lost, timeout_s)
        self.pending -= 1
        self.process.student_s += reply.elapsed_s
        self.process.hung.update(self.worker.hung)
        return reply

    def stop(self) -> None:
        """Done reading: a worker that still owes answers is stopped (the next call restarts it)."""
        if self.pending:
            self.pending = 0
            self.worker.kill()
