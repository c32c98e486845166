"""Launchers of ``matmul/pad16.cu``: a zero-padded copy of a 16-bit matrix, so that an unaligned tensor-core
product runs on the aligned fast path, and the crop of the padded product (:func:`hyperion.kernels.matmul.
matmul_tc_auto` launches the same kernels through plans built once per shape; these are for reading and tests).

``xp`` and ``get_kernel`` are CuPy and the NVRTC loader by default; the CPU tests pass numpy and the emulator's.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hyperion.kernels._launch import cdiv
from hyperion.tensor.cuda_build import cupy_module

THREADS = 256


def pad16(x, rows: int, cols: int, *, xp: Any = None, get_kernel: Any = None):
    """``x`` (R, C; C-contiguous, 2-byte dtype) copied into zeros of shape (``rows`` >= R, ``cols`` >= C, a
    multiple of 8)."""
    return pad16_pair(x, (rows, cols), None, None, xp=xp, get_kernel=get_kernel)[0]


def pad16_pair(a, a_padded: tuple[int, int], b, b_padded: tuple[int, int] | None, *, xp: Any = None,
               get_kernel: Any = None) -> tuple[Any, Any]:
    """Padded copies of ``a`` and ``b`` (or of ``a`` alone when ``b`` is None) in one launch."""
    if xp is None:
        xp = cupy_module()
    if get_kernel is None:
        from hyperion.kernels.loader import get_kernel
    pairs = [(a, a_padded)] + ([(b, b_padded)] if b is not None else [])
    outs, dims = [], []
    for x, (rows, cols) in pairs:
        r, c = x.shape
        if x.itemsize != 2 or rows < r or cols < c or cols % 8:
            raise ValueError(f"pad16: a 2-byte matrix into a larger one of a multiple of 8 columns; got {x.dtype} "
                             f"{x.shape} -> ({rows}, {cols})")
        outs.append(xp.empty((rows, cols), x.dtype))
        dims += [r, c, rows, cols]
    if b is None:
        outs.append(outs[0])  # the second pair has no rows: never read or written
        dims += [0, 0, 0, 8]
    total = dims[2] * dims[3] // 8 + dims[6] * dims[7] // 8
    if total:
        second = b if b is not None else a
        get_kernel("matmul/pad16.cu", "pad16_pair")((cdiv(total, THREADS),), (THREADS,),
                                                    (a, outs[0], second, outs[1], *map(np.int32, dims)))
    return outs[0], (outs[1] if b is not None else None)


def crop32(x, cols: int, *, xp: Any = None, get_kernel: Any = None):
    """The first ``cols`` columns of the C-contiguous fp32 matrix ``x``, as a new C-contiguous matrix."""
    if xp is None:
        xp = cupy_module()
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
