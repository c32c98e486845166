"""Demonstration kernels that each isolate one effect (divergence, coalescing, bank conflicts)."""

from __future__ import annotations

import numpy as np

from hyperion.kernels._launch import as_device, cdiv, i32
from hyperion.kernels.loader import get_kernel


def branch(y, uniform: bool, iters: int = 64):
    """In place: y = f(y) with the branch per lane (divergent) or per warp (uniform)."""
    y = as_device(y, np.float32, "y", ndim=1)
    name = "demo_uniform" if uniform else "demo_divergent"
    get_kernel("demo/divergence.cu", name)((cdiv(y.size, 256),), (256,), (y, i32(y.size), i32(iters)))
    return y


def gather(x, stride: int):
    """y[i] = x[(i * stride) % n]: stride 1 is coalesced, stride 32 is not."""
    import cupy

    x = as_device(x, np.float32, "x", ndim=1)
    y = cupy.empty_like(x)
    get_kernel("demo/coalescing.cu", "demo_gather")(
        (cdiv(x.size, 256),), (256,), (x, y, np.int64(x.size), np.int64(stride))
    )
    return y


def transpose(x, padded: bool):
    """x^T through a shared-memory tile, with (padded=False) or without 32-way bank conflicts."""
    import cupy

    x = as_device(x, np.float32, "x", ndim=2)
    n = x.shape[0]
    if x.shape != (n, n) or n % 32:
        raise ValueError(
            f"the transpose demo takes a square matrix with a multiple of 32 rows, got {x.shape}"
        )
    y = cupy.empty_like(x)
    name = "demo_transpose_padded" if padded else "demo_transpose_conflicts"
    get_kernel("demo/bank_conflicts.cu", name)((n // 32, n // 32), (32, 8), (x, y, i32(n)))
    return y
