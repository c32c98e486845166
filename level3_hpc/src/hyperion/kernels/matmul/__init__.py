"""The matmul progression: ``matmul(a, b, version)`` runs one numbered kernel on fp32 CuPy arrays.

``VERSIONS`` lists them in order (01_naive ... 08_double_buffered, fp32) and :func:`matmul_tc` runs
the tensor-core kernels (09_wmma, 10_mma_sync, 11_mma_pipelined, 12_wgmma, 14_wgmma_tma, 16_wgmma_persistent:
bf16 or fp16 in, fp32 out; 12 is Hopper's wgmma, built for sm_90a with nvcc by
:mod:`hyperion.kernels.matmul.sm90a`, 14 feeds it with the copy engine and a producer warpgroup,
:mod:`hyperion.kernels.matmul.tma`, and 16 is 14 with one block per SM walking the tiles). Every version handles any
M, N, K (tiles past the matrix edge read zeros and store nothing). 13_split_k is 08 with K cut into slices
(more blocks for small products), chosen per shape by :func:`matmul_auto`. Tile sizes of 07 to 10 are
compile-time defines, so the autotuner in ``hyperion.kernels.bench`` compiles one module per configuration.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from hyperion.kernels._launch import aligned16, as_device, cdiv, i32
from hyperion.kernels.loader import get_kernel
from hyperion.tensor.cuda_build import PackedLaunch, cupy_module, from_bf16_bits, to_bf16_bits

if TYPE_CHECKING:
    from hyperion.kernels.matmul.tma import TmaLaunch

__all__ = ["VERSIONS", "choose_fp32", "choose_tc", "from_bf16_bits", "matmul", "matmul_auto", "matmul_tc",
           "matmul_tc_auto", "tc_configs", "tc_route", "to_bf16_bits"]


@dataclass(frozen=True)
class Version:
    """One kernel of the progression: its source, kernel name, and how it is launched."""

    name: str
    source: str
    kernel: str
    block_m: int  # rows of C per block
    block_n: int  # columns of C per block
    threads: tuple[int, ...]
    rows_on_x: bool = False  # 01_naive puts rows on blockIdx.x
    takes_vec: bool = False


VERSIONS: dict[str, Version] = {
    v.name: v
    for v in (
        Version("01_naive", "matmul/01_naive.cu", "matmul_naive", 32, 32, (32, 32), rows_on_x=True),
        Version("02_coalesced", "matmul/02_coalesced.cu", "matmul_coalesced", 32, 32, (32, 32)),
        Version("03_smem_tiling", "matmul/03_smem_tiling.cu", "matmul_smem_tiled", 32, 32, (32, 32)),
        Version("04_blocktile_1d", "matmul/04_blocktile_1d.cu", "matmul_blocktile_1d", 64, 64, (512,)),
        Version("05_blocktile_2d", "matmul/05_blocktile_2d.cu", "matmul_blocktile_2d", 128, 128, (256,)),
        Version(
            "06_vectorized", "matmul/06_vectorized.cu", "matmul_vectorized", 128, 128, (256,), takes_vec=True
        ),
        Version("07_warptile", "matmul/07_warptile.cu", "matmul_warptile", 128, 128, (128,), takes_vec=True),
        Version(
            "08_double_buffered",
            "matmul/08_double_buffered.cu",
            "matmul_double_buffered",
            128,
            128,
            (256,),
            takes_vec=True,
        ),
    )
}

TUNED = ("07_warptile", "08_double_buffered")  # versions whose tile sizes are -D defines
# Candidate tile configurations of 07 and 08 (the autotuner times each and keeps the fastest).
WARPTILE_CONFIGS: list[dict[str, int]] = [
    dict(BM=128, BN=128, BK=16, WM=64, WN=64, WNITER=4, TM=8, TN=4, NTHREADS=128),
    dict(BM=128, BN=128, BK=8, WM=64, WN=64, WNITER=4, TM=8, TN=4, NTHREADS=128),
    dict(BM=128, BN=128, BK=16, WM=64, WN=32, WNITER=2, TM=8, TN=4, NTHREADS=256),
    dict(BM=128, BN=256, BK=16, WM=64, WN=64, WNITER=4, TM=8, TN=4, NTHREADS=256),
    dict(BM=256, BN=128, BK=16, WM=128, WN=32, WNITER=2, TM=8, TN=4, NTHREADS=256),
    dict(BM=64, BN=128, BK=16, WM=32, WN=64, WNITER=2, TM=4, TN=4, NTHREADS=128),
    dict(BM=128, BN=128, BK=8, WM=64, WN=32, WNITER=2, TM=8, TN=4, NTHREADS=256),
    dict(BM=128, BN=128, BK=16, WM=64, WN=32, WNITER=1, TM=8, TN=8, NTHREADS=256),
]
DEFAULT_CONFIG = {"07_warptile": WARPTILE_CONFIGS[0], "08_double_buffered": WARPTILE_CONFIGS[2]}
TC_CONFIGS: list[dict[str, int]] = [
    dict(TC_BM=128, TC_BN=128, TC_BK=32, TC_WM=64, TC_WN=32, TC_STAGES=3),
    dict(TC_BM=128, TC_BN=256, TC_BK=32, TC_WM=64, TC_WN=64, TC_STAGES=3),
    dict(TC_BM=256, TC_BN=128, TC_BK=32, TC_WM=64, TC_WN=64, TC_STAGES=3),
    dict(TC_BM=128, TC_BN=128, TC_BK=32, TC_WM=64, TC_WN=64, TC_STAGES=4),
    dict(TC_BM=128, TC_BN=128, TC_BK=64, TC_WM=64, TC_WN=32, TC_STAGES=3),
    dict(TC_BM=128, TC_BN=256, TC_BK=64, TC_WM=64, TC_WN=64, TC_STAGES=3),
    dict(TC_BM=256, TC_BN=128, TC_BK=64, TC_WM=64, TC_WN=64, TC_STAGES=3),
    dict(TC_BM=128, TC_BN=128, TC_BK=32, TC_WM=64, TC_WN=32, TC_STAGES=3, TC_MINB=3),
]
# 11_mma_pipelined: swizzled tiles need BK and BN >= 64. The first (the default) won the H200 sweep of
# 2026-12-01 (REPORT.md): 4 warps of 64x64, two blocks per SM. TC_MINB=2 caps registers at 128 so two
# blocks of 8 warps share an SM (without it the 64x32 warp tile takes 166 registers: one block per SM).
TC11_CONFIGS: list[dict[str, int]] = [
    dict(TC_BM=128, TC_BN=128, TC_BK=64, TC_WM=64, TC_WN=64, TC_STAGES=3),
    dict(TC_BM=128, TC_BN=128, TC_BK=64, TC_WM=64, TC_WN=32, TC_STAGES=3, TC_MINB=2),
    dict(TC_BM=128, TC_BN=128, TC_BK=64, TC_WM=64, TC_WN=32, TC_STAGES=4),
    dict(TC_BM=128, TC_BN=256, TC_BK=64, TC_WM=64, TC_WN=64, TC_STAGES=3),
    dict(TC_BM=128, TC_BN=256, TC_BK=64, TC_WM=64, TC_WN=64, TC_STAGES=4),
    dict(TC_BM=256, TC_BN=128, TC_BK=64, TC_WM=64, TC_WN=64, TC_STAGES=3),
]
# 12_wgmma: BK is fixed at 64 (one 128-byte swizzle line), one warpgroup (128 threads) per 64 rows of BM;
# BN is the wgmma's N (128 or 256). The first (the default) won the H200 sweep of 2026-12-01 08:50 UTC
# (445 TFLOP/s bf16, 56.5 % of cuBLAS; TC_GROUP_M=16 tied): results/h200-wgmma-2026-12-01/bench.txt.
TC12_CONFIGS: list[dict[str, int]] = [
    dict(TC_BM=128, TC_BN=256, TC_STAGES=4),
    dict(TC_BM=128, TC_BN=256, TC_STAGES=3),
    dict(TC_BM=128, TC_BN=256, TC_STAGES=4, TC_GROUP_M=16),
    dict(TC_BM=192, TC_BN=256, TC_STAGES=4),
    dict(TC_BM=192, TC_BN=128, TC_STAGES=5),
    dict(TC_BM=128, TC_BN=128, TC_STAGES=5),
    dict(TC_BM=128, TC_BN=128, TC_STAGES=3),  # 97 KB: two blocks (four warpgroups) per SM
]


def _check(a, b, dtype, name: str = "matmul"):
    a = as_device(a, dtype, "a", ndim=2)
    b = as_device(b, dtype, "b", ndim=2)
    if a.shape[1] != b.shape[0]:
        raise ValueError(f"{name}: inner dimensions differ: a is {a.shape}, b is {b.shape}")
    return a, b


def _out(out, shape):
    cupy = cupy_module()

    if out is None:
        return cupy.ndarray(shape, np.float32)
    if (
        not isinstance(out, cupy.ndarray)
        or out.shape != shape
        or out.dtype != np.float32
        or not out.flags.c_contiguous
    ):
        raise ValueError(f"out must be a C-contiguous float32 cupy array of shape {shape}")
    return out


def matmul(a, b, version: str = "07_warptile", config: dict[str, int] | None = None, out=None):
    """``a @ b`` (fp32, 2-D CuPy arrays) with one kernel of the progression (into ``out`` if given)."""
    if version not in VERSIONS:
        raise ValueError(f"unknown matmul version {version!r}; known: {list(VERSIONS)}")
    v = VERSIONS[version]
    a, b = _check(a, b, np.float32)
    (M, K), N = a.shape, b.shape[1]
    c = _out(out, (M, N))
    if M == 0 or N == 0:
        return c
    defines = config or (DEFAULT_CONFIG[version] if version in TUNED else {})
    bm, bn, threads = v.block_m, v.block_n, v.threads
    if version in TUNED:
        bm, bn, threads = defines["BM"], defines["BN"], (defines["NTHREADS"],)
    kernel = _fp32_kernel(version, tuple(defines.items()))
    grid = (cdiv(M, bm), cdiv(N, bn)) if v.rows_on_x else (cdiv(N, bn), cdiv(M, bm))
    args = [a, b, c, i32(M), i32(N), i32(K)]
    if v.takes_vec:
        args.append(i32(int(K % 4 == 0 and N % 4 == 0 and aligned16(a, b, c))))
    kernel(grid, threads, tuple(args))
    return c


@functools.cache
def _fp32_kernel(version: str, defines: tuple[tuple[str, int], ...]):
    v = VERSIONS[version]
    return get_kernel(v.source, v.kernel, **dict(defines))


# ---- per-shape choice ------------------------------------------------------------------------------
# A tile of 128x128 leaves most of the 132 SMs idle at 1000^3 (64 blocks): below a wave of big tiles the
# choice moves to smaller tiles. FP32_TABLE holds the H200 sweep's winners for the suite's shapes (``python -m
# hyperion.kernels.suite --sweep``, REPORT.md), TC_TABLE an H100's timings of 14 (below); other shapes use the rule.
# Winners of the H200 sweep of 2026-12-04 (suite --sweep, kernel-only medians; REPORT.md has the table).
# (M, N, K) -> (version, WARPTILE_CONFIGS index), or ("13_split_k", (index, slices))
FP32_TABLE: dict[tuple[int, int, int], tuple[str, int] | tuple[str, tuple[int, int]]] = {
    # re-swept 2026-12-04 14:37 UTC with 13_split_k among the candidates (suite --sweep, REPORT.md)
    (4096, 4096, 4096): ("08_double_buffered", 1),
    (8192, 8192, 8192): ("08_double_buffered", 5),
    (3072, 2048, 5120): ("08_double_buffered", 5),
    (2048, 2048, 2048): ("08_double_buffered", 1),
    (1000, 1000, 1000): ("13_split_k", (2, 2)),
    (1001, 1003, 999): ("13_split_k", (5, 2)),
}
TC_TABLE: dict[tuple[int, int, int], tuple[str, int]] = {  # (M, N, K) -> (version, tc_configs(version) index)
    # 14_wgmma_tma, timed against 12's picks and cuBLAS on an H100 on 2026-12-06 (results/runtime-h100-2026-12-06-d,
    # calls 10-11: tma_check.py): the faster of its configurations at each shape
    (4096, 4096, 4096): ("14_wgmma_tma", 0),
    (8192, 8192, 8192): ("14_wgmma_tma", 0),
    # 16 (persistent) over 14 at this shape only: 102.7 against 117.1 us GPU alone, 0.109 against 0.117 ms
    # kernel-only (H100, 2026-12-08, results/runtime-h100-2026-12-08-u); elsewhere within noise or slower
    (3072, 2048, 5120): ("16_wgmma_persistent", 1),
    (2048, 2048, 2048): ("14_wgmma_tma", 0),
    (1000, 1000, 1000): ("14_wgmma_tma", 1),
}  # 12_wgmma's H200 winners before: (4096³: 0), (8192³: 3), (3072x2048x5120: 3), (2048³: 0), (1000³: 6)
SM_COUNT_H200 = 132
TMA_VERSIONS = ("14_wgmma_tma", "16_wgmma_persistent")  # fed by the copy engine: matmul/tma.py launches them


def _waves(m: int, n: int, bm: int, bn: int, sms: int = SM_COUNT_H200) -> float:
    return cdiv(m, bm) * cdiv(n, bn) / sms


# 15_wgmma_3xtf32 (Hopper only: fp32 as three TF32 tensor-core products) from this many multiply-adds up:
# at the suite's smallest shape (1000^3) it was measured faster than 08/13 and cuBLAS on an H100
# (results/runtime-h100-2026-12-06-h); below it, unmeasured, the CUDA-core kernels stay.
TF32X3_MIN_MACS = 10**9


@functools.cache
def choose_fp32(m: int, n: int, k: int, hopper: bool = False) -> tuple[str, int] | tuple[str, tuple[int, int]]:
    """``(version, config index)`` of the fp32 kernel for an ``m x k @ k x n`` product (``hopper``: on an
    sm_90 GPU, where 15_wgmma_3xtf32 runs)."""
    if hopper and m * n * k >= TF32X3_MIN_MACS:
        return ("15_wgmma_3xtf32", 0)
    if (m, n, k) in FP32_TABLE:
        return FP32_TABLE[(m, n, k)]
    if _waves(m, n, 128, 128) < 2:  # fewer than two waves of 128x128 tiles: 64x128 tiles, twice the blocks
        return ("08_double_buffered", 5)
    return ("08_double_buffered", 2)


@functools.cache
def choose_tc(m: int, n: int, k: int) -> tuple[str, int]:
    """``(version, config index)`` of the tensor-core kernel for an ``m x k @ k x n`` product."""
    if (m, n, k) in TC_TABLE:
        return TC_TABLE[(m, n, k)]
    if _waves(m, n, 128, 256) < 2:  # small: 128x128 tiles (more blocks), 6 stages
        return ("14_wgmma_tma", 1)
    return ("14_wgmma_tma", 0)


def tc_route(m: int, n: int, k: int) -> str:
    """What :func:`matmul_tc_auto` runs for an ``m x k @ k x n`` product of aligned operands (for reports)."""
    if k % 8 or n % 8:
        kp, np8 = cdiv(k, 8) * 8, cdiv(n, 8) * 8
        return f"padded to {m}x{kp}x{np8}: {choose_tc(m, np8, kp)}"
    return str(choose_tc(m, n, k))


# 13_split_k: (WARPTILE_CONFIGS index, slices of K) candidates; the sweep times each at every suite shape.
SPLIT_K_CONFIGS: list[tuple[int, int]] = [(5, 2), (5, 3), (5, 4), (2, 2), (2, 3), (1, 2), (6, 2)]


def _checked_pair(a, b, dtype, name: str):
    """``a``, ``b`` as they are when they are C-contiguous 2-D arrays of ``dtype`` (the fast path), else
    :func:`_check`'s conversions and errors."""
    cupy = cupy_module()

    if (type(a) is cupy.ndarray and type(b) is cupy.ndarray and a.dtype == dtype and b.dtype == dtype
            and a.ndim == 2 and b.ndim == 2 and a._c_contiguous and b._c_contiguous
            and a.shape[1] == b.shape[0]):
        return a, b
    return _check(a, b, dtype, name)


