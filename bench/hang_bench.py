"""Benchmark: what a hang costs, in wall time and in points.

    ./dev bench --hangs                      # N=100 ps4 notebooks, 5 % of them hang, against none
    ./dev bench --hangs --n 20 --workers 1   # a quick proof that it runs
    ./dev bench --demo                       # time `autograder demo` (target: under 60 s on 2 cores)
    ./dev bench --demo --assignment ps1-neurons --baseline

`--hangs` grades the benchmark's ps4 class twice, each on its own copy of the course: as built,
and with one function of every 20th notebook replaced by an endless loop. It prints both wall
times and their ratio (target: within 2x), then checks the scores: every student who does not
hang scores the same in both, and every one who hangs scores, item for item, what the same
notebook with that function left as the released stub scores, but `timeout` on that item.

`--demo` times the whole demo and checks each hanging student of it the same way (a stub twin
graded beside it). With `--baseline` it also runs the demo under the old limits (every limit at
its ceiling: `cell_timeout_s`, `call_timeout_s`) and checks that every student who does not
hang scores the same under both.
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import probe  # bench/ is on sys.path: it is the script's folder
import synthclass
from synthclass import ASSIGNMENT

from autograder import demo
from autograder.course import synth
from autograder.course.layout import Course, load_course

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "bench" / "out"
RATIO_TARGET = 2.0  # a batch with 5 % hangs against the same batch without
DEMO_TARGET_S = 60.0  # `autograder demo` on 2 cores

Rows = dict[tuple[str, str], tuple[str, str]]  # (student, item) -> (score, status)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--hangs", action="store_true", help="a batch with hangs against the same without")
    p.add_argument(
        "--demo", action="store_true", help="time `autograder demo` and check its hanging students"
    )
    p.add_argument("--n", type=int, default=100, help="submissions in the --hangs batch [100]")
    p.add_argument("--every", type=int, default=20, help="every EVERY-th notebook hangs [20: 5 %%]")
    p.add_argument("--workers", type=int, default=None, help="judges [the number of cores]")
    p.add_argument("--assignment", action="append", default=[], help="--demo: only this one (repeatable)")
    p.add_argument("--baseline", action="store_true", help="--demo: also run it under the old limits")
    p.add_argument("--seed", type=int, default=4)
    return p.parse_args(argv)


def say(text: str) -> None:
    print(f"bench: {text}", file=sys.stderr, flush=True)


def autograder(*args: str) -> list[str]:
    return [str(Path(sys.executable).parent / "autograder"), *args]


def read_scores(course: Course, assignment_id: str) -> Rows:
    with (course.reports_dir / assignment_id / "scores.csv").open(newline="") as f:
        return {(r["student"], r["item"]): (r["score"], r["status"]) for r in csv.DictReader(f)}


def check_hangs(rows: Rows, twins: Rows, hangers: dict[str, str], twin_of: dict[str, str]) -> list[str]:
    """What a hanging student lost beyond their hanging item, against their stub twin."""
    problems = []
    for student, function in hangers.items():
        mine = {item: v for (s, item), v in rows.items() if s == student}
        twin = {item: v for (s, item), v in twins.items() if s == twin_of[student]}
        if mine.get(function, ("", ""))[1] != "timeout":
            problems.append(f"{student}: {function} is {mine.get(function)}, not a timeout")
        for item, value in twin.items():
            # Points only: a function that calls the hung one fails with `error` (it raised a
            # TimeoutError), where calling the stub makes it `missing`; both score nothing.
            if item != function and mine.get(item, ("", ""))[0] != value[0]:
                problems.append(f"{student}: {item} scored {mine.get(item)}, as a stub {value}")
    return problems


def check_same(rows: Rows, base: Rows, skip: set[str]) -> list[str]:
    """Students outside `skip` whose rows differ between two runs."""
    return [
        f"{s}: {item} scored {rows.get((s, item))} here, {value} without hangs"
        for (s, item), value in sorted(base.items())
        if s not in skip and rows.get((s, item)) != value
    ]


def write_twins(
    course: Course, assignment_id: str, hangers: dict[str, str], answers: dict[str, dict[str, str]]
) -> dict[str, str]:
    """For each hanging student, a twin whose hanging function is the released stub."""
    released = course.release_notebook(assignment_id)
    twin_of = {}
    for student, function in hangers.items():
        twin = f"{student}-as-stub"
        stubbed = {k: v for k, v in answers[student].items() if k != function}
        synth.write_submission(course, assignment_id, twin, synth.build_notebook(released, stubbed))
        twin_of[student] = twin
    return twin_of


def run_hangs(args: argparse.Namespace, scratch: Path) -> bool:
    template, students = synthclass.build_template(REPO, scratch / "template", args.n, seed=args.seed)
    functions = [i.name for i in template.assignment(ASSIGNMENT).items]
    hangers = {s.student_id: functions[k % len(functions)] for k, s in enumerate(students[:: args.every])}
    answers = {s.student_id: s.answers for s in students}
    plain = synthclass.clone(template.root, scratch / "plain")
    hanging = synthclass.clone(template.root, scratch / "hanging")
    released = hanging.release_notebook(ASSIGNMENT)
    for student, function in hangers.items():
        looping = {**answers[student], function: demo._looping(function)}
        synth.write_submission(hanging, ASSIGNMENT, student, synth.build_notebook(released, looping))
    workers = ("--workers", str(args.workers)) if args.workers else ()
    times = {}
    for label, course in (("without hangs", plain), ("with hangs", hanging)):
        argv = autograder("--course", str(course.root), "grade", ASSIGNMENT, "--force", "--quiet", *workers)
        times[label] = probe.run_command(
            label,
            argv,
            cwd=course.root,
            env=dict(os.environ),
            log=OUT / "logs" / f"hangs-{label.replace(' ', '-')}.log",
        )
        say(f"{label}: {times[label].wall_s:.1f} s (exit {times[label].returncode})")
    # Then, untimed: each hanging notebook's twin with the released stub in place of the loop.
    twin_of = write_twins(hanging, ASSIGNMENT, hangers, answers)
    argv = autograder("--course", str(hanging.root), "grade", ASSIGNMENT, "--quiet", *workers)
    twins_only = [x for t in twin_of.values() for x in ("--student", t)]
    probe.run_command(
        "twins",
        argv + twins_only,
        cwd=hanging.root,
        env=dict(os.environ),
        log=OUT / "logs" / "hangs-twins.log",
    )
    rows, base = read_scores(hanging, ASSIGNMENT), read_scores(plain, ASSIGNMENT)
    twins = {k: v for k, v in rows.items() if k[0].endswith("-as-stub")}
    problems = check_hangs(rows, twins, hangers, twin_of)
    problems += check_same(rows, base, set(hangers) | set(twin_of.values()))
    ratio = times["with hangs"].wall_s / times["without hangs"].wall_s
    print(f"| batch ({ASSIGNMENT}) | notebooks | wall s |")
    print("|---|---:|---:|")
    print(f"| without hangs | {args.n} | {times['without hangs'].wall_s:.1f} |")
    print(
        f"| {len(hangers)} hang ({100 * len(hangers) / args.n:.0f} %) | {args.n} "
        f"| {times['with hangs'].wall_s:.1f} |"
    )
    print(
        f"\nwall time with hangs / without: {ratio:.2f}x (target <= {RATIO_TARGET:g}x): "
        f"{'met' if ratio <= RATIO_TARGET else 'NOT met'}"
    )
    return report_problems(problems, len(hangers), args.n) and ratio <= RATIO_TARGET


def report_problems(problems: list[str], hanging: int, total: int) -> bool:
    if problems:
        print(f"scores: {len(problems)} differences")
        for line in problems[:20]:
            print(f"  {line}")
        return False
    print(
        f"scores: the {total - hanging} students who do not hang score the same; "
        f"the {hanging} who hang lose only the item that hangs"
    )
    return True


def old_limits(course_root: Path) -> None:
    """Every limit at its ceiling, as before limits were calibrated."""
    for toml in (course_root / "assignments").glob("*/assignment.toml"):
        text = toml.read_text()
        text = re.sub(
            r"^\[assignment\]\n",
            "[assignment]\ncall_floor_s = 1e6\ncell_floor_s = 1e6\n",
            text,
            count=1,
            flags=re.M,
        )
        toml.write_text(text)


def run_demo(args: argparse.Namespace, scratch: Path) -> bool:
    course = load_course(REPO)
    only = [x for a in args.assignment for x in ("--assignment", a)]
    workers = ("--workers", str(args.workers)) if args.workers else ()
    into = scratch / "demo"
    run = probe.run_command(
        "autograder demo",
        autograder("--course", str(REPO), "demo", "--into", str(into), *only, *workers),
        cwd=REPO,
        env=dict(os.environ),
        log=OUT / "logs" / "demo.log",
    )
    say(f"autograder demo: {run.wall_s:.1f} s (exit {run.returncode})")
    demo_course = load_course(into)
    problems: list[str] = []
    hanging_total = students_total = 0
    rows_by: dict[str, Rows] = {}
    for assignment_id in args.assignment or course.assignment_ids():
        spec = demo_course.assignment(assignment_id)
        answers = {s.student_id: s.answers for s in demo.class_list(demo_course, spec)}
        hangers = {
            s: next(f for f, src in a.items() if "while True" in src)
            for s, a in answers.items()
            if any("while True" in src for src in a.values())
        }
        twin_of = write_twins(demo_course, assignment_id, hangers, answers)
        probe.run_command(
            "twins",
            autograder(
                "--course",
                str(into),
                "grade",
                assignment_id,
                "--quiet",
                *[x for t in twin_of.values() for x in ("--student", t)],
            ),
            cwd=into,
            env=dict(os.environ),
            log=OUT / "logs" / f"demo-twins-{assignment_id}.log",
        )
        rows = read_scores(demo_course, assignment_id)
        rows_by[assignment_id] = rows
        problems += [f"{assignment_id}: {p}" for p in check_hangs(rows, rows, hangers, twin_of)]
        hanging_total += len(hangers)
        students_total += len(answers)
    if args.baseline:
        base_src = scratch / "base-src"
        shutil.copytree(
            REPO / "assignments", base_src / "assignments", ignore=shutil.ignore_patterns("__pycache__")
        )
        shutil.copytree(REPO / "source", base_src / "source")
        shutil.copy2(REPO / "nbgrader_config.py", base_src / "nbgrader_config.py")
        old_limits(base_src)
        base_run = probe.run_command(
            "autograder demo (old limits)",
            autograder(
                "--course", str(base_src), "demo", "--into", str(scratch / "base-demo"), *only, *workers
            ),
            cwd=base_src,
            env=dict(os.environ),
            log=OUT / "logs" / "demo-old-limits.log",
        )
        say(f"autograder demo under the old limits: {base_run.wall_s:.1f} s")
        base_course = load_course(scratch / "base-demo")
        for assignment_id, rows in rows_by.items():
            hung = {s for (s, _), (_, status) in rows.items() if status == "timeout"} | {
                s for (s, _) in rows if s.endswith("-as-stub")
            }
            problems += [
                f"{assignment_id}: {p}"
                for p in check_same(rows, read_scores(base_course, assignment_id), hung)
            ]
        print(
            f"| `autograder demo` | wall s |\n|---|---:|\n| calibrated limits | {run.wall_s:.1f} |\n"
            f"| old limits | {base_run.wall_s:.1f} |"
        )
    else:
        print(f"| `autograder demo` | wall s |\n|---|---:|\n| calibrated limits | {run.wall_s:.1f} |")
    print(
        f"\ndemo wall time: {run.wall_s:.1f} s (target < {DEMO_TARGET_S:g} s for the whole demo on 2 cores): "
        + (
            ("met" if run.wall_s < DEMO_TARGET_S else "NOT met")
            if not args.assignment
            else "no verdict (only part of the demo ran)"
        )
    )
    return report_problems(problems, hanging_total, students_total) and run.returncode == 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if not (args.hangs or args.demo):
        args.hangs = True
    scratch = Path(tempfile.mkdtemp(prefix="autograder-hang-bench-"))
    try:
        ok = True
        if args.hangs:
            ok = run_hangs(args, scratch) and ok
        if args.demo:
            ok = run_demo(args, scratch) and ok
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
