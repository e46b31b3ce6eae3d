"""Benchmark: what the jail's unprivileged layers (Landlock, seccomp) add to each worker.

    ./dev python bench/jail_layers_bench.py            # 40 rounds
    ./dev python bench/jail_layers_bench.py --n 5      # quick

One zygote forks workers in rounds; each round spawns and closes one worker with every layer
and one with Landlock and seccomp left out, in alternating order, so load on the machine hits
both alike. Prints the median spawn+close of each, their difference and ratio, and the cost of
the two layers themselves, timed inside a forked child.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from autograder.sandbox import landlock, seccomp
from autograder.sandbox.jail import PER_WORKER_READ, plan_readable
from autograder.sandbox.process import Zygote, jail_spec


def spawn_close(zygote: Zygote, spec: object) -> float:
    start = time.perf_counter()
    zygote.spawn(spec).close()  # type: ignore[arg-type]
    return time.perf_counter() - start


def layers_in_child(scratch: str, planned: tuple[str, ...], except_: Sequence[str]) -> tuple[float, float]:
    """Seconds for `landlock.restrict` and `seccomp.install` in a fresh fork of this process,
    the read list planned and both layers prepared ahead as the zygote does."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        t0 = time.perf_counter()
        landlock.restrict(PER_WORKER_READ, [scratch], except_=except_, planned=planned)
        t1 = time.perf_counter()
        seccomp.install()
        t2 = time.perf_counter()
        os.write(w, f"{t1 - t0} {t2 - t1}".encode())
        os._exit(0)
    os.close(w)
    with os.fdopen(r) as f:
        text = f.read()
    os.waitpid(pid, 0)
    a, b = text.split()
    return float(a), float(b)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=40, help="rounds [40]")
    args = p.parse_args(argv)
    if landlock.abi_version() < 1 or not seccomp.available():
        print("jail layers: this kernel lacks Landlock or seccomp; nothing to compare")
        return 0
    with tempfile.TemporaryDirectory() as tmp, Zygote() as zygote:
        scratch = Path(tmp) / "scratch"
        scratch.mkdir()
        full = jail_spec(scratch, hide=[], serial=1)
        bare = dataclasses.replace(full, landlock=False, seccomp=False)
        zygote.share(full.hide)  # as every judge does: the zygote plans the read list (and mounts, as root)
        zygote.wait_ready()
        spawn_close(zygote, full)  # warm both paths once
        spawn_close(zygote, bare)
        with_layers: list[float] = []
        without: list[float] = []
        for i in range(args.n):
            pairs = [(full, with_layers), (bare, without)]
            for spec, out in pairs if i % 2 else pairs[::-1]:
                out.append(spawn_close(zygote, spec))
        planned, except_ = plan_readable(full.hide)  # once, as the zygote does when it shares its mounts
        landlock.prepared(planned)  # and as it prepares both layers for its forks
        seccomp.prepare()
        inside = [layers_in_child(str(scratch), planned, sorted(except_)) for _ in range(args.n)]
    a, b = statistics.median(with_layers), statistics.median(without)
    ll = statistics.median(x for x, _ in inside)
    sc = statistics.median(y for _, y in inside)
    print(f"jail layers, {args.n} rounds, load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores:")
    print(f"  spawn+close, every layer:              median {1000 * a:6.1f} ms")
    print(f"  spawn+close, no Landlock nor seccomp:  median {1000 * b:6.1f} ms")
    print(f"  difference {1000 * (a - b):+.1f} ms per worker, ratio {a / b:.2f}")
    print(f"  in a fork: landlock.restrict {1000 * ll:.2f} ms, seccomp.install {1000 * sc:.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
