"""Launcher of ``matmul/15_wgmma_3xtf32.cu``: an fp32 ``a @ b`` on Hopper's tensor cores as three TF32 products
(hi·hi + hi·lo + lo·hi of every operand split into two TF32 parts), at fp32's accuracy.

Two launches a call, both planned once per shape: ``split_3xtf32`` writes A's (hi | lo) rows and B's transposed
(hi | lo) rows into one scratch array (K rounded up to a multiple of 4, zeros past K), and the product reads
them through two tensor maps (fp32 bits, (32, BM) and (32, BN) boxes), kept by the scratch's address as
:class:`~hyperion.kernels.matmul.tma.TmaLaunch` keeps 14's. Any M, N, K: the split absorbs the ragged edges.

The scratch is a workspace kept per stream between calls (as cuBLAS keeps its own), up to
:data:`KEEP_BYTES`: a call then allocates nothing and finds its tensor maps in place, so its host work is two
parameter packs and two ``cuLaunchKernel``. Larger splits (products whose GPU time dwarfs an allocation) take
a fresh array from CuPy's pool each call. :func:`release_workspaces` gives the kept ones back to the pool.
A CUDA graph captured over these calls keeps its stream's workspace address: replayed on another stream
while calls run on the first, both would write the same memory.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

import numpy as np

from hyperion.kernels._launch import cdiv
from hyperion.kernels.matmul.tma import TmaLaunch, tensor_map
from hyperion.tensor.cuda_build import PackedLaunch, cupy_module

SOURCE = "matmul/15_wgmma_3xtf32.cu"
# (BM, BN, stages): the first is the default. A stage holds A's and B's hi and lo tiles of 32 values of K.
CONFIGS: list[dict[str, int]] = [
    dict(TC_BM=128, TC_BN=128, TC_STAGES=3),
    dict(TC_BM=128, TC_BN=128, TC_STAGES=2),
    dict(TC_BM=128, TC_BN=128, TC_STAGES=3, TC_GROUP_M=16),
]
SPLIT_THREADS = (32, 8)


def shared_bytes(cfg: dict[str, int]) -> int:
    """Dynamic shared memory: the ring of (A hi, A lo, B hi, B lo) tiles, 128 bytes a row, plus 1 KB to align."""
    return cfg["TC_STAGES"] * (cfg["TC_BM"] + cfg["TC_BN"]) * 128 * 2 + 1024


def padded_k(k: int) -> int:
    """K rounded up to a multiple of 4: rows of 16 bytes, as the tensor maps need."""
    return cdiv(k, 4) * 4


def split_maps(a_ptr: int, b_ptr: int, cfg: dict[str, int], m: int, n: int, kp: int) -> bytes:
    """The product's two tensor maps: the (2M x KP) split of A in (32, BM) boxes, the (2N x KP) split of B^T
    in (32, BN) boxes."""
    return tensor_map(a_ptr, kp, 2 * m, 32, cfg["TC_BM"], 4) + tensor_map(b_ptr, kp, 2 * n, 32, cfg["TC_BN"], 4)


@functools.cache
def _kernels(items: tuple[tuple[str, int], ...]):
    from hyperion.kernels.matmul.sm90a import get_kernel_sm90a

    cfg = dict(items)
    product = get_kernel_sm90a(SOURCE, "matmul_wgmma_3xtf32", **cfg)
    product.max_dynamic_shared_size_bytes = shared_bytes(cfg)
    return get_kernel_sm90a(SOURCE, "split_3xtf32", **cfg), product


KEEP_BYTES = 64 << 20  # a split of at most this many bytes stays allocated for its stream between calls
_WORKSPACES: dict[int, Any] = {}  # stream handle -> the kept scratch (a float32 CuPy array); one device, as the plans
_LOCK = threading.Lock()  # one caller at a time between a split and its product (they share the workspace)


def release_workspaces() -> None:
    """Give every kept scratch back to CuPy's pool (the next call on a stream allocates its own again)."""
    with _LOCK:
        _WORKSPACES.clear()


