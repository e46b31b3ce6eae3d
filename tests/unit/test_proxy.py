"""The `student` proxy over an in-process session: answers, failures, time budgets, calls sent ahead."""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pytest
from fakes import InProcessLauncher

from autograder.judge.proxy import StudentCrashed, StudentMissing, StudentProxy, StudentRaised, StudentTimeout

NOTEBOOK = """
import time
import numpy as np
CALLS = []

def softmax(z, axis=-1):
    CALLS.append("softmax")
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)

def mse(y_true, y_pred):
    CALLS.append("mse")
    if y_true.shape != y_pred.shape:
        raise ValueError("shapes differ")
    time.sleep(float(y_true.sum()))  # a hang on demand: the sum of the input, in seconds
    return float(np.mean((y_true - y_pred) ** 2))

def cross_entropy(p, y):
    raise NotImplementedError
"""


@pytest.fixture
def spec(repo_course):
    """ps4's spec with short time limits: 0.3 s a call, 0.5 s in all for each function."""
    spec = repo_course.assignment("ps4-softmax")
    items = tuple(dataclasses.replace(i, timeout_s=0.5, call_timeout_s=0.3) for i in spec.items)
    return dataclasses.replace(spec, items=items)


@pytest.fixture
def launcher():
    return InProcessLauncher()


@pytest.fixture
def proxy(spec, launcher, tmp_path):
    session = launcher.launch([(0, NOTEBOOK)], tmp_path, hide=(), cell_timeout_s=5, total_timeout_s=10)
    session.start()
    yield StudentProxy(session, spec)
    session.close()


def calls_made(proxy: StudentProxy) -> list[str]:
    return list(proxy.get("CALLS").value)  # read from the student's namespace, as data


def test_an_answer_comes_back_as_plain_data(proxy):
    out = proxy.softmax(np.array([[1.0, 2.0, 3.0]]))
    assert type(out) is np.ndarray and out.shape == (1, 3)
    np.testing.assert_allclose(out.sum(), 1.0)


def test_a_raised_exception_names_the_call_and_the_line(proxy):
    with pytest.raises(StudentRaised) as info:
        proxy.mse(np.zeros(2), np.zeros(3))
    assert info.value.ename == "ValueError"
    assert info.value.message == (
        "mse([0., 0.] (shape (2,)), [0., 0., 0.] (shape (3,))) raised ValueError: shapes differ (line 14 of its cell)."
    )


def test_a_stub_and_a_missing_function_are_not_written_yet(proxy):
    with pytest.raises(StudentMissing, match=r"^cross_entropy: not written yet"):
        proxy.cross_entropy(np.ones((1, 2)) / 2, np.array([0]))
    with pytest.raises(StudentMissing, match=r"^predict: not written yet \(no function predict"):
        proxy.predict(np.ones((1, 2)))


def test_a_call_that_hangs_times_out_and_the_function_is_not_called_again(proxy, launcher):
    with pytest.raises(StudentTimeout, match=r"no answer within 0\.3 s \(time limit\)"):
        proxy.mse(np.full(2, 5.0), np.zeros(2))  # sleeps 10 s
    start = time.monotonic()
    with pytest.raises(StudentTimeout, match=r"^mse: stopped after 0\.5 s in total"):
        proxy.mse(np.zeros(2), np.zeros(2))
    assert time.monotonic() - start < 0.2  # refused at once, no worker asked
    proxy.softmax(np.ones((1, 2)))  # other functions still answer, in a restarted worker
    assert launcher.spawner.spawned == 2
    assert calls_made(proxy) == ["softmax"]


def test_a_functions_time_budget_is_spent_across_calls(proxy):
    proxy.mse(np.full(2, 0.1), np.zeros(2))  # 0.2 s
    proxy.mse(np.full(2, 0.1), np.zeros(2))  # 0.4 s in all
    with pytest.raises(StudentTimeout):
        proxy.mse(np.full(2, 0.1), np.zeros(2))  # 0.1 s left of the budget
    assert proxy.spent_s("mse") >= 0.45


def test_calls_sent_ahead_are_answered_in_one_go_and_taken_in_order(proxy):
    inputs = [np.array([[float(i), 0.0]]) for i in range(5)]
    proxy.prefetch([("softmax", (z,), {}) for z in inputs])
    assert calls_made(proxy) == ["softmax"] * 5  # all five ran before any was taken
    for z in inputs:
        np.testing.assert_allclose(proxy.softmax(z).sum(), 1.0)
    assert calls_made(proxy) == ["softmax"] * 5  # and none ran again


def test_a_call_not_as_planned_drops_the_answers_sent_ahead(proxy):
    a, b = np.array([[1.0, 2.0]]), np.array([[3.0, 1.0]])
    proxy.prefetch([("softmax", (a,), {}), ("softmax", (a,), {})])
    proxy.softmax(b)  # not the call planned: asked of the worker
    proxy.softmax(a)  # the plan is dropped: asked again
    assert calls_made(proxy) == ["softmax"] * 4


def test_without_a_session_every_call_says_why_the_notebook_could_not_run(spec):
    proxy = StudentProxy(None, spec, start_error="the notebook ended its process too many times")
    with pytest.raises(StudentCrashed, match=r"could not be run \(the notebook ended its process too many times\)"):
        proxy.softmax(np.ones((1, 2)))
    assert not proxy.get("answer_max_shift").ok