_AUTO_PLANS: dict[tuple, tuple] = {}  # key -> (the product, split-K partial sums or None)


def _fp32_plan(m: int, n: int, k: int, vec: bool, choice: tuple[str, int] | tuple[str, tuple[int, int]]):
    """(the product's launch, split-K: (the partial sums' launch, slices) or None) of one fp32 product, built
    once per key; each launch a :class:`~hyperion.tensor.cuda_build.PackedLaunch` taking the pointers."""
    version, index = choice
    if version == "15_wgmma_3xtf32":  # its own plan: the split's and the product's launches
        from hyperion.kernels.matmul import tf32x3

        if k == 0:
            raise ValueError("matmul: 15_wgmma_3xtf32 needs K > 0")
        return tf32x3.plan(m, n, k, tf32x3.CONFIGS[index]), None
    if version == "13_split_k":
        tile, splits = index
        cfg = WARPTILE_CONFIGS[tile]
        kslice = cdiv(cdiv(k, splits), cfg["BK"]) * cfg["BK"]  # whole BK tiles in every slice but the last
        splits = cdiv(k, kslice)
        kernel = get_kernel("matmul/13_split_k.cu", "matmul_split_k", **cfg)
        grid = (cdiv(n, cfg["BN"]), cdiv(m, cfg["BM"]), splits)
        vec4 = int(m * n % 4 == 0)
        count = m * n // 4 if vec4 else m * n
        total = cdiv(count, 256) if vec4 else min(cdiv(count, 256), 4096)
        summer = PackedLaunch(get_kernel("matmul/13_split_k.cu", "matmul_split_k_sum", **cfg), (total,), (256,), 0,
                              "ppiii")
        product = PackedLaunch(kernel, grid, (cfg["NTHREADS"],), 0, "pppiiiii")
        return _Bound(product, (m, n, k, kslice, int(vec))), (_Bound(summer, (m * n, splits, vec4)), splits)
    cfg = WARPTILE_CONFIGS[index]
    kernel = _fp32_kernel(version, tuple(cfg.items()))
    grid = (cdiv(n, cfg["BN"]), cdiv(m, cfg["BM"]))
    return _Bound(PackedLaunch(kernel, grid, (cfg["NTHREADS"],), 0, "pppiiii"), (m, n, k, int(vec))), None


