"""Load benchmark of `autograder serve`: N students submit ps4 within a minute; how fast are they graded?

    python bench/serve_bench.py                      # 300 students within 60 s, judges = cores
    python bench/serve_bench.py --students 20 --within 10 --workers 1   # a quick check

On a copy of the course in a temp dir: ps4 released, a synthetic class of N students (the
demo's: correct, buggy, erroring and never-returning notebooks), a token each. `autograder
serve` runs on a free loopback port; a bounded client (at most `--clients` requests at once,
loopback only, everything stopped after `--within` + `--timeout` seconds) sends each
student's notebook at evenly spread moments over `--within` seconds and watches for results.
Then `autograder grade` grades the same notebooks from `submitted/` on another copy, with the
same number of judges. Prints submissions per second, the median and 95th-percentile time
from upload to result, lost submissions, and the service's memory (every process of it) at
its peak and at the half-way point, against `grade`'s wall time and throughput.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import nbformat

from autograder import demo
from autograder.course import release, synth
from autograder.course.layout import Course, copy_course, load_course
from autograder.serve import db, tokens

REPO = Path(__file__).resolve().parents[1]
A = "ps4-softmax"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _children() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    return children


def _rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, IndexError, ValueError):
        return 0.0


def _descendants(pid: int, children: dict[int, list[int]]) -> list[tuple[int, int]]:
    """(pid, depth) of every descendant: 1 its children, 2 theirs..."""
    out: list[tuple[int, int]] = []
    todo = [(c, 1) for c in children.get(pid, [])]
    while todo:
        p, depth = todo.pop()
        out.append((p, depth))
        todo += [(c, depth + 1) for c in children.get(p, [])]
    return out


def _memory_mb(server: int) -> dict[str, float]:
    """Resident memory (MiB) of the service's parts: the web process, the grading process, its
    judges with their zygotes (the warm, long-lived part), and the student workers of the moment
    (forked by a zygote for one notebook: there or not, whatever the number graded so far)."""
    children = _children()
    grader = [p for p in children.get(server, []) if b"autograder.serve.queue" in _cmdline(p)]
    below = [d for g in grader for d in _descendants(g, children)]
    parts = {
        "web": _rss_mb(server),
        "grader": sum(_rss_mb(p) for p in grader),
        "judges": sum(_rss_mb(p) for p, depth in below if depth <= 2),
        "workers": sum(_rss_mb(p) for p, depth in below if depth > 2),
    }
    return {**parts, "total": sum(parts.values())}


def _cmdline(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read()
    except OSError:
        return b""


def slope_per_100(points: list[tuple[int, float]]) -> float:
    """Least-squares slope of memory against results, in MiB per 100 submissions."""
    if len(points) < 2:
        return float("nan")
    mx = statistics.fmean(n for n, _ in points)
    my = statistics.fmean(m for _, m in points)
    var = sum((n - mx) ** 2 for n, _ in points)
    return 100 * sum((n - mx) * (m - my) for n, m in points) / var if var else float("nan")


def _request(port: int, method: str, path: str, token: str, body: bytes | None = None) -> tuple[int, object]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        headers = {"Authorization": f"Bearer {token}"}
        if body is not None:
            headers["Content-Type"] = "application/x-ipynb+json"
        conn.request(method, path, body=body, headers=headers)
        reply = conn.getresponse()
        return reply.status, json.loads(reply.read() or b"null")
    finally:
        conn.close()


def build(base: Path, students: int) -> tuple[Course, dict[str, bytes]]:
    course = copy_course(load_course(REPO), base / "served")
    release.release(course, A)
    spec = course.assignment(A)
    release_nb = course.release_notebook(A)
    notebooks = {
        s.student_id: nbformat.writes(synth.build_notebook(release_nb, s.answers)).encode()
        for s in demo.class_list(course, spec, size=students)
    }
    (course.root / "serve.toml").write_text("[defaults]\ncooldown_s = 0\n")
    return course, notebooks


def run_service(course: Course, notebooks: dict[str, bytes], args: argparse.Namespace) -> dict[str, Any]:
    engine = db.connect(course.db_url)
    minted = {s: tokens.mint(engine, s) for s in notebooks}
    teacher = tokens.mint(engine, "bench-teacher", instructor=True)
    engine.dispose()
    port = _free_port()
    log = open(course.root.parent / "serve.log", "wb")  # noqa: SIM115  (closed below, after the server)
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "autograder",
            "--course",
            str(course.root),
            "serve",
            "--port",
            str(port),
            "--workers",
            str(args.workers),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        for _ in range(300):
            try:
                if _request(port, "GET", "/healthz", "")[0] == 200:
                    break
            except OSError:
                time.sleep(0.2)
        else:
            raise SystemExit("autograder serve did not start: see serve.log")
        uploaded: dict[str, float] = {}
        done: dict[str, float] = {}
        refused: list[str] = []
        peak = [0.0]
        half = [0.0]
        marks: list[tuple[int, dict[str, float]]] = []  # (results so far, memory) every --every results
        stop = threading.Event()

        def watch_memory() -> None:
            while not stop.wait(0.5):
                memory = _memory_mb(server.pid)
                peak[0] = max(peak[0], memory["total"])
                if len(done) >= len(notebooks) // 2 and not half[0]:
                    half[0] = memory["total"]
                if len(done) >= (len(marks) + 1) * args.every:
                    marks.append((len(done), memory))

        def watch_results() -> None:
            while not stop.wait(0.25):
                status, rows = _request(port, "GET", f"/api/v1/assignments/{A}/submissions", teacher)
                now = time.monotonic()
                if status == 200 and isinstance(rows, list):
                    for row in rows:
                        if row["status"] in ("graded", "error") and row["id"] not in done:
                            done[row["id"]] = now

        start = time.monotonic()
        spacing = args.within / max(1, len(notebooks))

        def submit(n: int, student: str) -> None:
            delay = start + n * spacing - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            sent = time.monotonic()
            status, body = _request(
                port, "POST", f"/api/v1/assignments/{A}/submissions", minted[student], notebooks[student]
            )
            if status == 202 and isinstance(body, dict):
                uploaded[body["id"]] = sent
            else:
                refused.append(f"{student}: {status} {body}")

        watchers = [threading.Thread(target=f, daemon=True) for f in (watch_memory, watch_results)]
        for w in watchers:
            w.start()
        with cf.ThreadPoolExecutor(max_workers=args.clients) as pool:
            list(pool.map(lambda p: submit(*p), enumerate(notebooks)))
        deadline = time.monotonic() + args.timeout
        while time.monotonic() < deadline and not set(uploaded) <= set(done):
            time.sleep(0.25)
        stop.set()
        for w in watchers:
            w.join()
        if done and (not marks or marks[-1][0] < len(done)):
            marks.append((len(done), _memory_mb(server.pid)))  # judges stay warm: the end, idle
        latencies = sorted(done[i] - t for i, t in uploaded.items() if i in done)
        last = max(done.values()) if done else time.monotonic()
        return {
            "submitted": len(uploaded),
            "refused": len(refused),
            "lost": len(set(uploaded) - set(done)),
            "per_s": len(latencies) / (last - start) if latencies else 0.0,
            "median_s": statistics.median(latencies) if latencies else float("nan"),
            "p95_s": latencies[int(0.95 * (len(latencies) - 1))] if latencies else float("nan"),
            "peak_mb": peak[0],
            "half_mb": half[0],
            "marks": marks,
            "wall_s": last - start,
        }
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()


def run_grade(base: Path, notebooks: dict[str, bytes], workers: int) -> dict[str, float]:
    course = copy_course(load_course(REPO), base / "graded")
    release.release(course, A)
    for student, data in notebooks.items():
        folder = course.submitted_dir / student / A
        folder.mkdir(parents=True)
        (folder / f"{A}.ipynb").write_bytes(data)
    start = time.monotonic()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "autograder",
            "--course",
            str(course.root),
            "grade",
            A,
            "--workers",
            str(workers),
            "--quiet",
        ],
        check=True,
    )
    wall = time.monotonic() - start
    return {"wall_s": wall, "per_s": len(notebooks) / wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--students", type=int, default=300)
    parser.add_argument("--within", type=float, default=60.0, help="seconds over which they submit")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="judges (both graders)")
    parser.add_argument("--clients", type=int, default=16, help="requests in flight at most")
    parser.add_argument("--every", type=int, default=100, help="measure memory after every this many results")
    parser.add_argument(
        "--timeout", type=float, default=300.0, help="seconds to wait for results after the last upload"
    )
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="serve-bench-"))
    try:
        course, notebooks = build(base, args.students)
        s = run_service(course, notebooks, args)
        g = run_grade(base, notebooks, args.workers)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    n = len(notebooks)
    print(
        f"autograder serve: {n} students submitting ps4 within {args.within:g} s, {args.workers} judges, "
        f"{os.cpu_count()} cores"
    )
    print(
        f"  accepted {s['submitted']:.0f}, refused {s['refused']:.0f}, "
        f"lost {s['lost']:.0f} (answered 202, never graded)"
    )
    print(f"  upload to result: median {s['median_s']:.2f} s, p95 {s['p95_s']:.2f} s (target p95 < 10 s)")
    print(
        f"  throughput {s['per_s']:.2f} submissions/s; all results {s['wall_s']:.1f} s after the first upload"
    )
    print(
        f"  memory (every process of the service): peak {s['peak_mb']:.0f} MiB, "
        f"at half the results {s['half_mb']:.0f} MiB"
    )
    for count, memory in s["marks"]:
        print(
            f"  after {count:4d} results: web {memory['web']:.0f} MiB, grader {memory['grader']:.0f} MiB, "
            f"judges and zygotes {memory['judges']:.0f} MiB, student workers {memory['workers']:.0f} MiB, "
            f"total {memory['total']:.0f} MiB"
        )
    slopes = {
        part: slope_per_100([(count, memory[part]) for count, memory in s["marks"]])
        for part in ("web", "grader", "judges", "workers", "total")
    }
    print(
        "  memory slope, MiB per 100 submissions (flat is 0): "
        + ", ".join(f"{part} {value:+.1f}" for part, value in slopes.items())
    )
    print(f"autograder grade on the same {n} notebooks: {g['wall_s']:.1f} s, {g['per_s']:.2f} submissions/s")
    print(
        f"ratio of throughputs (serve / grade): {s['per_s'] / g['per_s']:.2f} "
        f"(serve is paced by the arrivals: {n / args.within:.2f} submissions/s arrive)"
    )


if __name__ == "__main__":
    main()
