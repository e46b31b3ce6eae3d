"""Reference solutions for the judge: NumPy (`np_ref`) and array-API (`xp_ref`, any backend).

Trusted side only: nothing here may enter a worker's view. `backend` picks and loads the array
library (PyTorch and CuPy lazily) and moves data to and from it; `tolerance` says how close an
answer must be to the reference.
"""

from autograder.judge.reference import np_ref, xp_ref
from autograder.judge.reference.backend import (
    Backend,
    BackendUnavailableError,
    available_backends,
    call_on_backend,
    load_backend,
    to_backend,
    to_numpy,
)
from autograder.judge.reference.tolerance import Tolerance, tolerance_for

__all__ = [
    "Backend",
    "BackendUnavailableError",
    "Tolerance",
    "available_backends",
    "call_on_backend",
    "load_backend",
    "np_ref",
    "to_backend",
    "to_numpy",
    "tolerance_for",
    "xp_ref",
]
