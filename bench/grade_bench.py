"""Benchmark: `autograder grade` against `nbgrader autograde` on the same synthetic ps4 batch.

    ./dev bench                      # N=100, nbgrader and autograder, 1..all workers
    ./dev bench --n 20 --skip-nbgrader
    ./dev bench --profile            # also cProfile one in-process judge (bench/out/profile.txt)
    ./dev bench --repeat 3           # the README's figures: the best of three runs of each
    ./dev bench --hangs              # 5 % of the notebooks hang, against none (bench/hang_bench.py)
    ./dev bench --demo               # time `autograder demo` (bench/hang_bench.py)
    ./dev bench --modes user-no-userns --n 10 --skip-nbgrader   # one isolation mode, quickly

Isolation modes (`--modes`): the same batch graded as root, as a normal user, and as a normal
user without user namespaces (a seccomp filter refuses them, as in a Docker pod), each through
tests/hostile/launch.py as the hostile bank does; per mode, the overhead per submission beyond
the student code and the speed against nbgrader.

Each grader works on its own copy of one released course with the same N submissions, so
neither sees the other's gradebook writes. Prints a table and writes it to bench/out/results.md.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import shutil
import statistics
import sys
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import probe  # bench/ is on sys.path: it is the script's folder
import synthclass
from synthclass import ASSIGNMENT

from autograder.course.layout import Course
from autograder.sandbox.jail import interpreter_paths

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "bench" / "out"

# The targets the README quotes; the benchmark measures against them, it does not assume them.
SPEED_TARGET = 20.0  # x nbgrader autograde's throughput, all cores
OVERHEAD_TARGET_MS = 50.0  # per submission, beyond the student code's own run time
EFFICIENCY_TARGET = 0.8  # speedup / workers at the core count ("close to linear")
MODE_OVERHEAD_TARGET_MS = 40.0  # per submission beyond the student code, in every isolation mode
MODE_SPEED_TARGET = 30.0  # x nbgrader autograde, as a normal user
MODES = ("root", "user", "user-no-userns")
LAUNCH = REPO / "tests" / "hostile" / "launch.py"
#: The normal user of the user modes when the bench runs as root (outside the bank's 60000-64999).
BENCH_UID = 65_100
MEMORY_FLAT = 0.15  # peak at N within 15% of the peak at N/2 ("not with submissions")
MiB = 1 << 20


@dataclass
class Results:
    """Everything measured in one benchmark run."""

    n: int
    cores: int
    kind_of: dict[str, str]  # student id -> what kind of submission
    nbgrader: probe.CommandRun | None = None
    scaling: dict[int, probe.CommandRun] = field(default_factory=dict)
    half: dict[int, probe.CommandRun] = field(default_factory=dict)
    startup: probe.CommandRun | None = None  # `autograder grade --workers 1` on one submission
    startup_student: str = ""
    times: probe.StudentTimes | None = None
    agree: int = 0
    compared: int = 0
    disagreements: list[str] = field(default_factory=list)
    load: tuple[float, float] = (0.0, 0.0)
    #: mode -> (wall at the most workers on N, at --workers 1 on N, at --workers 1 on one)
    modes: dict[str, tuple[probe.CommandRun, probe.CommandRun, probe.CommandRun]] = field(
        default_factory=dict
    )


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    cores = os.cpu_count() or 1
    default_workers = sorted({1, cores, *(2**k for k in range(1, 8) if 2**k < cores)})
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=100, help="submissions in the batch [100]")
    p.add_argument("--skip-nbgrader", action="store_true", help="time autograder only (quick)")
    p.add_argument(
        "--workers-list",
        default=",".join(map(str, default_workers)),
        help="worker counts to time autograder with [1,2,4,..,cores]",
    )
    p.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="time each autograder run and the student code this often; keep the best",
    )
    p.add_argument("--profile", action="store_true", help="cProfile one in-process judge -> out/profile.txt")
    p.add_argument(
        "--modes",
        default=",".join(MODES if os.geteuid() == 0 else MODES[1:]),
        help="isolation modes to time (root needs root) [root,user,user-no-userns]; '' for none",
    )
    p.add_argument("--seed", type=int, default=4, help="the synthetic class's seed [4]")
    p.add_argument("--keep", action="store_true", help="keep the scratch course copies (printed)")
    args = p.parse_args(argv)
    args.workers = sorted({int(w) for w in args.workers_list.split(",") if w.strip()})
    if args.n < 2 or not args.workers or min(args.workers) < 1:
        p.error("--n must be at least 2 and every worker count at least 1")
    args.modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = [m for m in args.modes if m not in MODES]
    if unknown:
        p.error(f"--modes: no mode {', '.join(unknown)} (choose from {', '.join(MODES)})")
    if "root" in args.modes and os.geteuid() != 0:
        p.error("--modes root needs root; leave it out")
    return args


def say(text: str) -> None:
    print(f"bench: {text}", file=sys.stderr, flush=True)


def command_env() -> dict[str, str]:
    """This environment with the venv's scripts first on PATH (nbgrader runs alembic, jupyter)."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def run_nbgrader(course: Course) -> probe.CommandRun:
    argv = [str(Path(sys.executable).parent / "nbgrader"), "autograde", ASSIGNMENT, "--force"]
    return probe.run_command(
        "nbgrader autograde", argv, cwd=course.root, env=command_env(), log=OUT / "logs" / "nbgrader.log"
    )


