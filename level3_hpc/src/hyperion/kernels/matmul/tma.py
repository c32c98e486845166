"""Launcher of ``matmul/14_wgmma_tma.cu`` and its persistent form ``16_wgmma_persistent.cu``: ``a @ b`` (bf16 or
fp16 bit patterns in, fp32 out) with the tiles moved by Hopper's copy engine (TMA) and a producer warpgroup.

The kernel takes two tensor maps by value (``CUtensorMap``, 128 bytes each), made here with the driver's
``cuTensorMapEncodeTiled`` (through ctypes: CuPy exposes no wrapper): A as a (K inner, M outer) tensor read in
(64, BM) boxes, B as (N inner, K outer) read in (64, 64) boxes, both with the 128-byte swizzle and zero fill
past the edges. The maps name the operands' addresses, so they are made once per (pointers, shape) and kept;
the launch goes through ``cuLaunchKernel`` with a parameter block laid out once per plan, as
:class:`~hyperion.tensor.cuda_build.PackedLaunch` does for plain parameters.
"""

from __future__ import annotations

import ctypes
import functools
import struct
import threading
from typing import Any

import numpy as np

from hyperion.kernels._launch import cdiv
from hyperion.tensor.cuda_build import cupy_module

SOURCE = "matmul/14_wgmma_tma.cu"
# version -> (source, kernel name before its _bf16 / _f16); both take (map_a, map_b, C, M, N, K)
TMA_KERNELS = {"14_wgmma_tma": (SOURCE, "matmul_wgmma_tma"),
               "16_wgmma_persistent": ("matmul/16_wgmma_persistent.cu", "matmul_wgmma_persistent")}
# (BM, BN, stages): the first is the default
TMA_CONFIGS: list[dict[str, int]] = [
    dict(TC_BM=128, TC_BN=256, TC_STAGES=4),
    dict(TC_BM=128, TC_BN=128, TC_STAGES=6),
    dict(TC_BM=128, TC_BN=256, TC_STAGES=3),
    dict(TC_BM=128, TC_BN=64, TC_STAGES=8),  # wgmma n64: twice 1's blocks for products under one wave
]
UINT16, UINT32, SWIZZLE_128B, L2_PROMOTION_128B = 1, 2, 3, 2  # cuda.h's CUtensorMapDataType / Swizzle / L2promotion
_DATA_TYPE = {2: UINT16, 4: UINT32}  # element bytes -> the data type the copy engine moves unchanged
MAP_BYTES = 128


def shared_bytes(cfg: dict[str, int]) -> int:
    """Dynamic shared memory of a configuration: the ring of A and B tiles, plus 1 KB to align it."""
    return cfg["TC_STAGES"] * (cfg["TC_BM"] + cfg["TC_BN"]) * 64 * 2 + 1024


