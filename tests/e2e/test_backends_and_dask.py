"""The same class graded three ways gives the same scores: local pool, Dask, torch references."""

from __future__ import annotations

import re

import pytest

from autograder import batch, demo
from autograder.course import synth

pytestmark = pytest.mark.slow


def write_class(course, submit):
    submit("ada")
    submit("bob", stub=True)
    spec = course.assignment("ps4-softmax")
    for n, mutant in enumerate(synth.modules(spec, "mutants")[:6]):
        submit(f"m{n}", mutant.cells)
    for n, variant in enumerate(synth.modules(spec, "variants")):
        submit(f"v{n}", variant.cells)


def scores(summary):
    return {
        (r.student_id, i.item): (i.score, i.status, i.diagnosis) for r in summary.results for i in r.items
    }


def test_dask_cluster_gives_the_local_pool_scores(course, submit):
    distributed = pytest.importorskip("distributed")
    write_class(course, submit)
    local = scores(batch.grade(course, "ps4-softmax", workers=2))
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        remote = scores(batch.grade(course, "ps4-softmax", force=True, scheduler=cluster.scheduler_address))
    assert remote == local
    spec = course.assignment("ps4-softmax")
    assert len({student for student, _ in local}) == 2 + 6 + len(synth.modules(spec, "variants"))


def test_the_demo_class_scores_the_same_with_torch_references_as_with_numpy(course):
    pytest.importorskip("torch")
    toml = course.assignments_dir / "ps4-softmax" / "assignment.toml"
    # Short limits: the demo's student whose mse never returns should cost seconds, not 30 s.
    toml.write_text(re.sub(r"(cell_timeout_s|timeout_s) = \d+", r"\1 = 3", toml.read_text()))
    students = demo.build_class(course, course.assignment("ps4-softmax"))
    assert len(students) >= 30
    with_numpy = scores(batch.grade(course, "ps4-softmax", workers=2, backend="numpy"))
    with_torch = scores(batch.grade(course, "ps4-softmax", workers=2, backend="torch", force=True))
    assert with_torch == with_numpy
    assert {diagnosis for _, _, diagnosis in with_numpy.values()} >= {
        "softmax.no_max_shift",
        "timeout",
        "missing",
    }
