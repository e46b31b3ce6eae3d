"""Reference solutions on NumPy against PyTorch and CuPy (GPU where present), where it pays.

    ./dev python bench/reference_backends.py [--rows 4096 --cols 50000 --steps 2000]

Two checks of the hidden suites are large enough for a GPU to matter: softmax and
cross-entropy over a big batch of scores (4096 x 50,000 by default), and a reference training
run of the ps5 network. Each runs on every backend that loads here (see `autograder doctor`),
timed after a warm-up, with the device synchronised; results are compared with NumPy's under
the tolerance policy (autograder.judge.reference.tolerance). Prints a table and the ratio to NumPy.
On a machine without a GPU it says so and still runs the CPU backends.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from autograder.judge.reference import xp_ref
from autograder.judge.reference.backend import (
    Backend,
    BackendUnavailableError,
    load_backend,
    to_backend,
    to_numpy,
)


def _sync(backend: Backend) -> None:
    if backend.name == "torch" and backend.device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()
    elif backend.name == "cupy":
        import cupy

        cupy.cuda.Device().synchronize()


def _best_of(fn: Callable[[], Any], backend: Backend, repeat: int) -> tuple[float, Any]:
    result = fn()  # warm-up: kernels compiled, memory pools filled
    _sync(backend)
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        _sync(backend)
        best = min(best, time.perf_counter() - start)
    return best, result


def backends() -> list[Backend]:
    found = [load_backend("numpy")]
    for name in ("torch", "cupy"):
        try:
            found.append(load_backend(name))
        except BackendUnavailableError as exc:
            print(f"{name}: not used ({exc})")
    return found


def cases(rows: int, cols: int, steps: int) -> dict[str, tuple[Callable[..., Any], tuple[Any, ...]]]:
    rng = np.random.default_rng(0)
    scores = rng.normal(0, 30, size=(rows, cols)).astype(np.float32)
    labels = rng.integers(0, cols, size=rows)
    x = np.linspace(-1, 1, 256)[:, None]
    y = np.sin(np.pi * x) + rng.normal(0, 0.05, size=x.shape)
    return {
        f"softmax {rows}x{cols} float32": (xp_ref.softmax, (scores,)),
        f"cross_entropy {rows}x{cols} float32": (xp_ref.cross_entropy, (scores, labels)),
        f"train_mlp sine, hidden 64, {steps} steps": (
            lambda X, Y: xp_ref.train_mlp(X, Y, 64, 0.05, steps, 0),
            (x, y),
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=4096)
    parser.add_argument("--cols", type=int, default=50_000)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    found = backends()
    if not any(b.device.startswith("cuda") for b in found):
        print("no GPU present: comparing the CPU backends only")
    table = []
    for name, (fn, inputs) in cases(args.rows, args.cols, args.steps).items():
        baseline = None
        for backend in found:
            dtype = "float32" if "float32" in name else "float64"
            moved = to_backend(backend, inputs, dtype=dtype)
            seconds, result = _best_of(lambda fn=fn, moved=moved: fn(*moved), backend, args.repeat)
            value = to_numpy(result)
            if baseline is None:
                baseline = (seconds, value)
            agree = _agree(value, baseline[1])
            table.append((name, f"{backend.name} on {backend.device}", seconds, baseline[0] / seconds, agree))
    width = max(len(r[0]) for r in table)
    print(f"{'check':<{width}}  {'backend':<16} {'seconds':>9} {'x numpy':>8}  agrees")
    for name, where, seconds, ratio, agree in table:
        print(f"{name:<{width}}  {where:<16} {seconds:9.4f} {ratio:8.1f}  {agree}")


def _agree(value: Any, baseline: Any) -> str:
    if isinstance(value, tuple):  # train_mlp: (params, losses): compare the final loss
        a, b = float(np.asarray(value[1])[-1]), float(np.asarray(baseline[1])[-1])
        return "yes" if abs(a - b) <= 1e-3 * max(1.0, abs(b)) else f"final loss {a:.4g} vs {b:.4g}"
    a, b = np.asarray(value, dtype=np.float64), np.asarray(baseline, dtype=np.float64)
    return "yes" if np.allclose(a, b, rtol=1e-4, atol=1e-6) else "NO"


if __name__ == "__main__":
    main()