def threads(cfg: dict[str, int]) -> int:
    return 128 * (cfg["TC_BM"] // 64 + 1)


@functools.cache
def _driver() -> Any:
    lib = ctypes.CDLL("libcuda.so.1")
    lib.cuTensorMapEncodeTiled.restype = ctypes.c_int
    return lib


def tensor_map(ptr: int, inner: int, outer: int, box_inner: int, box_outer: int, elem_bytes: int = 2,
               depth: int | None = None) -> bytes:
    """The 128-byte CUtensorMap of a row-major (outer x inner) matrix of ``elem_bytes``-byte values at ``ptr``
    (2: 16-bit patterns, 4: fp32 bits), read in (box_inner x box_outer) boxes, 128-byte swizzled, zeros past
    its edges. With ``depth``: ``depth`` such matrices one after another, a 3-D map read one matrix a box (its
    rows past ``outer`` arrive as zeros, not as the next matrix's)."""
    rank = 2 if depth is None else 3
    dims = (inner, outer, depth)[:rank]
    strides = (inner * elem_bytes, inner * outer * elem_bytes)[:rank - 1]
    out = (ctypes.c_uint64 * 16)()
    status = _driver().cuTensorMapEncodeTiled(
        ctypes.byref(out), ctypes.c_int(_DATA_TYPE[elem_bytes]), ctypes.c_uint32(rank), ctypes.c_void_p(ptr),
        (ctypes.c_uint64 * rank)(*dims), (ctypes.c_uint64 * (rank - 1))(*strides),
        (ctypes.c_uint32 * rank)(*(box_inner, box_outer, 1)[:rank]), (ctypes.c_uint32 * rank)(*(1, 1, 1)[:rank]),
        ctypes.c_int(0),
        ctypes.c_int(SWIZZLE_128B), ctypes.c_int(L2_PROMOTION_128B), ctypes.c_int(0))
    if status != 0:
        raise RuntimeError(f"cuTensorMapEncodeTiled failed with CUresult {status} (inner {inner}, outer {outer}, "
                           f"depth {depth}, box {box_inner}x{box_outer}, address {ptr:#x})")
    return bytes(out)


def maps_14(a_ptr: int, b_ptr: int, cfg: dict[str, int], m: int, n: int, k: int) -> bytes:
    """14's two tensor maps: A (K inner, M outer) in (64, BM) boxes, B (N inner, K outer) in (64, 64) boxes."""
    return tensor_map(a_ptr, k, m, 64, cfg["TC_BM"]) + tensor_map(b_ptr, n, k, 64, 64)


class TmaLaunch:
    """One shape's launch of a kernel taking ``(map_a, map_b, C, M, N, K)`` (14, 15): grid, block and shared
    memory fixed; a parameter block of two tensor maps, C's pointer and M, N, K, laid out once; the maps
    (``make_maps(a_ptr, b_ptr, cfg, m, n, k)``) cached by the operands' addresses. ``blocks``: at most this many
    blocks (a persistent kernel, whose blocks walk the tiles); otherwise one block a tile. ``c_cols``: C's
    width when it is narrower than B's ``n`` (B zero-padded to a multiple of 8 columns; the kernel's N is C's
    width and stride only, B's being in its map), so that the product of padded operands needs no crop."""

    def __init__(self, kernel: Any, cfg: dict[str, int], m: int, n: int, k: int, smem: int | None = None,
                 make_maps: Any = maps_14, blocks: int | None = None, c_cols: int | None = None) -> None:
        cupy = cupy_module()

        self.cfg, self.m, self.n, self.k, self.make_maps = cfg, m, n, k, make_maps
        grid = cdiv(n, cfg["TC_BN"]) * cdiv(m, cfg["TC_BM"])
        if blocks is not None:
            grid = max(1, min(grid, blocks))
        smem = shared_bytes(cfg) if smem is None else smem
        self.head = (kernel.kernel.ptr, grid, 1, 1, threads(cfg), 1, 1, smem)
        raw = np.zeros(MAP_BYTES * 2 + 64 + 64, np.uint8)
        start = (-raw.ctypes.data) % 64
        self.block = raw[start:start + MAP_BYTES * 2 + 64]  # [map A | map B | C ptr | M | N | K], 64-aligned
        self._keep = raw
        base = self.block.ctypes.data
        self.params = np.array([base, base + 128, base + 256, base + 264, base + 272, base + 280], np.uint64)
        if c_cols is not None and not (0 < c_cols <= n and cdiv(c_cols, cfg["TC_BN"]) == cdiv(n, cfg["TC_BN"])):
            raise ValueError(f"TmaLaunch: C's width {c_cols} must be at most B's {n}, with as many column tiles")
        for offset, value in ((264, m), (272, n if c_cols is None else c_cols), (280, k)):  # 8-byte slots
            self.block[offset:offset + 4] = np.array([value], np.int32).view(np.uint8)
        self.maps: dict[tuple[int, int], bytes] = {}
        self.current: tuple[int, int] | None = None  # the operands whose maps the block holds
        self._params_ptr = int(self.params.ctypes.data)
        self._launch, self._stream = cupy.cuda.driver.launchKernel, cupy.cuda.get_current_stream
        self._lock = threading.Lock()

    def __call__(self, a_ptr: int, b_ptr: int, c_ptr: int) -> None:
        with self._lock:
            self.enqueue(self._stream().ptr, a_ptr, b_ptr, c_ptr)

    def enqueue(self, stream: int, a_ptr: int, b_ptr: int, c_ptr: int) -> None:
        """Launch on the stream whose handle is ``stream``; the caller holds a lock that keeps other threads off
        the parameter block (``__call__`` its own)."""
        key = (a_ptr, b_ptr)
        if key != self.current:  # the same operands as the last call: their maps are in place already
            maps = self.maps.get(key)
            if maps is None:
                if len(self.maps) > 64:
                    self.maps.clear()
                maps = self.maps[key] = self.make_maps(a_ptr, b_ptr, self.cfg, self.m, self.n, self.k)
            self.block[:256] = np.frombuffer(maps, np.uint8)
            self.current = key
        struct.pack_into("<Q", self.block, 256, c_ptr)
        self._launch(*self.head, stream, self._params_ptr, 0)


@functools.cache
def tma_kernel(dtype: str, items: tuple[tuple[str, int], ...], version: str = "14_wgmma_tma"):
    """The compiled kernel of one configuration of 14 or 16 (its shared-memory limit raised once)."""
    from hyperion.kernels.matmul.sm90a import get_kernel_sm90a

    cfg = dict(items)
    source, name = TMA_KERNELS[version]
    kernel = get_kernel_sm90a(source, f"{name}_{dtype}", **cfg)
    kernel.max_dynamic_shared_size_bytes = shared_bytes(cfg)
    return kernel


@functools.cache
def sm_count() -> int:
    """Streaming multiprocessors of the current GPU (a persistent kernel's blocks: one each)."""
    cupy = cupy_module()
    return int(cupy.cuda.Device().attributes["MultiProcessorCount"])


def tma_launch(version: str, dtype: str, cfg: dict[str, int], m: int, n: int, k: int,
               blocks: int | None = None, c_cols: int | None = None) -> TmaLaunch:
    """The launch of 14 or 16 for one shape; 16 gets one block per SM (or ``blocks``); ``c_cols``: as
    :class:`TmaLaunch`'s."""
    if version == "16_wgmma_persistent" and blocks is None:
        blocks = sm_count()
    return TmaLaunch(tma_kernel(dtype, tuple(cfg.items()), version), cfg, m, n, k,
                     blocks=blocks if version == "16_wgmma_persistent" else None, c_cols=c_cols)


_PLANS: dict[tuple, TmaLaunch] = {}


def matmul_tma(a, b, dtype: str = "bf16", config: dict[str, int] | None = None, out=None,
               version: str = "14_wgmma_tma", blocks: int | None = None):
    """``a @ b`` with 14_wgmma_tma (or ``version`` "16_wgmma_persistent", at most ``blocks`` blocks: default
    one per SM): ``a`` (M x K), ``b`` (K x N) C-contiguous 16-bit patterns (uint16 for bf16, float16 for fp16)
    with K and N multiples of 8 and 16-byte-aligned starts; fp32 result."""
    cupy = cupy_module()

    if dtype not in ("bf16", "f16"):
        raise ValueError(f"matmul_tma: dtype must be 'bf16' or 'f16', got {dtype!r}")
    if version not in TMA_KERNELS:
        raise ValueError(f"matmul_tma: version must be one of {list(TMA_KERNELS)}, got {version!r}")
    if blocks is not None and (version != "16_wgmma_persistent" or blocks < 1):
        raise ValueError(f"matmul_tma: blocks ({blocks}) is for 16_wgmma_persistent only, and at least 1")
    want = np.uint16 if dtype == "bf16" else np.float16
    for name, x in (("a", a), ("b", b)):
        if type(x) is not cupy.ndarray or x.dtype != want or x.ndim != 2 or not x.flags.c_contiguous:
            raise ValueError(f"matmul_tma: {name} must be a C-contiguous 2-D cupy array of {np.dtype(want)}")
    (m, k), n = a.shape, b.shape[1]
    if b.shape[0] != k:
        raise ValueError(f"matmul_tma: inner dimensions differ: a is {a.shape}, b is {b.shape}")
    if k % 8 or n % 8 or (a.data.ptr | b.data.ptr) % 16:
        raise ValueError(f"matmul_tma: K ({k}) and N ({n}) must be multiples of 8 and the operands 16-byte "
                         "aligned (the tensor maps' row strides); pad first (matmul_tc_auto does)")
    c = cupy.ndarray((m, n), np.float32) if out is None else out
    if c.shape != (m, n) or c.dtype != np.float32 or not c.flags.c_contiguous:
        raise ValueError(f"matmul_tma: out must be a C-contiguous float32 cupy array of shape {(m, n)}")
    if m == 0 or n == 0:
        return c
    if k == 0:
        c.fill(0)
        return c
    cfg = config or TMA_CONFIGS[0]
    key = (m, n, k, dtype, tuple(cfg.items()), version, blocks)
    plan = _PLANS.get(key)
    if plan is None:
        plan = _PLANS[key] = tma_launch(version, dtype, cfg, m, n, k, blocks)
    plan(a.data.ptr, b.data.ptr, c.data.ptr)
    return c
