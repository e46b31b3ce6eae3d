"""When an answer's values are close enough to the expected ones: one rule for the judge's
hidden checks (`judge.diagnose`) and the student's self-checks (`selfcheck`).

Public, like everything a student imports.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["ATOL", "RTOL", "matches"]

#: float32 accuracy of the reference (student-api.md): rtol 1e-5, atol 1e-6 at order one.
RTOL = 1e-5
ATOL = 1e-6


def matches(got: Any, want: Any, *, rtol: float = RTOL, atol: float = ATOL) -> bool:
    """Same shape and close values (nan matches nan), with tolerance scaled to the values.

    `np.allclose(got, want, rtol, atol * scale, equal_nan=True)`, where `scale` is the largest
    finite |want| (at least 1), computed directly: allclose spends most of its ~30 us on
    small arrays in checks and dispatch, and a submission needs a hundred or more of these.
    When every expected value is finite (nearly always) fewer steps give the same answer.
    """
    try:
        a = np.asarray(got, dtype=np.float64)
        b = np.asarray(want, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    if a.shape != b.shape:
        return False
    if b.size:
        abs_b = np.abs(b)
        top = float(abs_b.max())  # nan or inf unless every expected value is finite
        scale = max(top, 1.0)
        if math.isfinite(abs(atol * scale) + abs(rtol * top)):
            # Every expected value and every tolerance is finite: a value within its tolerance
            # is finite too, and nan and inf (far from any finite value) are never close.
            with np.errstate(invalid="ignore", over="ignore"):
                close = np.abs(a - b) <= atol * scale + rtol * abs_b
            return bool(close.all() or (close | (a == b)).all())
    return _matches_everywhere(a, b, rtol=rtol, atol=atol)


_Floats = np.ndarray[Any, np.dtype[np.float64]]


def _matches_everywhere(a: _Floats, b: _Floats, *, rtol: float, atol: float) -> bool:
    """`matches` of two float arrays of one shape, with nan, inf and overflow taken care of."""
    b_finite = np.isfinite(b)
    scale = float(np.max(np.abs(b), where=b_finite, initial=1.0))  # at least 1
    with np.errstate(invalid="ignore", over="ignore"):
        close = np.abs(a - b) <= atol * scale + rtol * np.abs(b)
    close &= b_finite & np.isfinite(a)  # infinities are close only to themselves (below)
    close |= a == b
    close |= np.isnan(a) & np.isnan(b)
    return bool(close.all())
