"""The examples a property test shows a student are the same on every run, alone or in a row."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from autograder.judge.examples import ExampleCache, example_seed, load_hypothesis_profile

REPO = Path(__file__).resolve().parents[2]
SUITES = ["ps4-softmax", "ps1-neurons"]


class _Collect:
    def __init__(self) -> None:
        self.items: list[pytest.Function] = []

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.items = [i for i in session.items if isinstance(i, pytest.Function) and hasattr(i.obj, "hypothesis")]


def property_tests(assignment: str) -> list[pytest.Function]:
    folder = REPO / "assignments" / assignment
    plugin = _Collect()
    args = [str(p) for p in sorted(folder.glob("test_*.py"))]
    args += ["--collect-only", "-q", "-p", "no:cacheprovider", "--import-mode=importlib", "-c", "/dev/null"]
    args += ["--rootdir", str(folder), "-o", "markers=item: the item a check belongs to", "-W", "ignore"]
    pytest.main(args, plugins=[plugin])
    assert plugin.items, f"no property tests collected in {folder}"
    return plugin.items


def drawn(cache: ExampleCache, item: pytest.Function) -> bytes:
    return pickle.dumps(cache.examples(item, list(item._fixtureinfo.argnames)))


@pytest.mark.parametrize("assignment", SUITES)
def test_a_property_test_draws_the_same_examples_alone_or_after_the_others(assignment):
    load_hypothesis_profile()
    items = property_tests(assignment)
    in_a_row = ExampleCache()
    together = [drawn(in_a_row, item) for item in items]
    for item, want in zip(reversed(items), reversed(together), strict=True):
        assert drawn(ExampleCache(), item) == want, item.nodeid


def test_each_property_test_has_its_own_seed_from_its_name_alone():
    items = property_tests("ps4-softmax")
    seeds = [example_seed(i) for i in items]
    assert len(set(seeds)) == len({(i.path, i.originalname) for i in items})
    assert all(example_seed(i) == s for i, s in zip(property_tests("ps4-softmax"), seeds, strict=True))


FRESH_PROCESS = """
import hashlib, pickle, sys
sys.path.insert(0, {tests!r})
from test_examples import drawn, property_tests
from autograder.judge.examples import ExampleCache, load_hypothesis_profile
load_hypothesis_profile()
items = property_tests("ps4-softmax")
print(hashlib.sha256(drawn(ExampleCache(), items[-1])).hexdigest())
"""


def test_a_fresh_judge_process_draws_the_same_examples():
    """A resumed grade starts new judges (another hash seed): the student reads the same input."""
    import hashlib
    import os
    import subprocess
    import sys

    load_hypothesis_profile()
    want = hashlib.sha256(drawn(ExampleCache(), property_tests("ps4-softmax")[-1])).hexdigest()
    code = FRESH_PROCESS.format(tests=str(Path(__file__).parent))
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
        assert out.stdout.split()[-1] == want


def test_examples_ignore_the_constants_of_whatever_modules_are_imported(tmp_path, monkeypatch):
    """Hypothesis draws some values from literals in imported local modules: an edit to the
    grader, or a module imported earlier, must not change what a student is shown."""
    import importlib

    load_hypothesis_profile()
    items = property_tests("ps4-softmax")
    before = [drawn(ExampleCache(), item) for item in items]
    folder = tmp_path / "unrelated"
    folder.mkdir()
    numbers = ", ".join(str(v) for v in [-7.25, 3.5, 1e3, 17, 99, -4, 0.125, 2.75, 6, -19.5, 11, 13])
    (folder / "unrelated_constants.py").write_text(f"VALUES = [{numbers}]\nNAME = 'zebra'\n")
    monkeypatch.syspath_prepend(str(folder))
    importlib.import_module("unrelated_constants")
    after = [drawn(ExampleCache(), item) for item in items]
    assert after == before