def run_autograder(
    course: Course, workers: int, tag: str, repeat: int = 1, mode: str = ""
) -> probe.CommandRun:
    """`autograder grade --force --workers W`; the fastest of `repeat` runs; in isolation
    `mode` if one is named (see `in_mode`)."""
    argv = [
        str(Path(sys.executable).parent / "autograder"),
        *("--course", str(course.root), "grade", ASSIGNMENT, "--force", "--quiet"),
        *("--workers", str(workers)),
    ]
    env = command_env()
    if mode:
        argv = in_mode(mode, argv, course)
        env["HOME"] = str(course.root.parent / "home")
        env["USER"] = "bench"
    runs = [
        probe.run_command(
            f"autograder grade --workers {workers}" + (f" ({mode})" if mode else ""),
            argv,
            cwd=course.root,
            env=env,
            log=OUT / "logs" / f"autograder-{tag}-w{workers}.log",
        )
        for _ in range(max(1, repeat))
    ]
    return min(runs, key=lambda r: r.wall_s)


def in_mode(mode: str, argv: list[str], course: Course) -> list[str]:
    """`argv` run in isolation `mode`: as is for root; through the hostile bank's launcher,
    as `BENCH_UID` where we are root (as ourselves otherwise), for the user modes."""
    if mode == "root":
        if os.geteuid() != 0:
            raise SystemExit("bench: the root mode needs root (leave it out of --modes)")
        return argv
    launch = [sys.executable, str(LAUNCH)]
    if os.geteuid() == 0:
        launch += ["--uid", str(BENCH_UID)]
        for path in [*interpreter_paths(), str(course.root), str(course.root.parent / "home")]:
            launch += ["--expose", path]
    if mode == "user-no-userns":
        launch.append("--no-userns")
    return [*launch, "--", *argv]


def mode_course(template: Path, dest: Path, mode: str, keep: set[str] | None = None) -> Course:
    """A copy of the batch for `mode`, owned by the user that grades it, with a home beside it."""
    course = synthclass.clone(template, dest / "course", keep=keep)
    home = dest / "home"
    home.mkdir()
    if mode != "root" and os.geteuid() == 0:
        for top in (dest, course.root, home):
            os.chown(top, BENCH_UID, BENCH_UID)
        for path in [*course.root.rglob("*"), *home.rglob("*")]:
            os.chown(path, BENCH_UID, BENCH_UID, follow_symlinks=False)
    return course


