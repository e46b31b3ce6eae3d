"""Benchmark: what the zygote's PID namespace and cgroup add to each worker (spawn + close).

    ./dev python bench/pidns_bench.py            # 40 rounds
    ./dev python bench/pidns_bench.py --n 5      # quick

Two zygotes: one as pid 1 of a PID namespace in a cgroup of its own (where the machine offers
them), one with neither. Each round spawns and closes one worker from each, in alternating
order, so load on the machine hits both alike. Prints the median spawn+close of each, their
difference and ratio. Both layers are made once per zygote, so the difference should be ~0.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from autograder.sandbox.process import Zygote, jail_spec


def spawn_close(zygote: Zygote, scratch: Path, serial: int) -> float:
    spec = jail_spec(scratch, hide=[], serial=serial)
    start = time.perf_counter()
    zygote.spawn(spec).close()
    return time.perf_counter() - start


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=40, help="rounds [40]")
    args = p.parse_args(argv)
    bare_zygote = Zygote(use_pidns=False, use_cgroup=False)
    with tempfile.TemporaryDirectory() as tmp, Zygote() as layered, bare_zygote as bare:
        scratch = Path(tmp)
        layered.wait_ready()
        bare.wait_ready()
        print(f"layered zygote: pid namespace {layered.pid_namespace}, cgroup {layered.cgroup or 'none'}")
        if not layered.pid_namespace and not layered.cgroup:
            print("neither layer is available here: nothing to compare", file=sys.stderr)
            return 1
        for z in (layered, bare):  # warm both (first forks fault in pages)
            for i in range(3):
                spawn_close(z, scratch, i)
        with_s: list[float] = []
        without_s: list[float] = []
        for i in range(args.n):
            pair = [(layered, with_s), (bare, without_s)]
            for z, out in pair if i % 2 == 0 else pair[::-1]:
                out.append(spawn_close(z, scratch, i))
        a, b = statistics.median(with_s), statistics.median(without_s)
        print(f"rounds: {args.n}")
        print(f"spawn+close with pidns+cgroup (median): {a * 1e3:.2f} ms")
        print(f"spawn+close without (median):           {b * 1e3:.2f} ms")
        print(f"difference: {(a - b) * 1e3:+.2f} ms per worker; ratio {a / b:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