@dataclass(frozen=True)
class _Bound:
    """A launch and the scalar arguments that follow its pointers (fixed by the plan's key)."""

    launch: PackedLaunch
    scalars: tuple[int, ...]

    def __call__(self, *pointers: int) -> None:
        self.launch(*pointers, *self.scalars)


def matmul_auto(a, b, out=None, choice=None):
    """``a @ b`` (fp32) with the kernel and tiles :func:`choose_fp32` picks for this shape (or ``choice``:
    ``(version, WARPTILE_CONFIGS index)``, ``("13_split_k", (index, slices))`` or ``("15_wgmma_3xtf32",
    tf32x3.CONFIGS index)``). The launch plan is built once per shape: a later call is a look-up, an allocation
    and a launch. On Hopper, large products run as three TF32 products (15): errors about those of an fp32
    product (REPORT.md has both against float64), but an infinite input can give NaN where fp32 gives ±inf
    (∞ times a zero low part in a correction product; by construction, not run)."""
    cupy = cupy_module()

    a, b = _checked_pair(a, b, np.float32, "matmul")
    (m, k), n = a.shape, b.shape[1]
    c = _out(out, (m, n))
    if m == 0 or n == 0:
        return c
    vec = k % 4 == 0 and n % 4 == 0 and (a.data.ptr | b.data.ptr | c.data.ptr) % 16 == 0
    key = (m, n, k, vec, choice)
    plan = _AUTO_PLANS.get(key)
    if plan is None:
        if choice is None and m * n * k >= TF32X3_MIN_MACS:  # the GPU's kind matters only here, once a shape
            from hyperion.kernels.attention import hopper_available

            choice = choose_fp32(m, n, k, hopper_available())
        plan = _AUTO_PLANS[key] = _fp32_plan(m, n, k, vec, choice or choose_fp32(m, n, k))
    product, summer = plan
    if summer is None:
        product(a.data.ptr, b.data.ptr, c.data.ptr)
        return c
    sum_partials, splits = summer
    parts = cupy.empty((splits, m, n), np.float32)
    product(a.data.ptr, b.data.ptr, parts.data.ptr)
    sum_partials(parts.data.ptr, c.data.ptr)
    return c


