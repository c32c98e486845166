"""Fused kernels, each beside its unfused chain (same inputs, same result, more bytes moved).

- ``bias_gelu(x, b)`` vs ``bias_gelu_unfused``: add_bias then gelu.
- ``scale_mask_softmax(s, scale)`` vs ``scale_mask_softmax_unfused``: scale, causal mask, softmax 04.
- ``residual_layernorm(x, r, w, b)`` vs ``residual_layernorm_unfused``: add then layernorm 03.
- ``attention_scores(q, k, scale)``: S = scale Q K^T with the causal mask fused, vs
  ``attention_scores_unfused``: cuBLAS batched GEMM, then scale, then mask.
``BYTES`` gives the floats each variant moves per element (the numbers the report uses).
"""

from __future__ import annotations

import numpy as np

from hyperion.kernels._launch import aligned16, as_device, cdiv, i32, sm_count
from hyperion.kernels.layernorm import cache_vec as _ln_cache_vec
from hyperion.kernels.layernorm import layernorm_forward
from hyperion.kernels.loader import get_kernel
from hyperion.kernels.softmax import softmax
from hyperion.tensor.cuda_build import cupy_module

ELEMENTWISE_BLOCK = 256


def _grid(n: int) -> tuple[int]:
    sms = sm_count()
    return (max(1, min(cdiv(n, ELEMENTWISE_BLOCK), 32 * sms)),)


def _bias_args(x, b):
    x = as_device(x, np.float32, "x", ndim=2)
    b = as_device(b, np.float32, "bias", ndim=1)
    if b.shape != (x.shape[1],):
        raise ValueError(f"bias must have shape ({x.shape[1]},), got {b.shape}")
    return x, b


def bias_gelu(x, b):
    cupy = cupy_module()

    x, b = _bias_args(x, b)
    y = cupy.empty_like(x)
    if x.size:
        get_kernel("fused/bias_gelu.cu", "bias_gelu")(
            _grid(x.size), (ELEMENTWISE_BLOCK,), (x, b, y, np.int64(x.size), i32(x.shape[1]))
        )
    return y


def bias_gelu_unfused(x, b):
    cupy = cupy_module()

    x, b = _bias_args(x, b)
    t, y = cupy.empty_like(x), cupy.empty_like(x)
    if x.size:
        g = _grid(x.size)
        get_kernel("fused/bias_gelu.cu", "add_bias")(
            g, (ELEMENTWISE_BLOCK,), (x, b, t, np.int64(x.size), i32(x.shape[1]))
        )
        get_kernel("fused/bias_gelu.cu", "gelu")(g, (ELEMENTWISE_BLOCK,), (t, y, np.int64(x.size)))
    return y


def gelu(x):
    """GELU (tanh form) of an fp32 array of any shape, one elementwise kernel."""
    cupy = cupy_module()

    x = as_device(x, np.float32, "x")
    y = cupy.empty_like(x)
    if x.size:
        get_kernel("fused/bias_gelu.cu", "gelu")(
            _grid(x.size), (ELEMENTWISE_BLOCK,), (x, y, np.int64(x.size))
        )
    return y


def gelu_backward(dy, x):
    """``dx`` of ``gelu(x)`` (tanh form), one elementwise kernel."""
    cupy = cupy_module()

    x = as_device(x, np.float32, "x")
    dy = as_device(dy, np.float32, "grad")
    if dy.shape != x.shape:
        raise ValueError(f"grad has shape {dy.shape}, x has {x.shape}")
    dx = cupy.empty_like(x)
    if x.size:
        get_kernel("fused/bias_gelu.cu", "gelu_bwd")(
            _grid(x.size), (ELEMENTWISE_BLOCK,), (dy, x, dx, np.int64(x.size))
        )
    return dx


def bias_gelu_backward(dy, x, b):
    """``(dx, db)`` of ``gelu(x + b)``."""
    cupy = cupy_module()

    x, b = _bias_args(x, b)
    dy = as_device(dy, np.float32, "grad", ndim=2)
    dx = cupy.empty_like(x)
    if x.size:
        get_kernel("fused/bias_gelu.cu", "bias_gelu_bwd")(
            _grid(x.size), (ELEMENTWISE_BLOCK,), (dy, x, b, dx, np.int64(x.size), i32(x.shape[1]))
        )
    return dx, dx.sum(axis=0)


def _scores(s):
    s = as_device(s, np.float32, "scores", ndim=3)
    if s.shape[1] != s.shape[2]:
        raise ValueError(f"scores must be BH x T x T, got {s.shape}")
    return s


def scale_mask_softmax(s, scale: float, causal: bool = True, block: int = 256):
    """softmax(causal_mask(scale * s)) over the last axis of BH x T x T scores, one kernel."""
    cupy = cupy_module()

    s = _scores(s)
    BH, T, _ = s.shape
    p = cupy.empty_like(s)
    if s.size:
        cache = max(1, cdiv(T, block))
        if cache > 32:
            raise ValueError(f"T = {T} is too long for the fused kernel's register cache at block {block}")
        kernel = get_kernel("fused/scale_mask_softmax.cu", "scale_mask_softmax", CACHE=cache)
        kernel((BH * T,), (block,), (s, p, i32(T), np.float32(scale), i32(int(causal))))
    return p