def nbgrader_cell_scores(course: Course) -> dict[tuple[str, str], float]:
    """nbgrader's auto_score of every grade cell of every submission, from its gradebook."""
    from nbgrader.api import Gradebook

    gb = Gradebook(course.db_url, course_id=course.course_id)
    try:
        out = {}
        for sub in gb.find_assignment(ASSIGNMENT).submissions:
            for nb in sub.notebooks:
                for grade in nb.grades:
                    score = grade.auto_score
                    out[(sub.student.id, grade.name)] = math.nan if score is None else float(score)
        return out
    finally:
        gb.close()


def autograder_cell_scores(course: Course) -> dict[tuple[str, str], float]:
    """How nbgrader's test cells scored in autograder's workers (table autograder_cells)."""
    from autograder.store.gradebook import GradeStore

    store = GradeStore(course)
    try:
        return {
            (r["student"], r["grade_id"]): float(r["nbgrader_score"]) for r in store.cell_rows(ASSIGNMENT)
        }
    finally:
        store.close()


def compare(results: Results, nbgrader_course: Course, autograder_course: Course) -> None:
    theirs = nbgrader_cell_scores(nbgrader_course)
    ours = autograder_cell_scores(autograder_course)
    for key in sorted(ours):
        results.compared += 1
        if key in theirs and abs(theirs[key] - ours[key]) < 1e-9:
            results.agree += 1
        else:
            results.disagreements.append(
                f"{key[0]} {key[1]}: nbgrader {theirs.get(key, 'missing')}, autograder {ours[key]:g}"
            )