class Plan:
    """One shape's two launches, built once: called with the operands' and C's pointers, it takes its stream's
    workspace (or, past :data:`KEEP_BYTES`, a fresh scratch), splits, and multiplies — what a call costs beyond
    a look-up. Both launches are enqueued under one module lock, so two threads on one stream cannot put a
    split between another call's split and product."""

    def __init__(self, m: int, n: int, k: int, cfg: dict[str, int]) -> None:
        cupy = cupy_module()

        split, product = _kernels(tuple(cfg.items()))
        self.kp = kp = padded_k(k)
        self.tiles_a = cdiv(m, 32) * cdiv(kp, 32)
        self.split = PackedLaunch(split, (self.tiles_a + cdiv(n, 32) * cdiv(kp, 32),), SPLIT_THREADS, 0, "ppppiiiii")
        self.product = TmaLaunch(product, cfg, m, n, kp, shared_bytes(cfg), split_maps)
        self.m, self.n, self.k = m, n, k
        self.words, self.b_offset = 2 * (m + n) * kp, 2 * m * kp * 4  # a multiple of 32 bytes: kp is of 4
        self.kept = self.words * 4 <= KEEP_BYTES
        self._stream, self._empty = cupy.cuda.get_current_stream, cupy.empty

    def __call__(self, a_ptr: int, b_ptr: int, c_ptr: int) -> None:
        with _LOCK:
            stream = self._stream().ptr
            scratch = _WORKSPACES.get(stream) if self.kept else None
            if scratch is None or scratch.size < self.words:
                scratch = self._empty(self.words, np.float32)  # freed to the pool after these launches, which
                if self.kept:  # it hands out again only on this stream, so only after them
                    _WORKSPACES[stream] = scratch
            sa = scratch.data.ptr
            self.split.enqueue(stream, a_ptr, sa, b_ptr, sa + self.b_offset, self.m, self.n, self.k, self.kp,
                               self.tiles_a)
            self.product.enqueue(stream, sa, sa + self.b_offset, c_ptr)


_PLANS: dict[tuple, Plan] = {}


def plan(m: int, n: int, k: int, cfg: dict[str, int]) -> Plan:
    """The :class:`Plan` of one shape and configuration (built once)."""
    key = (m, n, k, tuple(cfg.items()))
    found = _PLANS.get(key)
    if found is None:
        found = _PLANS[key] = Plan(m, n, k, cfg)
    return found


def matmul_3xtf32(a, b, config: dict[str, int] | None = None, out=None):
    """``a @ b`` for C-contiguous 2-D float32 CuPy arrays (any M, N, K) by 15_wgmma_3xtf32 (Hopper only);
    fp32 result (into ``out`` if given)."""
    cupy = cupy_module()

    for name, x in (("a", a), ("b", b)):
        if type(x) is not cupy.ndarray or x.dtype != np.float32 or x.ndim != 2 or not x.flags.c_contiguous:
            raise ValueError(f"matmul_3xtf32: {name} must be a C-contiguous 2-D cupy float32 array, got "
                             f"{type(x).__name__} {getattr(x, 'dtype', '')} {getattr(x, 'shape', '')}")
    (m, k), n = a.shape, b.shape[1]
    if b.shape[0] != k:
        raise ValueError(f"matmul_3xtf32: inner dimensions differ: a is {a.shape}, b is {b.shape}")
    c = cupy.ndarray((m, n), np.float32) if out is None else out
    if type(c) is not cupy.ndarray or c.shape != (m, n) or c.dtype != np.float32 or not c.flags.c_contiguous:
        raise ValueError(f"matmul_3xtf32: out must be a C-contiguous float32 cupy array of shape {(m, n)}")
    if m == 0 or n == 0:
        return c
    if k == 0:
        c.fill(0)
        return c
    plan(m, n, k, config or CONFIGS[0])(a.data.ptr, b.data.ptr, c.data.ptr)
    return c