def scale_mask_softmax_unfused(s, scale: float, causal: bool = True):
    cupy = cupy_module()

    s = _scores(s)
    BH, T, _ = s.shape
    t = cupy.empty_like(s)
    src = "fused/scale_mask_softmax.cu"
    g = _grid(s.size)
    get_kernel(src, "scale_scores")(g, (ELEMENTWISE_BLOCK,), (s, t, np.int64(s.size), np.float32(scale)))
    if causal:
        get_kernel(src, "causal_mask")(g, (ELEMENTWISE_BLOCK,), (t, t, np.int64(s.size), i32(T)))
    return softmax(t.reshape(BH * T, T)).reshape(BH, T, T)


def residual_layernorm(x, r, w, b, eps: float = 1e-5, block: int = 256):
    """``(h, y, mean, rstd)`` with h = x + r and y = LayerNorm(h), one kernel."""
    cupy = cupy_module()

    x = as_device(x, np.float32, "x", ndim=2)
    r = as_device(r, np.float32, "residual", ndim=2)
    if r.shape != x.shape:
        raise ValueError(f"residual has shape {r.shape}, x has {x.shape}")
    w = as_device(w, np.float32, "weight", ndim=1)
    b = as_device(b, np.float32, "bias", ndim=1)
    rows, C = x.shape
    if w.shape != (C,) or b.shape != (C,):
        raise ValueError(f"weight and bias must have shape ({C},), got {w.shape} and {b.shape}")
    h, y = cupy.empty_like(x), cupy.empty_like(x)
    mean, rstd = cupy.empty(rows, np.float32), cupy.empty(rows, np.float32)
    if x.size:
        vec = int(C % 4 == 0 and aligned16(x, r, w, b, h, y))
        kernel = get_kernel(
            "fused/residual_layernorm.cu", "residual_layernorm", CACHE_VEC=_ln_cache_vec(C, block)
        )
        kernel(
            (rows,), (block,), (x, r, w, b, h, y, mean, rstd, i32(rows), i32(C), np.float32(eps), i32(vec))
        )
    return h, y, mean, rstd


def residual_layernorm_unfused(x, r, w, b, eps: float = 1e-5):
    cupy = cupy_module()

    x = as_device(x, np.float32, "x", ndim=2)
    r = as_device(r, np.float32, "residual", ndim=2)
    h = cupy.empty_like(x)
    if x.size:
        get_kernel("fused/residual_layernorm.cu", "residual_add")(
            _grid(x.size), (ELEMENTWISE_BLOCK,), (x, r, h, np.int64(x.size))
        )
    y, mean, rstd = layernorm_forward(h, w, b, eps)
    return h, y, mean, rstd


def _qk(q, k):
    q = as_device(q, np.float32, "q", ndim=3)
    k = as_device(k, np.float32, "k", ndim=3)
    if q.shape != k.shape:
        raise ValueError(f"q and k must have the same BH x T x D shape, got {q.shape} and {k.shape}")
    return q, k


def attention_scores(q, k, scale: float, causal: bool = True):
    """S = scale * q @ k^T (BH x T x T), -inf above the diagonal when ``causal``; one kernel."""
    cupy = cupy_module()

    q, k = _qk(q, k)
    BH, T, D = q.shape
    s = cupy.empty((BH, T, T), np.float32)
    if s.size:
        grid = (cdiv(T, 64), cdiv(T, 64), BH)
        get_kernel("fused/attention_qk.cu", "attention_qk")(
            grid, (256,), (q, k, s, i32(T), i32(D), np.float32(scale), i32(int(causal)))
        )
    return s


def attention_scores_unfused(q, k, scale: float, causal: bool = True):
    """The chain: cuBLAS batched GEMM (cupy.matmul), then the scale kernel, then the mask kernel."""
    cupy = cupy_module()

    q, k = _qk(q, k)
    BH, T, _ = q.shape
    s = cupy.matmul(q, k.transpose(0, 2, 1))
    src = "fused/scale_mask_softmax.cu"
    g = _grid(s.size)
    get_kernel(src, "scale_scores")(g, (ELEMENTWISE_BLOCK,), (s, s, np.int64(s.size), np.float32(scale)))
    if causal:
        get_kernel(src, "causal_mask")(g, (ELEMENTWISE_BLOCK,), (s, s, np.int64(s.size), i32(T)))
    return s


# floats moved per element of the main tensor (reads + writes), for the report's bandwidth numbers
BYTES = {
    "bias_gelu": 2,
    "bias_gelu_unfused": 4,
    "residual_layernorm": 4,
    "residual_layernorm_unfused": 5,
}
