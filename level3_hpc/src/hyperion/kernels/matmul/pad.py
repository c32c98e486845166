"""Launcher of ``matmul/pad16.cu``: a zero-padded copy of a 16-bit matrix, so that an unaligned tensor-core
product runs on the aligned fast path (:func:`hyperion.kernels.matmul.matmul_tc_auto`).

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
