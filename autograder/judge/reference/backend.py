"""Which array library the trusted judge runs the array-API references on, and moving data to it.

PyTorch and CuPy are optional and heavy, so they are imported only when a backend that needs
them is loaded, never when this module is. Data crosses between NumPy and a backend only here:
`to_backend` moves NumPy inputs there, `to_numpy` brings results back, `call_on_backend` does
both around one reference call.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Literal

import numpy as np
from array_api_compat import is_cupy_array, is_numpy_array, is_torch_array

from autograder.errors import BackendError

__all__ = [
    "BACKEND_NAMES",
    "Backend",
    "BackendUnavailableError",
    "available_backends",
    "call_on_backend",
    "load_backend",
    "to_backend",
    "to_numpy",
]

logger = logging.getLogger(__name__)

BackendName = Literal["numpy", "torch", "cupy"]
BACKEND_NAMES: tuple[BackendName, ...] = ("numpy", "torch", "cupy")

_TORCH_HINT = "install it with `pip install torch==2.13.0`, or use the numpy backend"
_CUPY_HINT = "CuPy needs an NVIDIA GPU with CUDA (`pip install cupy-cuda12x`); use numpy or torch"


class BackendUnavailableError(BackendError):
    """The asked-for backend cannot run here; the message says what is missing and what to do."""


@dataclass(frozen=True)
class Backend:
    """An array library ready to compute on: its name, device and array-API namespace."""

    name: BackendName
    device: str
    namespace: ModuleType

    @property
    def array_device(self) -> Any:
        """The device as this namespace's `asarray(device=...)` takes it."""
        if self.name == "cupy":
            # CuPy takes a device index, not a "cuda:0" string.
            return int(self.device.partition(":")[2] or 0)
        return self.device


def _load_numpy() -> Backend:
    """NumPy on the CPU: always there."""
    from array_api_compat import numpy as xp_numpy

    return Backend("numpy", "cpu", xp_numpy)


def _load_torch() -> Backend:
    """PyTorch on CUDA when a GPU is visible, else on the CPU."""
    try:
        import torch
        from array_api_compat import torch as xp_torch
    except ImportError as exc:
        raise BackendUnavailableError(f"PyTorch is not installed ({exc}); {_TORCH_HINT}.") from exc
    # TF32 would run float32 matmuls on Ampere+ GPUs with a 10-bit mantissa (errors near 1e-3),
    # far outside the 1e-5 the judge promises students; the references must be exact to float32.
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    if torch.cuda.is_available():
        return Backend("torch", f"cuda:{torch.cuda.current_device()}", xp_torch)
    return Backend("torch", "cpu", xp_torch)


def _load_cupy() -> Backend:
    """CuPy on the current CUDA device."""
    try:
        import cupy
        from array_api_compat import cupy as xp_cupy
    except ImportError as exc:
        raise BackendUnavailableError(f"CuPy is not installed ({exc}); {_CUPY_HINT}.") from exc
    try:
        # CUDARuntimeError (a RuntimeError) when there is no driver or no GPU.
        count = cupy.cuda.runtime.getDeviceCount()
        index = cupy.cuda.runtime.getDevice()
    except RuntimeError as exc:
        raise BackendUnavailableError(f"CuPy found no CUDA GPU ({exc}); {_CUPY_HINT}.") from exc
    if count == 0:
        raise BackendUnavailableError(f"CuPy found no CUDA GPU; {_CUPY_HINT}.")
    return Backend("cupy", f"cuda:{index}", xp_cupy)


def load_backend(name: str) -> Backend:
    """Load backend numpy, torch, cupy or auto (a CUDA backend when a GPU is present, else numpy).

    Raises BackendUnavailableError when the named library or its GPU is missing, ValueError
    for an unknown name.
    """
    if name == "numpy":
        return _load_numpy()
    if name == "torch":
        return _load_torch()
    if name == "cupy":
        return _load_cupy()
    if name == "auto":
        for loader in (_load_cupy, _load_torch):
            try:
                backend = loader()
            except BackendUnavailableError as exc:
                logger.debug("auto backend: %s", exc)
                continue
            if backend.device != "cpu":
                return backend
        return _load_numpy()
    raise ValueError(f"no backend {name!r}; choose one of {', '.join(BACKEND_NAMES)} or auto")


def available_backends() -> list[tuple[str, str]]:
    """(name, device) for each backend that loads here, (name, why not) for each that does not."""
    found: list[tuple[str, str]] = []
    for name in BACKEND_NAMES:
        try:
            found.append((name, load_backend(name).device))
        except BackendUnavailableError as exc:
            found.append((name, str(exc)))
    return found


def to_backend(backend: Backend, value: Any, *, dtype: str = "float64") -> Any:
    """Move NumPy arrays in value (nested in tuples, lists and dicts) to backend.

    Floating arrays become `dtype` there; integer and boolean arrays keep their dtype. Anything
    else (Python numbers, strings, callables, string arrays) is passed through as it is.
    """
    xp = backend.namespace
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        target = getattr(xp, dtype) if value.dtype.kind == "f" else None
        # Through a contiguous copy: torch cannot wrap NumPy's negative strides.
        data = np.asarray(value, order="C")
        return xp.asarray(data, dtype=target, device=backend.array_device)
    if isinstance(value, tuple | list):
        return type(value)(to_backend(backend, item, dtype=dtype) for item in value)
    if isinstance(value, dict):
        return {key: to_backend(backend, item, dtype=dtype) for key, item in value.items()}
    return value


def to_numpy(value: Any) -> Any:
    """Bring backend arrays in value (nested in tuples, lists and dicts) back as NumPy arrays."""
    if is_numpy_array(value):
        return value
    if is_torch_array(value):
        return value.detach().cpu().numpy()
    if is_cupy_array(value):
        return value.get()
    if isinstance(value, tuple | list):
        return type(value)(to_numpy(item) for item in value)
    if isinstance(value, dict):
        return {key: to_numpy(item) for key, item in value.items()}
    return value


def call_on_backend(
    backend: Backend,
    function: Callable[..., Any],
    *args: Any,
    dtype: str = "float64",
    **kwargs: Any,
) -> Any:
    """Call an xp_ref function on backend with NumPy inputs; return its result as NumPy."""
    result = function(*to_backend(backend, args, dtype=dtype), **to_backend(backend, kwargs, dtype=dtype))
    return to_numpy(result)
