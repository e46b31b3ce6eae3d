"""The `student` proxy over an in-process session: answers, failures, time budgets, calls sent ahead."""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pytest
from fakes import InProcessLauncher
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from autograder.judge.proxy import (
    CallPlan,
    Reference,
    StudentCrashed,
    StudentMissing,
    StudentProxy,
    StudentRaised,
    StudentTimeout,
    _call_key,
    builtin,
    fresh_copy,
    own,
)
from autograder.judge.reference import load_backend, np_ref

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
    with pytest.raises(
        StudentCrashed, match=r"could not be run \(the notebook ended its process too many times\)"
    ):
        proxy.softmax(np.ones((1, 2)))
    assert not proxy.get("answer_max_shift").ok


def test_a_call_with_an_input_changed_since_it_was_planned_is_asked_again(proxy):
    a = np.array([[1.0, 2.0]])
    proxy.prefetch([("softmax", (a,), {})])
    a[0, 0] = 3.0  # the check changed its input after the plan was made: the answer ahead is not for it
    np.testing.assert_allclose(proxy.softmax(a), [[np.exp(1) / (np.exp(1) + 1), 1 / (np.exp(1) + 1)]])
    assert calls_made(proxy) == ["softmax"] * 2


def test_a_plan_made_once_serves_every_student_and_keeps_its_own_read_only_inputs(spec, launcher, tmp_path):
    a = np.array([[1.0, 2.0]])
    plan = CallPlan.of([("softmax", (a,), {}), ("softmax", (a,), {"axis": 0})])
    a[0, 0] = 7.0  # the caller's array is not the plan's
    planned = plan.calls[0][1][0]
    assert planned[0, 0] == 1.0 and not planned.flags.writeable
    for student in range(2):
        session = launcher.launch(
            [(0, NOTEBOOK)], tmp_path / str(student), hide=(), cell_timeout_s=5, total_timeout_s=10
        )
        session.start()
        proxy = StudentProxy(session, spec)
        proxy.prefetch(plan)
        np.testing.assert_allclose(proxy.softmax(np.array([[1.0, 2.0]])).sum(), 1.0)
        np.testing.assert_allclose(proxy.softmax(np.array([[1.0, 2.0]]), axis=0), [[1.0, 1.0]])
        assert calls_made(proxy) == ["softmax"] * 2  # both taken from the answers sent ahead
        session.close()


def test_a_plan_stops_before_the_first_call_it_cannot_key():
    plan = CallPlan.of([("f", (np.zeros(2),), {}), ("f", (object(),), {}), ("f", (1.0,), {})])
    assert [args for _, args, _ in plan.calls] == [(plan.calls[0][1][0],)] and len(plan.keys) == 1


scalars = st.one_of(
    st.integers(-3, 3),
    st.floats(-2, 2, allow_nan=False),
    st.booleans(),
    st.sampled_from(
        ["a", "b", None, builtin("relu"), own("relu"), np.float32(1.0), np.int64(1), np.float64(1.0)]
    ),
)
arrays = st.sampled_from([np.float64, np.float32, np.int64, np.bool_]).flatmap(
    lambda dtype: hnp.arrays(dtype, hnp.array_shapes(min_dims=0, max_dims=2, max_side=3))
)
values = st.recursive(
    scalars | arrays, lambda inner: st.lists(inner, max_size=3) | st.tuples(inner, inner), max_leaves=6
)
calls = st.tuples(
    st.sampled_from(["softmax", "mse"]),
    st.lists(values, max_size=3).map(tuple),
    st.dictionaries(st.sampled_from(["axis", "y"]), values, max_size=2),
)


def _same(x, y) -> bool:
    """Equal inputs, as a student's function would see them: type, dtype, shape and bytes."""
    if type(x) is not type(y):
        return False
    if isinstance(x, np.ndarray | np.generic):
        return x.dtype == y.dtype and x.shape == y.shape and x.tobytes() == y.tobytes()
    if isinstance(x, list | tuple):
        return len(x) == len(y) and all(_same(a, b) for a, b in zip(x, y, strict=True))
    if isinstance(x, dict):
        return x.keys() == y.keys() and all(_same(x[k], y[k]) for k in x)
    return x == y


@settings(max_examples=300, deadline=None)
@given(calls, calls)
def test_two_calls_have_one_key_exactly_when_their_inputs_are_the_same(one, other):
    key_one, key_other = _call_key(*one), _call_key(*other)
    assert key_one == _call_key(one[0], fresh_copy(one[1]), fresh_copy(one[2]))  # a copy: the same call
    assert (key_one == key_other) == (
        one[0] == other[0] and _same(one[1], other[1]) and _same(one[2], other[2])
    )
    hash(key_one)


@settings(max_examples=100, deadline=None)
@given(
    hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=2, max_side=4), elements=st.floats(-5, 5))
)
def test_a_reference_answer_is_never_reused_for_an_input_changed_in_place(z):
    ref = Reference(load_backend("numpy"))
    first = ref.softmax(z)
    first[...] = 0.0  # the caller's copy: what the reference remembers stays as it was
    np.testing.assert_allclose(ref.softmax(z), np_ref.softmax(z))
    z[(0,) * z.ndim] += 1.0
    np.testing.assert_allclose(ref.softmax(z), np_ref.softmax(z))


def test_a_reference_function_is_made_once_a_name_and_an_unknown_name_is_no_function():
    ref = Reference(load_backend("numpy"))
    assert ref.softmax is ref.softmax
    with pytest.raises(AttributeError, match="no_such_function"):
        ref.no_such_function  # noqa: B018 (the attribute access is the test)
    np.testing.assert_allclose(ref.softmax(np.array([0.0, 0.0])), [0.5, 0.5])
