"""The worker and its jail, exercised through the judge's handles (real processes)."""

from __future__ import annotations

import dataclasses
import errno
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

import autograder
from autograder.judge.proxy import StudentCrashed, StudentProxy, StudentTimeout
from autograder.sandbox import landlock, seccomp
from autograder.sandbox.client import StudentProcess
from autograder.sandbox.jail import Limits
from autograder.sandbox.process import Zygote, jail_spec
from autograder.sandbox.protocol import FuncRef

IS_ROOT = os.geteuid() == 0


@pytest.fixture(scope="module")
def zygote() -> Iterator[Zygote]:
    with Zygote() as z:
        yield z


def start(zygote, tmp_path, cells, *, hide=(), limits=None, cell_timeout_s=5.0, **jail) -> StudentProcess:
    """A started process; `jail` changes the spec (namespaces=False, landlock=False...)."""
    scratch = tmp_path / "scratch"
    scratch.mkdir(exist_ok=True)
    spec = dataclasses.replace(
        jail_spec(scratch, hide=[Path(h) for h in hide], limits=limits, serial=1), **jail
    )
    process = StudentProcess(
        zygote, spec, list(enumerate(cells)), cell_timeout_s=cell_timeout_s, total_timeout_s=30
    )
    process.start()
    return process


def test_calls_return_plain_data_and_report_mutation_and_warnings(zygote, tmp_path):
    p = start(
        zygote, tmp_path, ["import numpy as np", "def f(z):\n    z[0] = 9\n    return np.exp(z * 1000)"]
    )
    try:
        reply = p.call("f", [np.array([1.0, 2.0])], {}, timeout_s=5)
        assert reply.ok and type(reply.value) is np.ndarray
        assert reply.mutated == (0,)
        assert any("overflow" in w for w in reply.warnings)
        assert p.call("nope", [], {}, timeout_s=5).kind == "missing"
    finally:
        p.close()


def test_a_cell_that_exits_is_skipped_and_the_rest_still_answer(zygote, tmp_path):
    p = start(
        zygote, tmp_path, ["def f():\n    return 1", "import os\nos._exit(3)", "def g():\n    return 2"]
    )
    try:
        results = {r.index: r for r in p.results()}
        assert not results[1].ok and results[1].ename == "ProcessExit"
        assert p.call("f", [], {}, timeout_s=5).value == 1
        assert p.call("g", [], {}, timeout_s=5).value == 2
    finally:
        p.close()


def test_an_endless_cell_times_out_and_is_skipped(zygote, tmp_path):
    p = start(zygote, tmp_path, ["while True:\n    pass", "x = 5"], cell_timeout_s=0.5)
    try:
        assert [r.ename for r in p.results()] == ["TimeoutError", ""]
        assert p.get("x", timeout_s=5).value == 5
    finally:
        p.close()


def test_a_call_that_never_returns_times_out_and_the_worker_comes_back(zygote, tmp_path):
    p = start(zygote, tmp_path, ["def spin():\n    while True:\n        pass", "def one():\n    return 1"])
    try:
        assert p.call("spin", [], {}, timeout_s=0.5).kind == "timeout"
        assert p.call("one", [], {}, timeout_s=5).value == 1
    finally:
        p.close()


def test_builtin_and_own_functions_cross_by_name(zygote, tmp_path):
    p = start(zygote, tmp_path, ["def apply(f, x):\n    return f(x)", "def double(x):\n    return 2 * x"])
    try:
        assert list(p.call("apply", [FuncRef("relu"), np.array([-1.0, 2.0])], {}, timeout_s=5).value) == [
            0,
            2,
        ]
        assert p.call("apply", [FuncRef("double", "student"), 4], {}, timeout_s=5).value == 8
    finally:
        p.close()


def test_environment_is_scrubbed_and_cwd_is_the_scratch_dir(zygote, tmp_path, monkeypatch):
    monkeypatch.setenv("SECRET_TOKEN", "s3cr3t")
    p = start(zygote, tmp_path, ["import os\nenv = dict(os.environ)\ncwd = os.getcwd()"])
    try:
        env = p.get("env", timeout_s=5).value
        assert "SECRET_TOKEN" not in env and env["HOME"] == str(tmp_path / "scratch")
        assert p.get("cwd", timeout_s=5).value == str(tmp_path / "scratch")
    finally:
        p.close()


NETWORK_PROBE = (
    "import socket\ntry:\n    socket.create_connection(('127.0.0.1', 9), timeout=1)\n    net = 'open'\n"
    "except OSError as e:\n    net = e.errno"
)


