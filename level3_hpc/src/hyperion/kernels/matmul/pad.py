"""Launchers of ``matmul/pad16.cu``: a zero-padded copy of a 16-bit matrix, so that an unaligned tensor-core
product runs on the aligned fast path, and the crop of the padded product (:func:`hyperion.kernels.matmul.
matmul_tc_auto` launches the same kernels through plans built once per shape; these are for reading and tests).

``xp`` and ``get_kernel`` are CuPy and the NVRTC loader by default; the CPU tests pass numpy and the emulator's.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hyperion.kernels._launch import cdiv

THREADS = 256


def pad16(x, rows: int, cols: int, *, xp: Any = None, get_kernel: Any = None):
    """``x`` (R, C; C-contiguous, 2-byte dtype) copied into zeros of shape (``rows`` >= R, ``cols`` >= C, a
    multiple of 8)."""
    if xp is None:
        import cupy as xp
    if get_kernel is None:
        from hyperion.kernels.loader import get_kernel
    r, c = x.shape
    if x.itemsize != 2 or rows < r or cols < c or cols % 8:
        raise ValueError(f"pad16: a 2-byte matrix into a larger one of a multiple of 8 columns; got {x.dtype} "
                         f"{x.shape} -> ({rows}, {cols})")
    out = xp.empty((rows, cols), x.dtype)
    total = rows * cols // 8
    if total:
        get_kernel("matmul/pad16.cu", "pad16")((cdiv(total, THREADS),), (THREADS,),
                                               (x, out, np.int32(r), np.int32(c), np.int32(rows), np.int32(cols)))
    return out


def crop32(x, cols: int, *, xp: Any = None, get_kernel: Any = None):
    """The first ``cols`` columns of the C-contiguous fp32 matrix ``x``, as a new C-contiguous matrix."""
    if xp is None:
        import cupy as xp
    if get_kernel is None:
        from hyperion.kernels.loader import get_kernel
    m, np_ = x.shape
    if x.dtype != np.float32 or not 0 <= cols <= np_:
        raise ValueError(f"crop32: an fp32 matrix and at most its {np_} columns; got {x.dtype}, {cols}")
    out = xp.empty((m, cols), np.float32)
    if m * cols:
        get_kernel("matmul/pad16.cu", "crop32")((cdiv(m * cols, THREADS),), (THREADS,),
                                                (x, out, np.int32(m), np.int32(np_), np.int32(cols)))
    return out
