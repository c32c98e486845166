"""Launcher of ``fused/column_sum.cu``: ``x.sum(axis=0)`` of a C-contiguous fp32 (K, N) matrix with few rows.

``xp`` and ``get_kernel`` are CuPy and the NVRTC loader by default; the CPU tests pass numpy and the emulator's.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hyperion.kernels._launch import cdiv
from hyperion.tensor.cuda_build import cupy_module

MAX_ROWS = 1024  # 64 loads per thread at most: longer columns are CuPy's reduction (level 1 chunks long ones first)
SLICES = 16  # warps of a block, each taking every 16th row (the .cu's SLICES)


def column_sum(x, *, xp: Any = None, get_kernel: Any = None):
    """The (N,) column sums of ``x`` (K, N), 0 < K <= MAX_ROWS, C-contiguous fp32."""
    if xp is None:
        xp = cupy_module()
    if get_kernel is None:
        from hyperion.kernels.loader import get_kernel
    rows, cols = x.shape
    out = xp.empty(cols, np.float32)
    if cols:
        get_kernel("fused/column_sum.cu", "column_sum")((cdiv(cols, 32),), (32, SLICES),
                                                        (x, out, np.int32(rows), np.int32(cols)))
    return out
