"""Launchers of ``fused/relu.cu``: ReLU of fp32 arrays (any shape, C-contiguous), one kernel each way.

``xp`` and ``get_kernel`` are CuPy and the NVRTC loader by default; the CPU tests pass numpy and the emulator's.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hyperion.kernels._launch import cdiv
from hyperion.kernels.fused.cross_entropy import GRAD_BLOCK, MAX_GRID, _cupy_defaults

SOURCE = "fused/relu.cu"


def relu_forward(x, *, xp: Any = None, get_kernel: Any = None) -> tuple[Any, Any]:
    """``(max(x, 0), mask)``: a NaN stays NaN; ``mask`` (bool) is ``y != 0``, what the backward reads."""
    xp, get_kernel = _cupy_defaults(xp, get_kernel)
    y, positive = xp.empty(x.shape, np.float32), xp.empty(x.shape, np.bool_)
    if x.size:
        get_kernel(SOURCE, "relu_forward")((min(cdiv(x.size, GRAD_BLOCK), MAX_GRID),), (GRAD_BLOCK,),
                                           (x, y, positive, np.int64(x.size)))
    return y, positive


def relu_backward(grad, positive, *, xp: Any = None, get_kernel: Any = None):
    """``grad * positive`` (fp32 ``grad``, the forward's bool mask, same shape)."""
    xp, get_kernel = _cupy_defaults(xp, get_kernel)
    d = xp.empty(grad.shape, np.float32)
    if grad.size:
        get_kernel(SOURCE, "relu_backward")((min(cdiv(grad.size, GRAD_BLOCK), MAX_GRID),), (GRAD_BLOCK,),
                                            (grad, positive, d, np.int64(grad.size)))
    return d