@pytest.mark.skipif(not IS_ROOT, reason="namespaces and uid drop need root here")
def test_no_network_no_course_and_another_uid(zygote, tmp_path):
    secret = tmp_path / "course"
    secret.mkdir()
    (secret / "gradebook.db").write_text("grades")
    p = start(
        zygote,
        tmp_path,
        [
            NETWORK_PROBE,
            f"import os\ntry:\n    seen = os.listdir({str(secret)!r})\nexcept PermissionError:\n    seen = 'denied'",
            "uid = os.getuid()",
            "import fractions, statistics, decimal\nstdlib = 'ok'",
        ],
        hide=[secret],
        landlock=False,  # the namespaces and the uid drop alone (the other layers: test_layers.py)
        seccomp=False,
    )
    try:
        assert p.get("net", timeout_s=5).value == errno.ENETUNREACH  # no interface is up
        assert p.get("seen", timeout_s=5).value in ([], "denied")
        assert p.get("stdlib", timeout_s=5).value == "ok"  # the interpreter stays reachable
        assert p.get("uid", timeout_s=5).value not in (0, os.getuid())
    finally:
        p.close()


@pytest.mark.skipif(not IS_ROOT, reason="the zygote mounts once only as root")
def test_what_the_zygote_hides_once_stays_hidden_from_every_worker(tmp_path):
    # Where nothing else hides it: not in a temp dir (each worker gets an empty /tmp), not beside
    # the package in a checkout (hidden as a whole), but inside the package, which workers read.
    package = Path(autograder.__file__).resolve().parent
    if not os.access(package, os.W_OK):
        pytest.skip("the package folder is read-only here")
    secret = Path(tempfile.mkdtemp(prefix=".test-hidden-", dir=package))
    try:
        secret.chmod(0o755)  # readable by anyone: only the mount may keep a worker out
        (secret / "key.txt").write_text("answers")
        read = f"try:\n    seen = open({str(secret / 'key.txt')!r}).read()\nexcept OSError as e:\n    seen = e.errno"
        with Zygote() as z:
            z.share([str(secret)])
            for _ in range(2):  # each fork starts from the zygote's namespace, not from the last one's
                # The worker is asked to hide nothing, and only the zygote's mounts are tried.
                p = start(z, tmp_path, [read, NETWORK_PROBE], landlock=False, seccomp=False)
                try:
                    assert p.get("seen", timeout_s=5).value == errno.EACCES  # an empty tmpfs of mode 0
                    assert p.get("net", timeout_s=5).value == errno.ENETUNREACH  # the zygote's: none up
                finally:
                    p.close()
        assert (secret / "key.txt").read_text() == "answers"  # the grader still sees it
    finally:
        shutil.rmtree(secret)


def test_memory_limit_turns_a_huge_allocation_into_an_error(zygote, tmp_path):
    p = start(
        zygote,
        tmp_path,
        [
            "import numpy as np\ntry:\n    big = np.ones(10**10)\n    r = 'allocated'\n"
            "except MemoryError:\n    r = 'MemoryError'"
        ],
        limits=Limits(memory_mb=2048),
    )
    try:
        assert p.get("r", timeout_s=5).value == "MemoryError"
    finally:
        p.close()


def test_hanging_cells_share_one_notebook_budget_across_restarts(zygote, tmp_path):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    cells = ["def f():\n    return 1", *["while True:\n    pass"] * 4, "x = 5"]
    p = StudentProcess(
        zygote,
        jail_spec(scratch, hide=[], serial=1),
        list(enumerate(cells)),
        cell_timeout_s=1.0,
        total_timeout_s=1.5,
    )
    started = time.monotonic()
    p.start()
    try:
        assert time.monotonic() - started < 4  # not four full cell timeouts
        names = [r.ename for r in p.results()]
        assert names[0] == "" and names.count("TimeoutError") >= 1 and "BudgetExceeded" in names
        assert p.call("f", [], {}, timeout_s=5).value == 1  # what finished before is still there
    finally:
        p.close()


# --- calls sent ahead (a property test's examples in one round trip) --------------------------


def _proxy(process, *, call_timeout_s=5.0):
    items = [SimpleNamespace(name=n, timeout_s=20.0, call_timeout_s=call_timeout_s) for n in "fgh"]
    return StudentProxy(process, SimpleNamespace(items=items))


COUNTING = "import numpy as np\ncount = 0\ndef f(x):\n    global count\n    count += 1\n    return x * 2"


def test_calls_sent_ahead_run_once_and_their_answers_are_taken_by_the_same_calls(zygote, tmp_path):
    p = start(zygote, tmp_path, [COUNTING])
    try:
        proxy = _proxy(p)
        xs = [np.array([float(i)]) for i in range(5)]
        proxy.prefetch([("f", (x,), {}) for x in xs])
        assert p.get("count", timeout_s=5).value == 5  # all five ran, from one message
        for x in xs:
            np.testing.assert_array_equal(proxy.f(x), x * 2)
        assert p.get("count", timeout_s=5).value == 5  # no call was made again
        proxy.prefetch([("f", (xs[0],), {}), ("f", (xs[1],), {})])
        np.testing.assert_array_equal(proxy.f(np.array([7.0])), [14.0])  # not the call planned
        np.testing.assert_array_equal(proxy.f(xs[1]), xs[1] * 2)  # asked again, not taken
        assert p.get("count", timeout_s=5).value == 9
    finally:
        p.close()


