"""Launchers of ``fused/cross_entropy.cu``: the loss of fp32 logits (rows, C) in two kernels, its gradient in one.

Each takes ``xp`` (the array module) and ``get_kernel`` (the compiler-and-cache), CuPy and the NVRTC loader
by default; the CPU tests pass numpy and :func:`hyperion.kernels.emulate.get_kernel`, so the same launches
run on CI's CPU.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hyperion.kernels._launch import cdiv
from hyperion.tensor.cuda_build import cupy_module

SOURCE = "fused/cross_entropy.cu"
GRAD_BLOCK = 256
MAX_GRID = 65535


def _cupy_defaults(xp: Any, get_kernel: Any) -> tuple[Any, Any]:
    if xp is None:
        xp = cupy_module()
    if get_kernel is None:
        from hyperion.kernels.loader import get_kernel
    return xp, get_kernel


def row_threads(classes: int) -> int:
    """Threads of a row's block: a power of two near C/4 (each thread reads about 4 logits), 32 to 1024."""
    return min(1024, max(32, 1 << (max(1, cdiv(classes, 4)) - 1).bit_length()))


def cross_entropy_rows(logits, target, ignore_index: int, eps: float, *, xp: Any = None,
                       get_kernel: Any = None) -> tuple[Any, Any]:
    """Per-row losses (0 on ignored rows) and log-sum-exps of C-contiguous fp32 ``logits`` (rows, C)."""
    xp, get_kernel = _cupy_defaults(xp, get_kernel)
    rows, classes = logits.shape
    loss, lse = xp.empty(rows, np.float32), xp.empty(rows, np.float32)
    if rows:
        get_kernel(SOURCE, "ce_rows")((rows,), (row_threads(classes),), (
            logits, target, loss, lse, np.int32(classes), np.int64(ignore_index), np.float32(eps)))
    return loss, lse


def cross_entropy_total(loss, target, ignore_index: int, mean: bool, *, xp: Any = None,
                        get_kernel: Any = None):
    """``[mean or sum of loss, count of kept rows]`` as a 2-element fp32 array, summed in a fixed order."""
    xp, get_kernel = _cupy_defaults(xp, get_kernel)
    out = xp.empty(2, np.float32)
    get_kernel(SOURCE, "ce_total")((1,), (1024,), (
        loss, target, out, np.int32(loss.shape[0]), np.int64(ignore_index), np.int32(mean)))
    return out


def cross_entropy_grad(logits, target, lse, grad, count, ignore_index: int, eps: float, reduction: str, *,
                       xp: Any = None, get_kernel: Any = None):
    """d loss / d logits: ``grad`` is one value (``"mean"``, ``"sum"``) or one per row (``"none"``);
    ``count`` the kept rows (``"mean"``: ``cross_entropy_total(...)[1:]``), any fp32 array otherwise."""
    xp, get_kernel = _cupy_defaults(xp, get_kernel)
    mode = {"none": 0, "sum": 1, "mean": 2}[reduction]
    dx = xp.empty(logits.shape, np.float32)
    n = logits.size
    if n:
        get_kernel(SOURCE, "ce_grad")((min(cdiv(n, GRAD_BLOCK), MAX_GRID),), (GRAD_BLOCK,), (
            logits, target, lse, grad, count, dx, np.int64(n), np.int32(logits.shape[1]),
            np.int64(ignore_index), np.float32(eps), np.int32(mode)))
    return dx