_TC_PLANS: dict[tuple, _Bound] = {}


def matmul_tc_auto(a, b, dtype: str = "bf16", out=None):
    """``a @ b`` on tensor cores with the kernel and tiles :func:`choose_tc` picks for this shape (the launch
    plan is built once per shape). K or N not a multiple of 8, or a misaligned operand: the product of
    zero-padded aligned copies (:func:`_padded_tc`)."""
    if dtype not in ("bf16", "f16"):
        raise ValueError(f"matmul_tc: dtype must be 'bf16' or 'f16', got {dtype!r}")
    a, b = _checked_pair(a, b, np.uint16 if dtype == "bf16" else np.float16, "matmul_tc")
    (m, k), n = a.shape, b.shape[1]
    c = _out(out, (m, n))
    if m == 0 or n == 0:
        return c
    vec = k % 8 == 0 and n % 8 == 0 and (a.data.ptr | b.data.ptr) % 16 == 0
    if not vec and k:
        return _padded_tc(a, b, dtype, c)
    _tc_plan(m, n, k, dtype, vec)(a.data.ptr, b.data.ptr, c.data.ptr)
    return c


def _tc_plan(m: int, n: int, k: int, dtype: str, vec: bool) -> _Bound | TmaLaunch:
    """The launch of :func:`choose_tc`'s kernel for one shape and alignment, built once (it takes the pointers)."""
    key = (m, n, k, dtype, vec)
    plan = _TC_PLANS.get(key)
    if plan is None:
        version, index = choose_tc(m, n, k)
        cfg = tc_configs(version)[index]
        if version in TMA_VERSIONS:  # tensor maps need 16-byte row strides and a K: aligned operands only
            if not vec or k == 0:
                version, cfg = "12_wgmma", TC12_CONFIGS[0]
            else:
                from hyperion.kernels.matmul.tma import tma_launch

                plan = _TC_PLANS[key] = tma_launch(version, dtype, cfg, m, n, k)
                return plan
        kernel, smem, threads = _tc_kernel(version, dtype, tuple(cfg.items()))
        if version == "12_wgmma":
            grid: tuple[int, ...] = (cdiv(n, cfg["TC_BN"]) * cdiv(m, cfg["TC_BM"]),)
        else:
            grid = (cdiv(n, cfg["TC_BN"]), cdiv(m, cfg["TC_BM"]))
        plan = _TC_PLANS[key] = _Bound(PackedLaunch(kernel, grid, (threads,), smem, "pppiiii"), (m, n, k, int(vec)))
    return plan


