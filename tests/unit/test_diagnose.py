"""Checks and classifiers that the hidden suites share."""

from __future__ import annotations

import numpy as np
import pytest

from autograder.diagnose import Misconception, classify, expect_close, expect_int, matches


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
