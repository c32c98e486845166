"""Small helpers the launchers share: input checks with clear errors, grid arithmetic, scalar types."""

from __future__ import annotations

import functools

import numpy as np


def cdiv(a: int, b: int) -> int:
    return -(-a // b)


def i32(v: int) -> np.int32:
    return np.int32(v)


def as_device(x, dtype, name: str, ndim: int | None = None):
    """``x`` as a C-contiguous CuPy array of ``dtype`` (copying only if needed); clear errors otherwise."""
    import cupy

    if type(x) is cupy.ndarray and x.dtype == dtype and (ndim is None or x.ndim == ndim) and x._c_contiguous:
        return x  # the common case, checked without building flags objects
    if not isinstance(x, cupy.ndarray):
        raise TypeError(f"{name} must be a cupy.ndarray on the GPU, got {type(x).__name__}")
    if x.dtype != np.dtype(dtype):
        raise TypeError(f"{name} must have dtype {np.dtype(dtype)}, got {x.dtype}")
    if ndim is not None and x.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {x.shape}")
    return cupy.ascontiguousarray(x)


def aligned16(*arrays) -> bool:
    """True when every array's device pointer is 16-byte aligned (float4 / cp.async legal)."""
    return all(a.data.ptr % 16 == 0 for a in arrays)


@functools.cache
def sm_count(device: int = 0) -> int:
    """Multiprocessors of a device (cached: reading the attribute table on every launch is slow)."""
    import cupy

    return int(cupy.cuda.Device(device).attributes["MultiProcessorCount"])
