"""The hostile bank's harness: grade the attack table (`attacks.py`) in every mode, check it.

One batch grades every attack (plus honest controls) with the real `autograder grade`, two
judges, the real jail, in each of three modes, with the same assertions:

- `root`: the grader runs as root (namespaces, the uid drop, and the unprivileged layers);
- `user`: as a normal user, user namespaces allowed;
- `user-no-userns`: as a normal user under a seccomp filter that refuses user namespaces, as
  Docker's default profile does (what a JupyterHub pod gives), installed by `launch.py`.

Run as root, the test makes the user modes real: a uid of the test's own (no account
needed), the course copy chowned to it, and `launch.py` exposing the interpreter (under a
private home such as /root) and the course (under pytest's private temp dir) to it in a mount
namespace of its own. Run as a normal user, it grades as itself in the user modes and skips
root; the attacks that could hurt the machine if the jail failed (fork floods, kill -1) then
run only where the grader has a uid of its own.

Before each batch, the course tree is hashed and canary files holding a secret are planted
outside the course (a private temp dir, /tmp, /var/tmp, /dev/shm); a TCP and a UDP server listen
on 127.0.0.1 and an abstract UNIX socket is bound. Each attack is then one test that checks its
own rows: the items it attacks score no more than the same notebook without the attack code
would (`zero`), the items the suite can still reach keep their points (`keep`), and the common
guarantees hold: the batch finished, nothing outside a scratch dir changed, no canary, secret
or line of the hidden suite or the references reached a score, message, journal row, report or
the console, no process was left behind, nothing reached the servers. The course's time limits
are lowered (see `FAST_LIMITS`) so the endless loops cost seconds, not minutes.
"""

from __future__ import annotations

import csv
import hashlib
import os
import re
import secrets
import shutil
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import pytest
import sqlalchemy as sa
from attacks import (
    ATTACKS,
    CANARY_NAME,
    FAST_LIMITS,
    PREVIOUS,
    PROBE_ANSWER_CELL,
    PROBE_CHECK_CELL,
    PWNED,
    REST,
    A,
    Attack,
)

import autograder
from autograder.course import synth
from autograder.course.layout import Course, load_course
from autograder.sandbox.jail import interpreter_paths
from autograder.store.gradebook import GradeStore, runs_table
from autograder.views import feedback, report

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
PACKAGE = Path(autograder.__file__).resolve().parent
LAUNCH = Path(__file__).resolve().parent / "launch.py"
IS_ROOT = os.geteuid() == 0
MODES = ("root", "user", "user-no-userns")
#: Some of them only (comma-separated), to rerun one mode while working on it.
RUN_MODES = [m for m in os.environ.get("AUTOGRADER_HOSTILE_MODES", ",".join(MODES)).split(",") if m in MODES]
#: The normal user of the user modes when the test runs as root: a uid of this test run's own.
HOSTILE_UID = 60_000 + os.getpid() % 5_000

# --- the batch -------------------------------------------------------------------------------

#: With a uid of its own (root, or the test's user), a grader whose jail failed could hurt only
#: itself; run as the developer's own uid, the attacks that could hurt the machine are left out.
ACTIVE = [a for a in ATTACKS if IS_ROOT or not a.root_only]
CONTROLS = ("ctl_full", "ctl_bug", "ctl_stub")


@dataclass
class Bank:
    """Everything the batch left behind, gathered once for all tests."""

    mode: str
    course: Course
    returncode: int
    command: str
    console: str
    rows: dict[tuple[str, str], dict[str, str]]
    runs: dict[str, tuple[str, str]]  # student -> the submission's status and message
    points: dict[str, float]
    hashes_before: dict[str, str]
    hashes_after: dict[str, str]
    canaries: dict[Path, tuple[str, int, int]]
    canaries_after: dict[Path, tuple[str, int, int] | None]
    secret: str
    outputs: dict[str, str]  # where -> text, for the leak checks
    hidden_lines: list[str]
    connections: list[bytes]
    strays: list[str]  # files an attack left outside its folder
    survivors: list[str]  # processes an attack left running
    cells: dict[tuple[str, str], dict[str, Any]]
    probes: dict[str, str]  # attack -> what its probe's quiz cell quoted
    nbgrader_totals: dict[str, float]
    seconds: float
    written: dict[str, str]