def measure(args: argparse.Namespace, scratch: Path) -> Results:
    """Build the batch, then time every grader on its own copy of it."""
    say(f"building {args.n} submissions in {scratch}")
    template, students = synthclass.build_template(REPO, scratch / "template", args.n, seed=args.seed)
    results = Results(args.n, os.cpu_count() or 1, {s.student_id: s.kind for s in students})
    results.load = (os.getloadavg()[0], 0.0)
    if not args.skip_nbgrader:
        nb_course = synthclass.clone(template.root, scratch / "nbgrader")
        say("nbgrader autograde (one kernel per notebook; minutes)")
        results.nbgrader = run_nbgrader(nb_course)
    ag_course = synthclass.clone(template.root, scratch / "autograder")
    for w in args.workers:
        say(f"autograder grade --workers {w}")
        results.scaling[w] = run_autograder(ag_course, w, "n", args.repeat)
    if not args.skip_nbgrader:
        compare(results, nb_course, ag_course)
    half = synthclass.clone(
        template.root, scratch / "half", keep={s.student_id for s in students[: args.n // 2]}
    )
    for w in sorted({min(args.workers), max(args.workers)}):
        say(f"autograder grade --workers {w} on N/2 (memory)")
        results.half[w] = run_autograder(half, w, "half", args.repeat)
    results.startup_student = students[1].student_id if args.n > 1 else students[0].student_id
    one = synthclass.clone(template.root, scratch / "one", keep={results.startup_student})
    say("autograder grade --workers 1 on one submission (fixed start-up)")
    results.startup = run_autograder(one, 1, "one", args.repeat)
    top = max(args.workers)
    for mode in args.modes:
        say(f"isolation mode {mode}: --workers {top} and 1 on N, --workers 1 on one")
        course = mode_course(template.root, scratch / f"mode-{mode}", mode)
        one_course = mode_course(
            template.root, scratch / f"mode-{mode}-one", mode, keep={results.startup_student}
        )
        results.modes[mode] = (
            run_autograder(course, top, f"{mode}-n", args.repeat, mode),
            run_autograder(course, 1, f"{mode}-n1", args.repeat, mode),
            run_autograder(one_course, 1, f"{mode}-one", args.repeat, mode),
        )
    say("one judge in this process, timing the student code" + (" (and profiling)" if args.profile else ""))
    # As the commands above keep their fastest run, the student code keeps its fastest: the
    # overhead is then the difference of two best cases, not a best case less a noisy one.
    runs = [
        probe.instrumented_grade(ag_course, ASSIGNMENT, profile=args.profile)
        for _ in range(1 if args.profile else max(1, args.repeat))
    ]
    results.times = min(runs, key=lambda t: sum(t.student_s.values()))
    results.load = (results.load[0], os.getloadavg()[0])
    return results


# --- the report ------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "MET" if ok else "NOT MET"


def grader_rows(r: Results) -> list[str]:
    rows = [f"{'grader':34} {'wall s':>8} {'subs/s':>8} {'peak RSS MiB':>13} {'procs':>6}  exit"]
    runs = ([r.nbgrader] if r.nbgrader else []) + [r.scaling[w] for w in sorted(r.scaling)]
    for run in runs:
        rows.append(
            f"{run.label:34} {run.wall_s:8.1f} {r.n / run.wall_s:8.2f} {run.peak_rss / MiB:13.0f} "
            f"{run.peak_procs:6d}  {run.returncode}"
        )
    rows.append(f"(each command's output: {OUT.relative_to(REPO)}/logs/)")
    return rows


def speed_rows(r: Results) -> list[str]:
    if r.nbgrader is None:
        return ["speed: nbgrader skipped (--skip-nbgrader)"]
    top = max(r.scaling)
    ratio = r.nbgrader.wall_s / r.scaling[top].wall_s
    one = r.nbgrader.wall_s / r.scaling[min(r.scaling)].wall_s
    rows = [
        f"speed: nbgrader wall / autograder wall = {ratio:.1f}x at --workers {top}, "
        f"{one:.1f}x at --workers {min(r.scaling)}   [target >= {SPEED_TARGET:g}x on 2 cores: "
        f"{verdict(ratio >= SPEED_TARGET)}]",
        f"scores: nbgrader test cells with the same score under both graders: {r.agree}/{r.compared}   "
        f"[target identical: {verdict(r.compared > 0 and r.agree == r.compared)}]",
    ]
    rows += [f"  differs: {d}" for d in r.disagreements[:20]]
    if len(r.disagreements) > 20:
        rows.append(f"  ... and {len(r.disagreements) - 20} more")
    return rows


def overhead_rows(r: Results) -> list[str]:
    t = r.times
    if t is None or not t.student_s:
        return ["overhead: not measured"]
    student = t.student_s
    total = sum(student.values())
    w1 = r.scaling.get(1)
    inside = [t.judged_s[s] - student[s] for s in student]
    rows = [
        "overhead per submission, one judge (student time = GradeResult.student_s: the worker's own",
        "  perf_counter around each cell's exec and each call of a student function; all student code",
        "  here is CPU-bound, so this is its CPU time on an idle core):",
        f"  student code: total {total:.2f} s, median {1000 * statistics.median(student.values()):.1f} ms, "
        f"max {1000 * max(student.values()):.0f} ms",
        f"  inside the judge, duration_s - student: median {1000 * statistics.median(inside):.1f} ms, "
        f"mean {1000 * statistics.mean(inside):.1f} ms, max {1000 * max(inside):.0f} ms",
        f"  in-process grade(workers=1){' under cProfile' if t.stats else ''}: wall {t.wall_s:.1f} s -> "
        f"{1000 * (t.wall_s - total) / r.n:.1f} ms/submission beyond the student code",
    ]
    slow = [t.student_s[s] for s in t.student_s if r.kind_of.get(s) == "slow"]
    if slow and slow[0] < 0.3:
        rows.append(
            f"  WARNING: the slow notebook's student time is only {1000 * slow[0]:.0f} ms: the student "
            "clock (GradeResult.student_s) no longer sees the cells run; the worker changed?"
        )
    rows += kind_rows(r, t)
    if w1 is not None:
        end = 1000 * (w1.wall_s - total) / r.n
        rows.append(
            f"  amortised, (wall of `autograder grade --workers 1` - student total) / N = {end:.1f} ms"
        )
    if w1 is not None and r.startup is not None:
        one = t.student_s.get(r.startup_student, 0.0)
        marginal = 1000 * ((w1.wall_s - r.startup.wall_s) - (total - one)) / (r.n - 1)
        rows += [
            f"  fixed start-up, `autograder grade --workers 1` on 1 submission: {r.startup.wall_s:.1f} s",
            f"  marginal, ((wall N - wall 1) - (student N - student 1)) / (N - 1) = {marginal:.1f} ms   "
            f"[target <= {OVERHEAD_TARGET_MS:g} ms: {verdict(marginal <= OVERHEAD_TARGET_MS)}]",
            f"  the same in CPU time of all the command's processes (judge, zygote, workers): "
            f"{1000 * ((w1.cpu_s - r.startup.cpu_s) - (total - one)) / (r.n - 1):.1f} ms",
        ]
    return rows


def mode_rows(r: Results) -> list[str]:
    """Overhead and speed in each isolation mode (root, a normal user, one without userns)."""
    if not r.modes:
        return ["isolation modes: none timed (--modes '')"]
    t = r.times
    rows = [
        "isolation modes: overhead = ((wall N - wall 1) - (student N - student 1)) / (N - 1) at --workers 1;",
        "  cpu = the same with the CPU time of every process of the command (judge, zygote, workers)",
        "  for its wall: what a submission costs beyond its student code on a machine with no CPU to",
        "  spare; speed = nbgrader wall / wall at the most workers",
        f"  {'mode':16} {'wall N s':>9} {'overhead ms':>12} {'cpu ms':>7}  {'speed x':>8}  exit",
    ]
    for mode, (top, n1, one) in r.modes.items():
        overhead = cpu = float("nan")
        if t is not None and t.student_s and r.n > 1:
            total = sum(t.student_s.values())
            first = t.student_s.get(r.startup_student, 0.0)
            overhead = 1000 * ((n1.wall_s - one.wall_s) - (total - first)) / (r.n - 1)
            cpu = 1000 * ((n1.cpu_s - one.cpu_s) - (total - first)) / (r.n - 1)
        speed = r.nbgrader.wall_s / top.wall_s if r.nbgrader else float("nan")
        speed_ok = (
            ""
            if mode == "root" or not r.nbgrader
            else f" [>= {MODE_SPEED_TARGET:g}x: {verdict(speed >= MODE_SPEED_TARGET)}]"
        )
        code = max(top.returncode, n1.returncode, one.returncode)
        overhead_ok = verdict(overhead <= MODE_OVERHEAD_TARGET_MS)
        rows.append(
            f"  {mode:16} {top.wall_s:9.1f} {overhead:12.1f} {cpu:7.1f}  {speed:8.1f}  {code}"
            f"   [overhead <= {MODE_OVERHEAD_TARGET_MS:g} ms: {overhead_ok}]{speed_ok}"
        )
    return rows


def kind_rows(r: Results, t: probe.StudentTimes) -> list[str]:
    """Median student time and judge overhead for each kind of submission."""
    by_kind: dict[str, list[str]] = {}
    for sid in t.student_s:
        by_kind.setdefault(r.kind_of.get(sid, "?"), []).append(sid)
    rows = [f"  {'kind':12} {'n':>4} {'student ms':>11} {'judge overhead ms':>18}  (medians)"]
    for kind, ids in sorted(by_kind.items()):
        student = statistics.median(t.student_s[s] for s in ids)
        judge = statistics.median(t.judged_s[s] - t.student_s[s] for s in ids)
        rows.append(f"  {kind:12} {len(ids):4d} {1000 * student:11.0f} {1000 * judge:18.0f}")
    return rows


def scaling_rows(r: Results) -> list[str]:
    base = r.scaling[min(r.scaling)]
    rows = [
        f"scaling on N={r.n} (whole command, start-up included):",
        "  workers   wall s   subs/s  speedup  efficiency",
    ]
    for w, run in sorted(r.scaling.items()):
        speedup = base.wall_s / run.wall_s * min(r.scaling)
        rows.append(f"  {w:7d} {run.wall_s:8.1f} {r.n / run.wall_s:8.2f} {speedup:8.2f} {speedup / w:11.2f}")
    top = min(max(r.scaling), r.cores)
    if min(r.scaling) == 1 and top > 1 and top in r.scaling:
        eff = base.wall_s / r.scaling[top].wall_s / top
        rows.append(
            f"  [target close to linear up to {r.cores} cores (efficiency >= {EFFICIENCY_TARGET:g} at "
            f"{top}): {verdict(eff >= EFFICIENCY_TARGET)}]"
        )
    return rows


def memory_rows(r: Results) -> list[str]:
    rows = [
        "peak memory (summed RSS of the command's process tree, sampled every 50 ms; pages shared",
        "  copy-on-write by forks are counted once per process, so this overstates):",
        f"  workers   N={r.n:<4} MiB   N={r.n // 2:<4} MiB   ratio",
    ]
    flat, grows = True, True
    for w in sorted(r.half):
        full, half = r.scaling[w].peak_rss, r.half[w].peak_rss
        rows.append(f"  {w:7d} {full / MiB:12.0f} {half / MiB:12.0f} {full / max(half, 1):8.2f}")
        flat &= full <= half * (1 + MEMORY_FLAT)
    ws = sorted(r.half)
    if len(ws) > 1:
        grows = r.scaling[ws[-1]].peak_rss > r.scaling[ws[0]].peak_rss
    rows.append(
        f"  [target grows with workers, not submissions (N vs N/2 within {100 * MEMORY_FLAT:g}%): "
        f"{verdict(flat and grows)}]"
    )
    return rows


def render(r: Results) -> str:
    head = [
        f"autograder benchmark: {ASSIGNMENT}, N={r.n} synthetic submissions, {r.cores} cores, "
        f"Python {platform.python_version()}, load average {r.load[0]:.2f} before / {r.load[1]:.2f} after",
        "mix: " + ", ".join(f"{k} {v}" for k, v in sorted(Counter(r.kind_of.values()).items())),
        "",
    ]
    if max(r.load) > 0.5 * r.cores:
        head.insert(
            2,
            f"WARNING: this machine was busy (load average up to {max(r.load):.1f} on {r.cores} cores): "
            "wall times are inflated and noisy; run again on an idle machine to quote them.",
        )
    blocks = [grader_rows(r), speed_rows(r), overhead_rows(r), mode_rows(r), scaling_rows(r), memory_rows(r)]
    return "\n".join(head + [line for b in blocks for line in [*b, ""]]).rstrip() + "\n"


def write_outputs(text: str, times: probe.StudentTimes | None) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "results.md").write_text(
        "# Benchmark results\n\nWritten by `./dev bench` (bench/grade_bench.py).\n\n```text\n"
        + text
        + "```\n",
        encoding="utf-8",
    )
    if times is not None and times.stats is not None:
        (OUT / "profile.txt").write_text(times.profile, encoding="utf-8")
        times.stats.dump_stats(OUT / "profile.prof")  # for pstats / snakeviz


def main(argv: Sequence[str] | None = None) -> int:
    given = list(sys.argv[1:] if argv is None else argv)
    if "--hangs" in given or "--demo" in given:  # what hangs cost: bench/hang_bench.py
        import hang_bench

        return hang_bench.main(given)
    args = parse_args(argv)
    scratch = Path(tempfile.mkdtemp(prefix="autograder-bench-"))
    try:
        results = measure(args, scratch)
    finally:
        if args.keep:
            say(f"kept the course copies in {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    text = render(results)
    print(text, end="")
    write_outputs(text, results.times)
    say(f"wrote {OUT / 'results.md'}")
    runs = [results.nbgrader, results.startup, *results.scaling.values(), *results.half.values()]
    runs += [run for three in results.modes.values() for run in three]
    return 1 if any(run is not None and run.returncode != 0 for run in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
