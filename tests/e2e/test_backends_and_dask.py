"""The same class graded three ways gives the same scores: local pool, Dask, torch references."""

from __future__ import annotations

import pytest

from autograder import batch, synth

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
    assert len({student for student, _ in local}) == 12


def test_torch_references_grade_like_numpy(course, submit):
    pytest.importorskip("torch")
    write_class(course, submit)
    with_numpy = scores(batch.grade(course, "ps4-softmax", workers=2, backend="numpy"))
    with_torch = scores(batch.grade(course, "ps4-softmax", workers=2, backend="torch", force=True))
    assert with_torch == with_numpy