def _tree_hashes(root: Path, names: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name in names:
        top = root / name
        paths = [top] if not top.is_dir() or top.is_symlink() else sorted(top.rglob("*"))
        for path in paths:
            if "__pycache__" in path.parts:
                continue
            st = path.lstat()
            if stat.S_ISLNK(st.st_mode):
                digest = "link:" + os.readlink(path)
            elif stat.S_ISREG(st.st_mode):
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
            else:
                digest = "dir"
            out[str(path)] = f"{digest}:{st.st_mode:o}:{st.st_uid}"
    return out


def _hidden_lines(course: Course) -> list[str]:
    """Non-trivial lines of the hidden suite and the references, whitespace collapsed."""
    files = sorted((course.assignments_dir / A).glob("test_*.py")) + sorted(
        (PACKAGE / "judge" / "reference").glob("*.py")
    )
    lines = set()
    for path in files:
        for line in path.read_text().splitlines():
            text = " ".join(line.split())
            if len(text) >= 24 and not text.startswith(("import ", "from ", "#", '"""', "@pytest.mark")):
                lines.add(text)
    return sorted(lines)


def _listeners(abstract: bytes) -> tuple[list[socket.socket], list[bytes], threading.Event]:
    """A TCP and a UDP server on 127.0.0.1 and an abstract UNIX socket: what reaches any is a leak."""
    tcp = socket.create_server(("127.0.0.1", 0))
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    unix.bind(abstract)
    unix.listen()
    got: list[bytes] = []
    stop = threading.Event()

    def serve(server: socket.socket, kind: bytes) -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                if server.type == socket.SOCK_DGRAM:
                    got.append(kind + b":" + server.recv(100))
                    continue
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(1)
                try:
                    got.append(kind + b":" + conn.recv(100))
                except OSError:
                    got.append(kind)

    for server, kind in ((tcp, b"tcp"), (udp, b"udp"), (unix, b"abstract")):
        threading.Thread(target=serve, args=(server, kind), daemon=True).start()
    return [tcp, udp, unix], got, stop


def _build(course: Course, attack: Attack, *, tokens: dict[str, str], solution: dict[str, str]) -> None:
    spec = course.assignment(A)
    quiz = synth.quiz_answers(spec, correct={q.id for q in spec.quiz} if attack.quiz_right else set())
    answers = {**solution, **quiz}
    if attack.probe:  # the attack sets the probe's answer itself
        answers["answer_mse_value"] = "# (answered elsewhere)\n"
    for grade_id, source in attack.answers.items():
        answers[grade_id] = source
    nb = synth.build_notebook(course.release_notebook(A), {k: _fill(v, tokens) for k, v in answers.items()})
    for where, source in attack.cells:
        cell = nbformat.v4.new_code_cell(_fill(source, tokens))
        if where == "top":
            nb.cells.insert(2, cell)
        elif where == "end" and attack.probe:  # before the probe's quiz cell, which reports it
            at = next(
                i
                for i, c in enumerate(nb.cells)
                if c.metadata.get("nbgrader", {}).get("grade_id") == PROBE_ANSWER_CELL
            )
            nb.cells.insert(at, cell)
        elif where == "end":
            nb.cells.append(cell)
        else:
            at = next(
                i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == where
            )
            nb.cells.insert(at + 1, cell)
    path = synth.write_submission(course, A, attack.id, nb)
    for name, what in attack.files.items():
        os.symlink(_fill(what.removeprefix("link:"), tokens), path.parent / name)


def _fill(text: str, tokens: dict[str, str]) -> str:
    for key, value in tokens.items():
        text = text.replace(f"@{key}@", value)
    return text


def _survivors(uid: int | None) -> list[str]:
    """Processes an attack named (hostile-*) and, for a grader of its own uid, any of that uid."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                comm = Path(f"/proc/{entry}/comm").read_text().strip()
                owner = os.stat(f"/proc/{entry}").st_uid
            except OSError:
                continue
            if comm.startswith("hostile-") or (uid is not None and owner == uid):
                found.append(f"{entry}:{comm}")
    return found


def _strays(course: Course) -> list[str]:
    places = [Path("/tmp"), Path("/var/tmp"), Path("/dev/shm"), Path("/run/lock"), Path("/"), course.root]
    places += [course.root.parent, course.root.parent.parent]
    found = []
    for place in places:
        try:
            found += [str(p) for p in place.iterdir() if PWNED in p.name]
        except OSError:
            continue
    return found


def _command(mode: str, root: Path, home: Path) -> tuple[list[str], int | None]:
    """The command line that grades the bank in `mode`, and the uid it runs as (None: ours)."""
    grade = [sys.executable, "-m", "autograder", "--course", str(root), "grade", A, "--workers", "2"]
    if mode == "root":
        if not IS_ROOT:
            pytest.skip("the root mode needs the test to run as root")
        return grade, None
    launch = [sys.executable, str(LAUNCH)]
    uid = None
    if IS_ROOT:
        uid = HOSTILE_UID
        launch += ["--uid", str(uid)]
        for path in [*interpreter_paths(), str(root), str(home)]:
            launch += ["--expose", path]
    if mode == "user-no-userns":
        launch.append("--no-userns")
    return [*launch, "--", *grade], uid


def _chown_tree(top: Path, uid: int) -> None:
    os.chown(top, uid, uid)
    for path in top.rglob("*"):
        os.chown(path, uid, uid, follow_symlinks=False)


@pytest.fixture(scope="module", params=RUN_MODES)
def bank(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, released_template: Path
) -> Iterator[Bank]:
    mode = request.param
    base = tmp_path_factory.mktemp(f"hostile-{mode}")
    root = base / "course"
    home = base / "home"
    home.mkdir()
    command, uid = _command(mode, root, home)
    shutil.copytree(released_template, root)
    (root / "assignments" / A / "assignment.toml").write_text(FAST_LIMITS)
    course = load_course(root)
    spec = course.assignment(A)
    solution = synth.solution_sources(course, spec)

    secret = "HOSTILE-" + secrets.token_hex(16)
    canary = base / "private" / CANARY_NAME
    canary.parent.mkdir()
    canary.write_text(secret)
    canary_paths = [canary]
    for shared in ("/tmp", "/var/tmp", "/dev/shm"):
        path = Path(shared) / CANARY_NAME
        path.write_text(secret)
        path.chmod(0o644)  # world-readable, as files in /tmp often are
        canary_paths.append(path)
    # Course files that hold secrets of their own: the config, a report of an earlier run.
    with (root / "nbgrader_config.py").open("a") as f:
        f.write(f"\n# {secret}\n")
    previous = root / "reports" / A / PREVIOUS
    previous.parent.mkdir(parents=True)
    previous.write_text(f"student,secret\nsomeone,{secret}\n")

    abstract = f"\0autograder-hostile-{os.getpid()}-{mode}".encode()
    servers, connections, stop = _listeners(abstract)
    tokens = {
        "ROOT": str(root),
        "PORT": str(servers[0].getsockname()[1]),
        "UDP_PORT": str(servers[1].getsockname()[1]),
        "ABSTRACT": abstract[1:].decode(),
        "CANARY": str(canary),
        "CANARY_NAME": CANARY_NAME,
    }

    # Honest controls: the solution, a known bug, nothing answered.
    for attack in (Attack("ctl_full"),):
        _build(course, attack, tokens=tokens, solution=solution)
    bug = next(m for m in synth.modules(spec, "mutants") if m.name == "softmax_no_max_shift")
    _build(course, Attack("ctl_bug", answers=bug.cells), tokens=tokens, solution=solution)
    stub = synth.build_notebook(course.release_notebook(A), {})
    synth.write_submission(course, A, "ctl_stub", stub)
    for attack in ACTIVE:
        _build(course, attack, tokens=tokens, solution=solution)
    if uid is not None:
        _chown_tree(root, uid)
        _chown_tree(home, uid)

    watched = ["source", "assignments", "release", "submitted", "nbgrader_config.py"]
    before = _tree_hashes(root, watched) | _tree_hashes(PACKAGE.parent, [PACKAGE.name])
    canaries = {p: (p.read_text(), p.stat().st_mode, p.stat().st_uid) for p in canary_paths}

    # The judges get the secret in their environment; workers must never see it.
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "USER": "hostile",
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "HOSTILE_SECRET": secret,
    }
    start = time.monotonic()
    try:
        done = subprocess.run(
            command, env=env, cwd=root, capture_output=True, text=True, timeout=900, check=False
        )
        seconds = time.monotonic() - start
        time.sleep(0.5)  # a daemon that survived would strike now
        survivors = _survivors(uid)
        strays = _strays(course)
        after = _tree_hashes(root, watched) | _tree_hashes(PACKAGE.parent, [PACKAGE.name])
        canaries_after: dict[Path, tuple[str, int, int] | None] = {}
        for p in canary_paths:
            try:
                canaries_after[p] = (p.read_text(), p.stat().st_mode, p.stat().st_uid)
            except OSError:
                canaries_after[p] = None

        written: dict[str, str] = {}  # what else the class would see: the report, feedback pages
        for name, make in (
            ("report", lambda: report.write_report(course, A)),
            ("feedback", lambda: feedback.write_feedback(course, A)),
        ):
            try:
                make()
                written[name] = "ok"
            except Exception as exc:
                written[name] = f"{type(exc).__name__}: {exc}"
        scores_csv = course.reports_dir / A / "scores.csv"
        rows: dict[tuple[str, str], dict[str, str]] = {}
        if scores_csv.is_file():
            with scores_csv.open() as f:
                rows = {(r["student"], r["item"]): r for r in csv.DictReader(f)}
        store = GradeStore(course)
        try:
            journal = store.item_rows(A)
            cell_rows = store.cell_rows(A)
            cells = {(r["student"], r["grade_id"]): r for r in cell_rows}
            # The probe's quiz cell checks the answer the attack set, and quotes it when it fails
            # (quiz answers are graded from the notebook's text, so the row itself carries nothing).
            probes = {
                r["student"]: found.group(1)
                for r in cell_rows
                if r["grade_id"] == PROBE_CHECK_CELL
                and (found := re.search(r"'(probe:[^']*)'", str(r["error"] or "")))
            }
            totals = store.nbgrader_totals(A)
            with store.engine.connect() as conn:
                query = sa.select(runs_table).where(runs_table.c.assignment == A)
                runs = {r.student: (r.status, r.message) for r in conn.execute(query)}
        finally:
            store.close()
        outputs = {"journal": "\n".join(f"{r['message']} {r['failing_input']}" for r in journal)}
        outputs["journal cells"] = "\n".join(str(r["error"]) for r in cells.values())
        outputs["console"] = done.stdout + done.stderr
        for folder in (course.reports_dir, course.autograded_dir, course.feedback_dir):
            for path in sorted(folder.rglob("*")) if folder.is_dir() else []:
                if path.is_file() and path.name != PREVIOUS:
                    outputs[str(path)] = path.read_bytes().decode("utf-8", errors="replace")
        yield Bank(
            mode=mode,
            course=course,
            returncode=done.returncode,
            command=" ".join(command),
            console=done.stdout + done.stderr,
            rows=rows,
            runs=runs,
            points={i.name: i.points for i in spec.items} | {q.item: q.points for q in spec.quiz},
            hashes_before=before,
            hashes_after=after,
            canaries=canaries,
            canaries_after=canaries_after,
            secret=secret,
            outputs=outputs,
            hidden_lines=_hidden_lines(course),
            connections=connections,
            strays=strays,
            survivors=survivors,
            cells=cells,
            probes=probes,
            nbgrader_totals=totals,
            seconds=seconds,
            written=written,
        )
    finally:
        stop.set()
        for server in servers:
            server.close()
        for p in canary_paths:
            p.unlink(missing_ok=True)
        for stray in _strays(course):
            Path(stray).unlink(missing_ok=True)


# --- the common guarantees -------------------------------------------------------------------


def _leaks(bank: Bank, text: str) -> list[str]:
    flat = " ".join(text.split())
    found = [line for line in bank.hidden_lines if line in flat]
    if bank.secret in text:
        found.append("the canary secret")
    return found


def test_the_batch_finished_with_a_row_for_every_item_of_every_student(bank):
    students = {*CONTROLS, *(a.id for a in ACTIVE)}
    assert bank.returncode == 0, bank.command + "\n" + bank.console[-2000:]
    assert f"graded {len(students)} submissions of {A}" in bank.console
    assert {s for s, _ in bank.rows} == students
    assert len(bank.rows) == len(students) * len(bank.points)
    assert set(bank.runs) == students
    assert {s: r for s, r in bank.runs.items() if r[0] != "graded"} == {}


def test_honest_controls_score_exactly_as_without_the_attackers(bank):
    full = {item: float(bank.rows["ctl_full", item]["score"]) for item in bank.points}
    assert full == bank.points
    bug = {item: float(bank.rows["ctl_bug", item]["score"]) for item in bank.points}
    assert bank.rows["ctl_bug", "softmax"]["diagnosis"] == "softmax.no_max_shift"
    assert 0 < bug.pop("softmax") < bank.points["softmax"]
    assert bug == {k: v for k, v in bank.points.items() if k != "softmax"}
    assert all(float(bank.rows["ctl_stub", item]["score"]) == 0 for item in bank.points)
    assert bank.nbgrader_totals["ctl_full"] == sum(bank.points.values())
    assert bank.nbgrader_totals["ctl_stub"] == 0


def _changed(bank: Bank) -> list[str]:
    """Files of the course or the package whose bytes, mode or owner changed in the batch."""
    changed = sorted(
        k
        for k in bank.hashes_before.keys() | bank.hashes_after.keys()
        if bank.hashes_before.get(k) != bank.hashes_after.get(k)
    )
    # The package may be edited by a developer while this runs; a worker could only have
    # changed it through a file it may write (group/world-writable) or one it owns.
    package = str(PACKAGE) + "/"
    return [k for k in changed if not (k.startswith(package) and _writable_only_by_us(Path(k)))]


def test_nothing_of_the_course_or_the_package_changed(bank):
    assert _changed(bank) == []


def _writable_only_by_us(path: Path) -> bool:
    try:
        st = path.lstat()
    except FileNotFoundError:
        return True  # removed by hand
    return st.st_uid == os.getuid() and not st.st_mode & 0o022


def test_canaries_outside_the_course_are_untouched_and_nothing_was_left_behind(bank):
    assert bank.canaries_after == bank.canaries
    assert bank.strays == []
    assert bank.survivors == []
    assert bank.connections == []


@pytest.mark.parametrize("where", ["journal", "journal cells", "console", "reports"])
def test_no_hidden_line_or_secret_reached_any_output(bank, where):
    texts = {
        k: v for k, v in bank.outputs.items() if k == where or (where == "reports" and k.startswith("/"))
    }
    assert texts
    leaked = {k: _leaks(bank, v) for k, v in texts.items()}
    assert {k: v for k, v in leaked.items() if v} == {}


# --- one test per attack ---------------------------------------------------------------------


@pytest.mark.parametrize("attack", ATTACKS, ids=[a.id for a in ATTACKS])
def test_attack(bank, attack):
    if attack not in ACTIVE:
        pytest.skip("needs the uid drop (root) to be safe on this machine")
    rows = {item: bank.rows[attack.id, item] for item in bank.points}  # the batch finished it
    score = {item: float(r["score"]) for item, r in rows.items()}
    messages = " ".join(r["message"] for r in rows.values())
    assert not _leaks(bank, messages)
    for item in attack.zero:
        assert score[item] == 0, (item, rows[item]["status"], rows[item]["message"])
    keep = [i for i in bank.points if i not in attack.zero] if attack.keep == REST else list(attack.keep)
    lost = {i: (rows[i]["status"], rows[i]["message"][:300]) for i in keep if score[i] != bank.points[i]}
    assert lost == {}
    # Never more than the points an item is worth, whatever the worker said.
    assert all(score[i] <= bank.points[i] for i in bank.points)
    # nbgrader's gradebook (what `nbgrader export` sums) holds exactly the judge's scores.
    assert bank.nbgrader_totals[attack.id] == pytest.approx(sum(score.values()))
    if attack.probe:
        assert re.search(attack.probe, bank.probes.get(attack.id, "")), bank.probes.get(attack.id)
    layer, stricter = attack.probe_with
    if layer and layer in _layers_in_force(bank):
        assert re.search(stricter, bank.probes.get(attack.id, "")), (layer, bank.probes.get(attack.id))
    # What no attack may do, checked for the whole batch (a stray file or process names no
    # attacker): the global tests above say which guarantee broke.
    assert _changed(bank) == [] and bank.canaries_after == bank.canaries
    assert bank.strays == [] and bank.survivors == [] and bank.connections == []


def _layers_in_force(bank: Bank) -> set[str]:
    """The layers the batch's isolation line (its first) lists as in force."""
    line = next((ln for ln in bank.console.splitlines() if "isolation: " in ln), "")
    in_force = line.split("isolation: ", 1)[-1].split(";", 1)[0]
    return {part.strip().split(" ")[0] for part in in_force.split(",")}


def test_the_batch_says_which_layers_were_in_force(bank):
    # What the per-mode assertions (`Attack.probe_with`) rest on: root and a user with user
    # namespaces run their zygotes in a PID namespace; without user namespaces there is none.
    assert ("pidns" in _layers_in_force(bank)) == (bank.mode != "user-no-userns"), bank.console[:500]


def test_an_input_transformer_does_not_reach_the_restored_test_cells(bank):
    if ("ipython_input_transformers", "test_softmax") not in bank.cells:
        pytest.fail("no journal row for the test_softmax cell")
    assert bank.cells["ipython_input_transformers", "test_softmax"]["ok"] is False


def test_test_cells_passed_by_patched_selfchecks_are_a_claim_not_a_score(bank):
    # Whatever nbgrader's own test cell said in the worker (the student's claim, kept in the
    # journal), the gradebook holds the judge's 0.
    assert ("patched_selfchecks_and_edited_test_cell", "test_mse") in bank.cells
    assert float(bank.rows["patched_selfchecks_and_edited_test_cell", "mse"]["score"]) == 0
    total = sum(float(bank.rows["patched_selfchecks_and_edited_test_cell", i]["score"]) for i in bank.points)
    assert bank.nbgrader_totals["patched_selfchecks_and_edited_test_cell"] == pytest.approx(total)


def test_the_report_and_feedback_pages_were_written_and_carry_no_live_markup(bank):
    # The student's markup (markup_in_messages) reaches the pages only escaped.
    assert bank.written == {"report": "ok", "feedback": "ok"}
    pages = {k: v for k, v in bank.outputs.items() if k.endswith(".html")}
    assert any("/feedback/markup_in_messages/" in k for k in pages)
    live = {k for k, v in pages.items() if re.search(r"<script>alert|<img src=x onerror", v, re.IGNORECASE)}
    assert live == set()
