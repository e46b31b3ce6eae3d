"""A short one-line picture of a value for a student's message: one printer for the judge's
messages (`judge.diagnose.show`) and the self-check's (`selfcheck`), so a student reads a value
the same way in the notebook and in the feedback.

Public, like everything a student imports.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

__all__ = ["clip", "show"]


def clip(text: str, limit: int) -> str:
    """At most `limit` characters, with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def show(value: Any, *, limit: int = 90) -> str:
    """A short one-line picture of a value for a student's message."""
    if isinstance(value, np.ndarray) or (
        isinstance(value, list | tuple)
        and value
        and all(isinstance(v, int | float | np.number) for v in value)
    ):
        array = np.asarray(value)
        if array.size <= _MEMO_SIZE and array.dtype.kind in "biufU" and array.dtype.itemsize:
            # Every student meets the same inputs (derandomized examples): format each once.
            text = _array_text(array.dtype.str, array.shape, array.tobytes())
        else:
            text = _format_array(array)
    elif isinstance(value, float | np.floating):
        text = repr(float(value))  # "4.0", not NumPy's "4." that reads as a full stop
    elif isinstance(value, np.generic):
        text = repr(value.item())
    else:
        text = repr(value)
    return clip(text, limit)


_MEMO_SIZE = 4096  # elements: larger arrays are rare and cheap to key only by formatting them


@functools.lru_cache(maxsize=8192)
def _array_text(dtype: str, shape: tuple[int, ...], data: bytes) -> str:
    return _format_array(np.frombuffer(data, dtype=np.dtype(dtype)).reshape(shape))


def _format_array(array: np.ndarray[Any, Any]) -> str:
    with np.printoptions(precision=4, threshold=8, edgeitems=2, suppress=True):
        text = " ".join(np.array2string(array, separator=", ").split())
    if array.ndim >= 1:
        return text + f" (shape {array.shape})"
    return repr(float(array)) if array.dtype.kind == "f" else text
