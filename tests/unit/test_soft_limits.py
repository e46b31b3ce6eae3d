"""A hang is found out once: the worker's own time limit stops it, names it, and goes on."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from autograder.sandbox.client import StudentProcess
from autograder.sandbox.process import Zygote, jail_spec


@pytest.fixture(scope="module")
def zygote() -> Iterator[Zygote]:
    with Zygote() as z:
        yield z


def start(zygote: Zygote, tmp_path, cells: list[str], *, cell_timeout_s: float = 1.0) -> StudentProcess:
    scratch = tmp_path / "scratch"
    scratch.mkdir(exist_ok=True)
    process = StudentProcess(
        zygote,
        jail_spec(scratch, hide=[], serial=1),
        list(enumerate(cells)),
        cell_timeout_s=cell_timeout_s,
        total_timeout_s=30,
    )
    process.start()
    return process


SPIN = "def spin(x):\n    while True:\n        pass"
ONE = "def one():\n    return 1"


def test_a_function_that_hangs_in_a_cell_is_stopped_once_and_later_cells_still_run(zygote, tmp_path):
    cells = [SPIN, ONE, "spin(1)", "y = spin(2)", "z = one()", "answer_q = 'b'"]
    p = start(zygote, tmp_path, cells, cell_timeout_s=1.0)
    try:
        results = {r.index: r for r in p.results()}
        assert results[2].ename == "TimeoutError"
        assert results[2].evalue == "the cell ran past its time limit of 1 s in spin"
        assert results[3].ename == "TimeoutError"  # called again: fails at once
        assert "not run again" in results[3].evalue
        assert results[4].ok and results[5].ok
        assert p.restarts == 0  # the worker stayed alive
        assert p.get("z", timeout_s=5).value == 1
        assert p.get("answer_q", timeout_s=5).value == "b"
        assert set(p.hung) == {"spin"}
        reply = p.call("spin", [np.zeros(2)], {}, timeout_s=5)
        assert reply.kind == "timeout" and reply.elapsed_s == 0.0  # answered without running it
        assert reply.evalue == "ran past its time limit of 1 s in an earlier cell, so it was not run again"
        assert p.call("one", [], {}, timeout_s=5).value == 1
    finally:
        p.close()


def test_a_training_loop_that_never_ends_is_blamed_not_the_helper_it_calls(zygote, tmp_path):
    cells = [
        "def grads(w):\n    return w * 0.5",
        "def train(w):\n    while True:\n        w = grads(w)",
        "train(1.0)",
    ]
    p = start(zygote, tmp_path, cells, cell_timeout_s=0.5)
    try:
        assert set(p.hung) == {"train"}
        assert p.results()[2].evalue.endswith("in train")
        assert p.call("grads", [2.0], {}, timeout_s=5).value == 1.0
    finally:
        p.close()


def test_a_call_past_its_limit_is_stopped_by_the_worker_which_stays_alive(zygote, tmp_path):
    p = start(zygote, tmp_path, [SPIN, ONE])
    try:
        reply = p.call("spin", [1], {}, timeout_s=0.5)
        assert reply.kind == "timeout" and reply.evalue == "no answer within 0.5 s (time limit)"
        assert reply.elapsed_s >= 0.5  # the worker itself stopped it and said how long it ran
        assert p.restarts == 0 and p.worker is not None and p.worker.alive
        again = p.call("spin", [2], {}, timeout_s=5)
        assert again.kind == "timeout" and again.elapsed_s == 0.0  # not called again
        assert p.call("one", [], {}, timeout_s=5).value == 1
    finally:
        p.close()


def test_code_that_swallows_the_timeout_is_still_stopped_by_the_hard_limit(zygote, tmp_path):
    stubborn = "def stubborn():\n    while True:\n        try:\n            while True:\n                pass\n        except BaseException:\n            pass"
    p = start(zygote, tmp_path, [stubborn, ONE, "stubborn()", "x = one()"], cell_timeout_s=0.5)
    try:
        results = {r.index: r for r in p.results()}
        assert results[2].ename == "TimeoutError" and results[3].ok
        assert p.get("x", timeout_s=5).value == 1
    finally:
        p.close()


def test_a_function_that_caught_its_timeout_and_returned_still_counts_as_hung(zygote, tmp_path):
    sly = "def sly():\n    try:\n        while True:\n            pass\n    except BaseException:\n        return 42"
    p = start(zygote, tmp_path, [sly])
    try:
        reply = p.call("sly", [], {}, timeout_s=0.3)
        assert reply.kind == "timeout" and "sly" in p.hung
    finally:
        p.close()


def test_a_restarted_worker_keeps_hung_functions_stubbed(zygote, tmp_path):
    cells = [SPIN, ONE, "spin(1)", "import os\nif one() == 1 and 'crash_once' not in dir():\n    os._exit(3)"]
    p = start(zygote, tmp_path, cells, cell_timeout_s=0.5)
    try:
        assert p.restarts == 1 and "spin" in p.hung
        reply = p.call("spin", [1], {}, timeout_s=5)
        assert reply.kind == "timeout" and reply.elapsed_s == 0.0
    finally:
        p.close()
