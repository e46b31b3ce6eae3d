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
