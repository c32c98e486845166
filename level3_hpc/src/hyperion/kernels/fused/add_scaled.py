"""Launchers of ``fused/add_scaled.cu``: ``target += alpha * x`` in place (fp32, same size, C-contiguous).

:func:`add_scaled_` is the planned launch ``KernelBackend.add_scaled_`` calls (one ``PackedLaunch`` per size);
:func:`add_scaled` takes ``xp`` and ``get_kernel`` (CuPy and the NVRTC loader by default; the CPU tests pass
numpy and the emulator's).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hyperion.kernels._launch import cdiv

SOURCE, BLOCK, MAX_GRID = "fused/add_scaled.cu", 256, 1024
MAX_SIZE = 2**31 - 1  # the kernel counts in int32


def _grid(n: int) -> int:
    return min(cdiv(n, BLOCK), MAX_GRID)


def add_scaled(target, x, alpha: float, *, xp: Any = None, get_kernel: Any = None):
    """``target += alpha * x`` (``alpha`` rounded to fp32 first); returns ``target``."""
    if get_kernel is None:
        from hyperion.kernels.loader import get_kernel
    if target.dtype != np.float32 or x.dtype != np.float32 or target.shape != x.shape or target.size > MAX_SIZE:
        raise ValueError(f"add_scaled: two fp32 arrays of one shape, got {target.dtype} {target.shape} and "
                         f"{x.dtype} {x.shape}")
    if target.size:
        get_kernel(SOURCE, "add_scaled")((_grid(target.size),), (BLOCK,),
                                         (target, x, np.float32(alpha), np.int32(target.size)))
    return target


_PLANS: dict[int, Any] = {}  # size -> PackedLaunch


def add_scaled_(target, x, alpha: float) -> None:
    """The planned launch: ``target`` and ``x`` already checked (CuPy, fp32, one size, C-contiguous, size > 0)."""
    n = target.size
    launch = _PLANS.get(n)
    if launch is None:
        from hyperion.kernels.loader import get_kernel
        from hyperion.tensor.cuda_build import PackedLaunch

        launch = _PLANS[n] = PackedLaunch(get_kernel(SOURCE, "add_scaled"), (_grid(n),), (BLOCK,), 0, "ppfi")
    launch(target.data.ptr, x.data.ptr, alpha, n)