_PAD_PLANS: dict[tuple[int, int, int, str], tuple] = {}


def _pad_plan(m: int, n: int, k: int, dtype: str) -> tuple:
    """(K and N padded to multiples of 8, the pad launch of both operands, the padded product's launch, the crop
    launch or None): built once a shape. 14 and 16 write C (N columns) straight from B's padded columns: their
    stores take C's width, B's is in its tensor map; 12 needs the crop."""
    from hyperion.kernels.matmul.pad import THREADS

    kp, np8 = cdiv(k, 8) * 8, cdiv(n, 8) * 8
    pad = PackedLaunch(get_kernel("matmul/pad16.cu", "pad16_pair"), (cdiv(m * kp // 8 + kp * np8 // 8, THREADS),),
                       (THREADS,), 0, "ppppiiiiiiii")
    version, index = choose_tc(m, np8, kp)
    if version in TMA_VERSIONS:
        from hyperion.kernels.matmul.tma import tma_launch

        return kp, np8, pad, tma_launch(version, dtype, tc_configs(version)[index], m, np8, kp, c_cols=n), None
    crop = None
    if np8 != n:
        crop = _Bound(PackedLaunch(get_kernel("matmul/pad16.cu", "crop32"), (cdiv(m * n, THREADS),), (THREADS,), 0,
                                   "ppiii"), (m, np8, n))
    return kp, np8, pad, _tc_plan(m, np8, kp, dtype, True), crop


def _padded_tc(a, b, dtype: str, c):
    """``c = a @ b`` through zero-padded copies (K and N rounded up to multiples of 8, 16-byte-aligned rows:
    ``matmul/pad16.cu``): the tensor-core kernels' fast path loads 8-value chunks, and their element-by-element
    path for unaligned operands ran at half its speed (1001x999x1003 bf16 on the H200: 0.056 ms against 0.031
    at 1000^3). Both copies are made by one launch into one allocation; 14 and 16 then write ``c`` itself (a
    kernel that cannot, 12, writes a scratch matrix whose first N columns are copied to ``c``). One launch more
    than an aligned product (two with 12), all planned once per shape (host time is what this path costs at
    1000-sized products)."""
    cupy = cupy_module()

    (m, k), n = a.shape, b.shape[1]
    plan = _PAD_PLANS.get((m, n, k, dtype))
    if plan is None:
        plan = _PAD_PLANS[(m, n, k, dtype)] = _pad_plan(m, n, k, dtype)
    kp, np8, pad, product, crop = plan
    padded = cupy.ndarray((m * kp + kp * np8,), a.dtype)
    pa = padded.data.ptr
    pb = pa + m * kp * 2  # 16-byte aligned: kp is a multiple of 8
    pad(a.data.ptr, pa, b.data.ptr, pb, m, k, m, kp, k, n, kp, np8)
    if crop is None:
        product(pa, pb, c.data.ptr)
        return c
    wide = cupy.ndarray((m, np8), np.float32)
    product(pa, pb, wide.data.ptr)
    crop(wide.data.ptr, c.data.ptr)
    return c


TC_VERSIONS = {
    "09_wmma": ("matmul/09_wmma.cu", "matmul_tc"),
    "10_mma_sync": ("matmul/10_mma_sync.cu", "matmul_mma"),
    "11_mma_pipelined": ("matmul/11_mma_pipelined.cu", "matmul_mma_pipelined"),
    "12_wgmma": ("matmul/12_wgmma.cu", "matmul_wgmma"),
}


def tc_configs(version: str) -> list[dict[str, int]]:
    """The tile configurations a tensor-core version is swept over (the first is its default)."""
    if version in TMA_VERSIONS:
        from hyperion.kernels.matmul.tma import TMA_CONFIGS

        return TMA_CONFIGS
    return {"11_mma_pipelined": TC11_CONFIGS, "12_wgmma": TC12_CONFIGS}.get(version, TC_CONFIGS)


def tc_shared_bytes(cfg: dict[str, int], version: str = "10_mma_sync") -> int:
    if version == "12_wgmma":  # swizzled tiles, BK = 64, plus 1 KB to align the ring to 1024 bytes
        return cfg["TC_STAGES"] * (cfg["TC_BM"] + cfg["TC_BN"]) * 64 * 2 + 1024
    if version == "11_mma_pipelined":  # swizzled, unpadded tiles
        return cfg["TC_STAGES"] * (cfg["TC_BM"] * cfg["TC_BK"] + cfg["TC_BK"] * cfg["TC_BN"]) * 2
    stage = cfg["TC_BM"] * (cfg["TC_BK"] + 8) + cfg["TC_BK"] * (cfg["TC_BN"] + 8)
    warps = (cfg["TC_BM"] // cfg["TC_WM"]) * (cfg["TC_BN"] // cfg["TC_WN"])
    scratch = warps * 256 * 4 if version == "09_wmma" else 0  # 09 stages edge tiles through shared memory
    return max(cfg["TC_STAGES"] * stage * 2, scratch)


def matmul_tc(
    a, b, dtype: str = "bf16", config: dict[str, int] | None = None, out=None, version: str = "10_mma_sync"
):
    """``a @ b`` on tensor cores: ``a``, ``b`` hold 16-bit patterns (uint16 for bf16, float16 for fp16),
    fp32 accumulation, fp32 result. ``version``: "09_wmma", "10_mma_sync", "11_mma_pipelined",
    "12_wgmma", "14_wgmma_tma" or "16_wgmma_persistent" (Hopper only: sm_90a; 14 and 16 need K and N multiples
    of 8)."""
    if dtype not in ("bf16", "f16"):
        raise ValueError(f"matmul_tc: dtype must be 'bf16' or 'f16', got {dtype!r}")
    if version in TMA_VERSIONS:  # tensor maps and a parameter block of their own (matmul/tma.py)
        from hyperion.kernels.matmul.tma import matmul_tma

        return matmul_tma(a, b, dtype, config, out, version)
    if version not in TC_VERSIONS:
        raise ValueError(f"unknown tensor-core version {version!r}; known: {list(TC_VERSIONS)}")
    a, b = _check(a, b, np.uint16 if dtype == "bf16" else np.float16, "matmul_tc")
    (M, K), N = a.shape, b.shape[1]
    c = _out(out, (M, N))
    if M == 0 or N == 0:
        return c
    cfg = config or tc_configs(version)[0]
    kernel, smem, threads = _tc_kernel(version, dtype, tuple(cfg.items()))
    if version == "12_wgmma":
        grid: tuple[int, ...] = (cdiv(N, cfg["TC_BN"]) * cdiv(M, cfg["TC_BM"]),)  # 1-D: rasterised in-kernel
    else:
        grid = (cdiv(N, cfg["TC_BN"]), cdiv(M, cfg["TC_BM"]))
    vec = int(K % 8 == 0 and N % 8 == 0 and aligned16(a, b))
    kernel(grid, (threads,), (a, b, c, i32(M), i32(N), i32(K), i32(vec)), shared_mem=smem)
    return c


@functools.cache
def _tc_kernel(version: str, dtype: str, items: tuple[tuple[str, int], ...]):
    """(kernel, shared bytes, threads) of one tensor-core configuration; the smem limit is raised once."""
    cfg = dict(items)
    source, prefix = TC_VERSIONS[version]
    smem = tc_shared_bytes(cfg, version)
    if version == "12_wgmma":
        from hyperion.kernels.matmul.sm90a import get_kernel_sm90a

        kernel = get_kernel_sm90a(source, f"{prefix}_{dtype}", **cfg)
        threads = 128 * (cfg["TC_BM"] // 64)
    else:
        kernel = get_kernel(source, f"{prefix}_{dtype}", **cfg)
        threads = 32 * (cfg["TC_BM"] // cfg["TC_WM"]) * (cfg["TC_BN"] // cfg["TC_WN"])
    if smem > 48 * 1024:
        kernel.max_dynamic_shared_size_bytes = smem
    return kernel, smem, threads
