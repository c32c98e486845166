"""Small helpers the launchers share: input checks with clear errors, grid arithmetic, scalar types."""

from __future__ import annotations

import functools
import math

import numpy as np

from hyperion.tensor.cuda_build import cupy_module


def cdiv(a: int, b: int) -> int:
    return -(-a // b)


def i32(v: int) -> np.int32:
    return np.int32(v)


def as_device(x, dtype, name: str, ndim: int | None = None):
    """``x`` as a C-contiguous CuPy array of ``dtype`` (copying only if needed); clear errors otherwise."""
    cupy = cupy_module()

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
    cupy = cupy_module()

    return int(cupy.cuda.Device(device).attributes["MultiProcessorCount"])


class OutputBlock:
    """New output arrays of fixed shapes carved from one allocation of CuPy's memory pool, laid out once (a
    launch plan keeps one) so that a call pays one pool allocation instead of one per array.

    Each array, and the workspace of ``scratch`` bytes after them, starts on a 256-byte boundary. The arrays
    share the allocation: it goes back to the pool when the last of them is gone, so carve only arrays that
    live and die together (a forward's output and the statistics the backward reads; not a weight's gradient
    next to an activation's, which would hold the activation's memory as long as the gradient is kept).
    """

    ALIGN = 256

    def __init__(self, *specs: tuple[tuple[int, ...], type | np.dtype], scratch: int = 0) -> None:
        self.layout: list[tuple[tuple[int, ...], np.dtype, int]] = []
        offset = 0
        for shape, dtype in specs:
            dtype = np.dtype(dtype)
            self.layout.append((tuple(shape), dtype, offset))
            offset += cdiv(math.prod(shape) * dtype.itemsize, self.ALIGN) * self.ALIGN
        self.scratch = scratch
        self.nbytes = offset + scratch

    def __call__(self) -> list:
        """The arrays, uninitialised, in the order of the specs; then, with ``scratch`` bytes asked for, the
        device address of that workspace (after the arrays; no array object made for it)."""
        cupy = cupy_module()

        memory = cupy.cuda.alloc(self.nbytes)
        arrays = [cupy.ndarray(shape, dtype, memptr=memory + offset) for shape, dtype, offset in self.layout]
        if self.scratch:
            arrays.append(memory.ptr + self.nbytes - self.scratch)
        return arrays