def test_a_call_sent_ahead_that_ends_the_worker_answers_as_if_called_alone(zygote, tmp_path):
    cells = ["import os\ndef g(x):\n    if x[0] == 2:\n        os._exit(1)\n    return x"]
    p = start(zygote, tmp_path, cells)
    try:
        proxy = _proxy(p)
        xs = [np.array([float(i)]) for i in range(5)]
        proxy.prefetch([("g", (x,), {}) for x in xs])
        np.testing.assert_array_equal(proxy.g(xs[0]), xs[0])
        np.testing.assert_array_equal(proxy.g(xs[1]), xs[1])
        for x in xs[2:]:  # the crasher, then the calls after it: crashed at once, as without prefetch
            with pytest.raises(StudentCrashed):
                proxy.g(x)
        assert p.restarts == 0  # a function that ended its worker is not called again
    finally:
        p.close()


def test_a_call_sent_ahead_that_hangs_times_out_and_the_rest_are_not_waited_for(zygote, tmp_path):
    cells = ["def h(x):\n    while x[0] == 1:\n        pass\n    return x"]
    p = start(zygote, tmp_path, cells)
    try:
        proxy = _proxy(p, call_timeout_s=1.0)
        xs = [np.array([float(i)]) for i in range(4)]
        started = time.monotonic()
        proxy.prefetch([("h", (x,), {}) for x in xs])
        assert time.monotonic() - started < 5  # one time limit, not one per call after it
        np.testing.assert_array_equal(proxy.h(xs[0]), xs[0])
        for x in xs[1:]:
            with pytest.raises(StudentTimeout):
                proxy.h(x)
    finally:
        p.close()


LAYERS_PROBE = """
import os, signal, socket, ctypes, errno
def attempt(action):
    try:
        action()
        return 'ok'
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))
libc = ctypes.CDLL(None, use_errno=True)
seen = {
    'judge side': attempt(lambda: open(JUDGE).read()),
    'signal zygote': attempt(lambda: os.kill(os.getppid(), 0)),
    'udp': attempt(lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM)),
    'ptrace': 'ok' if libc.ptrace(16, os.getppid(), 0, 0) == 0 else errno.errorcode[ctypes.get_errno()],
    'environ': attempt(lambda: open(f'/proc/{os.getppid()}/environ', 'rb').read()),
    'numpy': str(__import__('numpy').linalg.norm(__import__('numpy').ones(4))),
}
"""


@pytest.mark.skipif(
    landlock.abi_version() < 6 or not seccomp.available(), reason="needs Landlock >= 6 and seccomp"
)
@pytest.mark.parametrize("with_namespaces", [True, False], ids=["namespaces", "unprivileged layers only"])
def test_every_worker_is_confined_by_landlock_and_seccomp(zygote, tmp_path, with_namespaces):
    judge = Path(autograder.__file__).resolve().parent / "judge" / "runner.py"
    p = start(
        zygote,
        tmp_path,
        [f"JUDGE = {str(judge)!r}\n" + LAYERS_PROBE],
        namespaces=with_namespaces,
        drop_privileges=with_namespaces,
    )
    try:
        assert p.worker is not None
        assert p.worker.isolation["landlock"] == landlock.abi_version()
        assert p.worker.isolation["seccomp"] is True
        seen = p.get("seen", timeout_s=5).value
    finally:
        p.close()
    assert seen["judge side"] in ("EACCES", "ENOENT")
    assert seen["signal zygote"] == "EPERM"
    assert seen["udp"] == "EPERM"
    assert seen["ptrace"] == "EPERM"
    assert seen["environ"] in ("EACCES", "ENOENT")  # ENOENT: hidden in the zygote's PID namespace
    assert seen["numpy"] == "2.0"


DAEMON = """
import os, time
r, w = os.pipe()
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        time.sleep(60)
        os._exit(0)
    os._exit(0)
time.sleep(0.2)
daemon = None
"""


def test_a_double_forked_daemon_dies_with_its_worker(zygote, tmp_path):
    # Run as the grader's own uid (no uid drop to kill by), so only the zygote, the daemon's
    # subreaper, can find it once its parent has gone.
    p = start(
        zygote,
        tmp_path,
        [DAEMON, "import os\npid = os.getpid()"],
        drop_privileges=False,
    )
    try:
        assert p.worker is not None
        worker = p.worker.pid  # our pid of it (it has another in the zygote's PID namespace)
        # The zygote's other child, the worker forked ahead for the next student, leads a
        # session of its own; the daemon's session is that of its parent, now gone.
        daemons = [
            int(e)
            for e in os.listdir("/proc")
            if e.isdigit()
            and _parent(int(e)) == zygote.forker_pid
            and int(e) != worker
            and _session(int(e)) != int(e)
        ]
        assert daemons, "the daemon was not handed to the zygote"
    finally:
        p.close()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(_alive(d) for d in daemons):
        time.sleep(0.05)
    assert [d for d in daemons if _alive(d)] == []


def _parent(pid: int) -> int:
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return -1
    return int(stat[stat.rfind(b")") + 2 :].split()[1])


def _session(pid: int) -> int:
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return -1
    return int(stat[stat.rfind(b")") + 2 :].split()[3])


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return False
    return state[state.rfind(b")") + 2 : state.rfind(b")") + 3] != b"Z"
