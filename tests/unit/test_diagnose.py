"""Checks and classifiers that the hidden suites share."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from autograder.judge.diagnose import Misconception, classify, clip, expect_close, expect_int, matches, show


def test_matches_is_scale_aware_and_nan_aware():
    assert matches([1e6 + 0.5], [1e6])
    assert not matches([1.001], [1.0])
    assert matches([np.nan, 1.0], [np.nan, 1.0])
    assert not matches([1.0, 2.0], [[1.0, 2.0]])


def test_classify_names_the_first_model_that_agrees():
    z = np.array([1.0, 2.0])
    models = [("a.first", lambda: z * 2), ("a.second", lambda: z * 2), ("a.third", lambda: z * 3)]
    assert classify(z * 2, models) == "a.first"
    assert classify(z * 5, models) == "other"


def test_classify_skips_models_that_fail_on_this_input():
    assert classify(1.0, [("x.raises", lambda: 1 / 0), ("x.ok", lambda: 1.0)]) == "x.ok"


def test_expect_close_says_shape_before_values():
    with pytest.raises(Misconception) as info:
        expect_close(np.zeros(3), np.zeros((1, 3)), what="softmax(z) for z = [0, 0, 0]")
    assert info.value.message == "softmax(z) for z = [0, 0, 0]: returned shape (3,), expected (1, 3)."


def test_expect_close_reports_nan_plainly():
    with pytest.raises(Misconception, match="has nan or inf"):
        expect_close([np.nan, 1.0], [0.5, 0.5], what="f(x)")


def test_expect_close_refuses_non_numbers_without_crashing():
    with pytest.raises(Misconception, match="not numbers"):
        expect_close("0.5", 0.5, what="f(x)")


def test_expect_int_names_a_float_result():
    with pytest.raises(Misconception) as info:
        expect_int(
            109386.0, 109386, what="count_params([784, 128, 64, 10])", float_diagnosis="params.float_result"
        )
    assert info.value.diagnosis == "params.float_result"
    assert expect_int(np.int64(7), 7, what="f()") == 7
    with pytest.raises(Misconception):
        expect_int(True, 1, what="f()")


finite_or_not = st.floats(allow_nan=True, allow_infinity=True, width=64) | st.sampled_from(
    [0.0, 1.0, -1.0, 1e-6, 1e6, np.inf, -np.inf, np.nan]
)


@settings(max_examples=300, deadline=None)
@given(
    st.integers(0, 6).flatmap(
        lambda n: st.tuples(st.lists(finite_or_not, min_size=n, max_size=n), st.just(n))
    ),
    st.lists(finite_or_not, min_size=6, max_size=6),
    st.sampled_from([(1e-5, 1e-6), (0.0, 0.0), (1e-3, 1e-2)]),
    st.booleans(),
)
def test_matches_is_allclose_with_a_scaled_atol(got_n, noise, tolerances, perturb):
    """The direct computation gives exactly np.allclose's verdict, infinities and nans included."""
    got, n = got_n
    want = [g + (noise[i] * 1e-5 if perturb and np.isfinite(noise[i]) else 0.0) for i, g in enumerate(got)]
    if perturb and n:
        want[0] = noise[0]
    rtol, atol = tolerances
    b = np.asarray(want, dtype=np.float64)
    finite = b[np.isfinite(b)]
    scale = max(1.0, float(np.max(np.abs(finite), initial=1.0)))
    with np.errstate(all="ignore"):
        expected = bool(np.allclose(np.asarray(got), b, rtol=rtol, atol=atol * scale, equal_nan=True))
        assert matches(got, want, rtol=rtol, atol=atol) == expected


edge_floats = st.floats(allow_nan=True, allow_infinity=True, width=64) | st.sampled_from(
    [0.0, -0.0, 1.0, -1.0, 1e-300, 1e300, -1e300, 1.7e308, -1.7e308, np.inf, -np.inf, np.nan]
)


@settings(max_examples=400, deadline=None)
@given(
    st.integers(0, 5).flatmap(
        lambda n: st.tuples(
            st.lists(edge_floats, min_size=n, max_size=n), st.lists(edge_floats, min_size=n, max_size=n)
        )
    ),
    st.lists(st.booleans(), min_size=5, max_size=5),
    st.sampled_from([(1e-5, 1e-6), (0.0, 0.0), (1e-3, 1e-2), (1e300, 1e300), (-1e-5, 0.0), (0.0, -1e-6)]),
)
def test_matches_takes_its_short_way_only_where_it_agrees_with_the_long_one(pair, same, tolerances):
    """The step that settles nearly every answer (every expected value finite) gives the verdict
    of the full rule, nans, infinities, overflow and odd tolerances included, and warns of nothing
    (warnings are errors here)."""
    from autograder.selfcheck.closeness import _matches_everywhere

    got, want = pair
    got = [w if s else g for g, w, s in zip(got, want, same, strict=False)]  # some exactly equal
    rtol, atol = tolerances
    a, b = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    assert matches(got, want, rtol=rtol, atol=atol) == _matches_everywhere(a, b, rtol=rtol, atol=atol)


def test_matches_near_misses_and_nonfinite_values_by_hand():
    assert matches([1.0 + 5e-6], [1.0]) and not matches([1.0 + 5e-5], [1.0])
    assert not matches([np.inf], [1e308]) and not matches([1e308], [np.inf])
    assert matches([np.inf, -np.inf], [np.inf, -np.inf]) and not matches([np.inf], [-np.inf])
    assert not matches([np.nan], [1.0]) and not matches([1.0], [np.nan])
    assert not matches([1.7e308], [-1.7e308])  # the difference overflows: far apart, no warning
    assert matches(np.zeros((0, 3)), np.zeros((0, 3))) and not matches(np.zeros((0, 3)), np.zeros((3, 0)))


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["<f8", "<f4", "<i8", "|b1", "<U3"]).flatmap(
        lambda dtype: hnp.arrays(np.dtype(dtype), hnp.array_shapes(min_dims=0, max_dims=3, max_side=4))
    )
)
def test_show_of_an_array_is_its_formatting_whether_remembered_or_not(array):
    """`show` remembers an array's picture by its dtype, shape and bytes: a repeat gets the same
    text, and an array changed in place gets its new picture, never the one remembered."""
    from autograder.selfcheck.values import _format_array

    fresh = clip(_format_array(array), 90)
    assert show(array) == fresh and show(array) == fresh
    if array.size:
        first, kind = array.flat[0], array.dtype.kind
        if kind == "U":
            array.flat[0] = "zz" if first != "zz" else "y"
        elif kind == "f":  # not a number that prints as 0 at four decimals
            array.flat[0] = 0.0 if abs(first) >= 0.5 else 1.0
        else:
            array.flat[0] = 0 if first else 1
        assert show(array) == clip(_format_array(array), 90) != fresh
