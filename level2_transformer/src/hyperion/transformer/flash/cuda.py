"""FlashAttention on the GPU: the ``.cu`` kernels in ``kernels/``, compiled with CuPy's RawModule.

=====================  ===========================================  ==========================
file                   what                                         dtypes
=====================  ===========================================  ==========================
01_flash_fwd_fp32.cu   forward, one thread per query row (SIMT)      float32
02_flash_bwd_fp32.cu   backward: dK/dV kernel + dQ kernel (SIMT)     float32, float16, bfloat16
03_flash_fwd_half.cu   forward on tensor cores (WMMA, fp32 accum.)   float16, bfloat16
04_flash_fwd_mma.cu    forward, mma.sync, S/P/O in registers (FA2)   float16, bfloat16
05_flash_fwd_pipe...   04 + cp.async double buffering, ldmatrix,      float16, bfloat16
                       swizzled shared memory, masks only where due
06_flash_bwd_mma.cu    backward on tensor cores: dQ kernel + dK/dV    float16, bfloat16
                       kernel, P and dS in registers (02's plan)
07_flash_fwd_two_...   05 with two 16-row tiles per warp: every K/V    float16, bfloat16
                       fragment feeds two mmas (FlashAttention-2's
                       128-row, 4-warp block)
=====================  ===========================================  ==========================

``impl`` picks the half-precision forward: ``"wmma"`` (03), ``"mma"`` (04), ``"pipe"`` (05, 128-row
blocks of 8 warps), ``"pipe64"`` (05, 64-row blocks of 4 warps) or ``"two"`` (07, 128-row blocks of
4 warps, 32 rows each).

``flash_backward_cuda(impl=...)`` picks the backward: ``"mma"`` (06, tensor cores; the default for
float16/bfloat16) or ``"simt"`` (02, every dtype; the only one for float32).

``causal``: ``False``, ``True`` / ``"top_left"`` or ``"bottom_right"`` (see ``_inputs``); the kernels
take it as an int, 0 / 1 / 2.

Compiling goes through :mod:`hyperion.tensor.cuda_build`: it refuses a skeleton stub (a
``NotImplementedError`` assert left by the grader's skeleton generator) in Python before anything is
compiled, compiles one module per (file, head dimension ``D``) with ``-DFLASH_D=D`` and caches each
kernel, so a launch costs a dictionary look-up. Kernels are built for ``D`` in 16, 32, 64, 80, 96, 128
(every multiple of 16 works: 80 and 96 need no padding to 128); other head dimensions are
zero-padded up to the next one (padding ``q``/``k`` with zero columns
does not change a score; padding ``v`` adds zero output columns, dropped afterwards).

bfloat16: numpy and CuPy have no bfloat16 dtype, so ``precision="bf16"`` takes float32 arrays,
rounds them to bfloat16 (stored as ``uint16`` bit patterns), runs the bf16 kernels and returns float32.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from hyperion.tensor import cuda_build
from hyperion.tensor.cuda_build import from_bf16_bits, to_bf16_bits
from hyperion.transformer.flash._inputs import causal_mode, check_qkv, default_scale

__all__ = ["flash_backward_cuda", "flash_forward_cuda", "from_bf16_bits", "precompile", "to_bf16_bits"]
KERNEL_DIR = Path(__file__).parent / "kernels"
HEAD_DIMS = (16, 32, 64, 80, 96, 128)  # compiled natively: 80 and 96 are no longer padded to 128
WMMA_WARPS = 4  # must match FLASH_WARPS in 03_flash_fwd_half.cu
FWD_ROWS = 64  # query rows per block in 01 (its __launch_bounds__)
BWD_OWN = 32  # rows owned per block in 02 (OWN)


def _cupy():
    try:
        cupy = cuda_build.cupy_module()  # a dictionary look-up after the first call, not an import statement
    except ImportError as error:  # pragma: no cover - depends on the machine
        raise RuntimeError("the CUDA FlashAttention needs CuPy (pip install cupy-cuda13x) and an NVIDIA GPU") from error
    return cupy


def kernel_source(name: str) -> str:
    """The text of ``kernels/<name>``; ``NotImplementedError`` if it (or a header it includes) holds a stub."""
    return cuda_build.read_checked(KERNEL_DIR / name, KERNEL_DIR)


def kernel(name: str, function: str, head_dim: int, **defines: int) -> Any:
    """``function`` of ``kernels/<name>`` compiled for head dimension ``head_dim`` (cached: a look-up)."""
    return cuda_build.kernel(KERNEL_DIR, name, function, tuple(sorted({"FLASH_D": head_dim, **defines}.items())))


def module(name: str, head_dim: int) -> Any:
    """The compiled RawModule of ``kernels/<name>`` for head dimension ``head_dim`` (cached)."""
    return cuda_build.module(KERNEL_DIR, name, (("FLASH_D", head_dim),))


_ONE_KERNEL = {
    "01_flash_fwd_fp32.cu": "flash_fwd_rows_f32",
    "02_flash_bwd_fp32.cu": "flash_bwd_dq_f32",
    "03_flash_fwd_half.cu": "flash_fwd_wmma_f16",
    "04_flash_fwd_mma.cu": "flash_fwd_mma_f16",
    "05_flash_fwd_pipelined.cu": "flash_fwd_pipe_f16_w8",
    "06_flash_bwd_mma.cu": "flash_bwd_dq_mma_f16",
    "07_flash_fwd_two_tiles.cu": "flash_fwd_two_f16",
}
BWD_IMPLS = ("simt", "mma")
DEFAULT_BWD_IMPL = "mma"  # 06 on tensor cores for float16/bfloat16 (float32 always takes 02, "simt")
HALF_IMPLS = ("wmma", "mma", "pipe", "pipe64", "two")
PIPE_WARPS = {"pipe": 8, "pipe64": 4}
# 05's compile-time tile per head dimension: FLASH_BC (keys per K/V tile) and FLASH_SM_WARPS (the warps per
# SM its __launch_bounds__ asks for, which caps registers); a head dimension not listed takes 05's defaults.
# H200 sweep of 2026-12-04 (python -m hyperion.kernels.suite --sweep, level3_hpc/REPORT.md): 128-key tiles won
# at every suite shape, by 2-11 % over 64 (d = 64 also needs the 128-register cap lifted: it spilled).
PIPE_TILES: dict[int, tuple[tuple[str, int], ...]] = {
    64: (("FLASH_BC", 128), ("FLASH_SM_WARPS", 8)),
    80: (("FLASH_BC", 128),),
    128: (("FLASH_BC", 128),),
}
# 07's keys per K/V tile per head dimension (its registers hold two row tiles: 128-key tiles spill)
TWO_TILES: dict[int, tuple[tuple[str, int], ...]] = {96: (("FLASH_BC", 32),), 128: (("FLASH_BC", 32),)}
DEFAULT_HALF_IMPL = "pipe"  # 05, 128 rows: 176 TFLOP/s at N=4096 on the H200, 04: 95, 03: 42 (bench_gpu)


def _compile_one(job: tuple[str, int]) -> str:
    kernel(job[0], _ONE_KERNEL[job[0]], job[1])
    return f"{job[0]} D={job[1]}"


def precompile(head_dims: tuple[int, ...] = HEAD_DIMS, jobs: int | None = None) -> list[str]:
    """Compile every (kernel file, D) module in parallel processes; CuPy caches the binaries on disk."""
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    work = [(name, d) for name in _ONE_KERNEL for d in head_dims]
    with ProcessPoolExecutor(jobs or len(work), mp_context=get_context("spawn")) as pool:
        return list(pool.map(_compile_one, work))


def _padded_dim(d: int) -> int:
    for size in HEAD_DIMS:
        if d <= size:
            return size
    raise ValueError(f"CUDA FlashAttention supports head dimensions up to {HEAD_DIMS[-1]}, got {d}")


def _prepare(x: Any, head_dim: int) -> Any:
    """``x`` C-contiguous, its data 16-byte aligned (the kernels load 16 bytes at a time: a view starting
    mid-vector, e.g. ``buf[1:]``, is copied) and its head dimension zero-padded to ``head_dim``."""
    cp = _cupy()
    if not isinstance(x, cp.ndarray):
        raise TypeError(f"CUDA FlashAttention takes CuPy arrays on the GPU, got a {type(x).__module__}."
                        f"{type(x).__name__} (move it with cupy.asarray)")
    x = cp.ascontiguousarray(x)
    if x.data.ptr % 16:
        x = x.copy()  # a fresh allocation: the memory pool's blocks are 256-byte aligned
    if x.shape[-1] == head_dim:
        return x
    out = cp.zeros((*x.shape[:-1], head_dim), x.dtype)
    out[..., : x.shape[-1]] = x
    return out


def _kind(dtype: Any, precision: str | None) -> str:
    import numpy as np

    if precision == "bf16":
        if dtype != np.float32:
            raise ValueError(f"precision='bf16' takes float32 arrays (rounded to bfloat16), got {dtype}")
        return "bf16"
    if precision is not None:
        raise ValueError(f"precision must be None or 'bf16', got {precision!r}")
    if dtype == np.float32:
        return "f32"
    if dtype == np.float16:
        return "f16"
    raise ValueError(f"CUDA FlashAttention takes float32 or float16 arrays, got {dtype}")


def _pad_mask(key_padding_mask: Any, batch: int, n_k: int) -> Any:
    cp = _cupy()
    if key_padding_mask is None:
        return _no_padding(batch, n_k, cp.cuda.get_device_id())
    if (isinstance(key_padding_mask, cp.ndarray) and key_padding_mask.dtype == cp.bool_
            and key_padding_mask.flags.c_contiguous):
        return key_padding_mask.view(cp.uint8)  # the same bytes (a bool is one byte, 0 or 1): no copy, no launch
    return cp.ascontiguousarray(cp.asarray(key_padding_mask), dtype=cp.uint8)


@functools.lru_cache(maxsize=64)
def _no_padding(batch: int, n_k: int, device: int) -> Any:
    """All-zero uint8 (batch, n_k) mask, made once per shape (the kernels only read it)."""
    return _cupy().zeros((batch, n_k), _cupy().uint8)


@functools.cache
def _sized(name: str, function: str, head_dim: int, smem: int, defines: tuple[tuple[str, int], ...] = ()) -> Any:
    """A kernel whose dynamic shared-memory limit is raised to ``smem`` bytes (once, not per launch)."""
    fn = kernel(name, function, head_dim, **dict(defines))
    if smem > 48 * 1024:
        fn.max_dynamic_shared_size_bytes = smem
    return fn


def _launch_forward(kind, q, k, v, pad, heads, causal, scale, impl, has_pad):
    import numpy as np

    cp = _cupy()
    bh, n_q, dim = q.shape[0] * q.shape[1], q.shape[2], q.shape[3]
    n_k = k.shape[2]
    out = cp.empty_like(q)
    lse = cp.empty(q.shape[:3], cp.float32)
    args = (q, k, v, pad, out, lse, np.int32(heads), np.int32(n_q), np.int32(n_k), np.float32(scale), np.int32(causal))
    if kind == "f32":
        fn = kernel("01_flash_fwd_fp32.cu", "flash_fwd_rows_f32", dim)
        fn(((n_q + FWD_ROWS - 1) // FWD_ROWS, bh), (FWD_ROWS,), args)
    elif impl == "mma":
        fn = kernel("04_flash_fwd_mma.cu", f"flash_fwd_mma_{kind}", dim)
        fn(((n_q + 63) // 64, bh), (128,), args)
    elif impl in PIPE_WARPS:
        warps = PIPE_WARPS[impl]
        tile = PIPE_TILES.get(dim, ())
        keys = dict(tile).get("FLASH_BC", 64)
        smem = (16 * warps + 4 * keys) * dim * 2  # Q block + 2 stages of K and V tiles
        fn = _sized("05_flash_fwd_pipelined.cu", f"flash_fwd_pipe_{kind}_w{warps}", dim, smem, tile)
        rows = 16 * warps
        fn(((n_q + rows - 1) // rows, bh), (32 * warps,), (*args, np.int32(has_pad)), shared_mem=smem)
    elif impl == "two":
        tile = TWO_TILES.get(dim, ())
        keys = dict(tile).get("FLASH_BC", 64)
        smem = (128 + 4 * keys) * dim * 2  # Q block (128 rows) + 2 stages of K and V tiles
        fn = _sized("07_flash_fwd_two_tiles.cu", f"flash_fwd_two_{kind}", dim, smem, tile)
        fn(((n_q + 127) // 128, bh), (128,), (*args, np.int32(has_pad)), shared_mem=smem)
    else:
        rows, bc, item = 16 * WMMA_WARPS, 64, 2
        smem = 2 * bc * (dim + 8) * item + WMMA_WARPS * 16 * ((bc + 4) * 4 + (bc + 8) * item + (dim + 4) * 4)
        fn = _sized("03_flash_fwd_half.cu", f"flash_fwd_wmma_{kind}", dim, smem)
        fn(((n_q + rows - 1) // rows, bh), (32 * WMMA_WARPS,), args, shared_mem=smem)
    return out, lse


def flash_forward_cuda(q, k, v, *, causal=False, key_padding_mask=None, scale=None, precision=None, impl=None):
    """``(O, lse)`` on the GPU for CuPy ``q (B, H, N_q, d)``, ``k, v (B, H, N_k, d)``; lse is float32.

    ``causal``: ``False``, ``True`` / ``"top_left"``, ``"bottom_right"``. ``impl`` (half precision
    only): one of :data:`HALF_IMPLS`; default :data:`DEFAULT_HALF_IMPL`.
    """
    check_qkv(q, k, v, key_padding_mask, "flash_forward_cuda")
    mode = causal_mode(causal)
    kind = _kind(q.dtype, precision)
    impl = impl or DEFAULT_HALF_IMPL
    if impl not in HALF_IMPLS:
        raise ValueError(f"flash_forward_cuda: impl must be one of {HALF_IMPLS}, got {impl!r}")
    batch, heads, _, d = q.shape
    dim = _padded_dim(d)
    scale = default_scale(d, scale)
    q, k, v = (_prepare(x, dim) for x in (q, k, v))
    if kind == "bf16":
        q, k, v = (to_bf16_bits(x) for x in (q, k, v))
    pad = _pad_mask(key_padding_mask, batch, k.shape[2])
    out, lse = _launch_forward(kind, q, k, v, pad, heads, mode, scale, impl, key_padding_mask is not None)
    if kind == "bf16":
        out = from_bf16_bits(out)
    return (out if dim == d else out[..., :d].copy()), lse


def flash_backward_cuda(
    q, k, v, out, lse, dout, *, causal=False, key_padding_mask=None, scale=None, precision=None, impl=None
):
    """``(dQ, dK, dV)`` on the GPU from the forward's ``out`` and float32 ``lse``; same dtypes as ``q``.

    ``impl``: ``"simt"`` (02) or ``"mma"`` (06, float16 / bfloat16 only); default :data:`DEFAULT_BWD_IMPL`.
    """
    check_qkv(q, k, v, key_padding_mask, "flash_backward_cuda")
    import numpy as np

    mode = causal_mode(causal)
    cp = _cupy()
    kind = _kind(q.dtype, precision)
    impl = impl or (DEFAULT_BWD_IMPL if kind != "f32" else "simt")
    if impl not in BWD_IMPLS:
        raise ValueError(f"flash_backward_cuda: impl must be one of {BWD_IMPLS}, got {impl!r}")
    batch, heads, n_q, d = q.shape
    n_k = k.shape[2]
    dim = _padded_dim(d)
    scale = default_scale(d, scale)
    delta = row_delta(dout, out, kind, dim)
    q, k, v, dout = (_prepare(x, dim) for x in (q, k, v, dout))
    if kind == "bf16":
        q, k, v, dout = (to_bf16_bits(x) for x in (q, k, v, dout))
    lse = cp.ascontiguousarray(lse, dtype=cp.float32)
    pad = _pad_mask(key_padding_mask, batch, n_k)
    dq, dk, dv = cp.empty_like(q), cp.empty_like(k), cp.empty_like(v)
    tail = (np.int32(heads), np.int32(n_q), np.int32(n_k), np.float32(scale), np.int32(mode))
    bh = batch * heads
    if impl == "mma":
        if kind == "f32":
            raise ValueError("flash_backward_cuda: impl='mma' takes float16 or bfloat16, got float32")
        tail += (np.int32(key_padding_mask is not None),)
        smem_dq = 6 * 64 * dim * 2  # Q and dO blocks + 2 stages of K and V
        smem_kv = smem_dq + 4 * 64 * 4  # K and V blocks + 2 stages of Q and dO, of L and delta
        dkdv = _sized("06_flash_bwd_mma.cu", f"flash_bwd_dkdv_mma_{kind}", dim, smem_kv)
        dkdv(((n_k + 63) // 64, bh), (128,), (q, k, v, dout, lse, delta, pad, dk, dv, *tail), shared_mem=smem_kv)
        dq_kernel = _sized("06_flash_bwd_mma.cu", f"flash_bwd_dq_mma_{kind}", dim, smem_dq)
        dq_kernel(((n_q + 63) // 64, bh), (128,), (q, k, v, dout, lse, delta, pad, dq, *tail), shared_mem=smem_dq)
        return _finish_grads((dq, dk, dv), kind, dim, d)
    kernel("02_flash_bwd_fp32.cu", f"flash_bwd_dkdv_{kind}", dim)(
        ((n_k + BWD_OWN - 1) // BWD_OWN, bh), (BWD_OWN,), (q, k, v, dout, lse, delta, pad, dk, dv, *tail)
    )
    kernel("02_flash_bwd_fp32.cu", f"flash_bwd_dq_{kind}", dim)(
        ((n_q + BWD_OWN - 1) // BWD_OWN, bh), (BWD_OWN,), (q, k, v, dout, lse, delta, pad, dq, *tail)
    )
    return _finish_grads((dq, dk, dv), kind, dim, d)


def row_delta(dout, out, kind: str, dim: int):
    """``rowsum(dO ∘ O)`` in float32, shape ``(B, H, N_q)``, before any padding of the head dimension: one
    launch of 06's delta kernel for half-precision kinds, CuPy's reduction otherwise."""
    import numpy as np

    cp = _cupy()
    if kind == "f32" or dout.dtype != out.dtype:
        return (dout.astype(cp.float32) * out.astype(cp.float32)).sum(axis=-1)
    dout, out = cp.ascontiguousarray(dout), cp.ascontiguousarray(out)
    delta = cp.empty(out.shape[:3], cp.float32)
    rows = delta.size
    fn = kernel("06_flash_bwd_mma.cu", "flash_bwd_delta_f16" if kind == "f16" else "flash_bwd_delta_f32", dim)
    fn(((rows + 7) // 8,), (256,), (dout, out, delta, np.int32(rows), np.int32(out.shape[-1])))
    return delta


def _finish_grads(grads, kind, dim, d):
    if kind == "bf16":
        grads = tuple(from_bf16_bits(g) for g in grads)
    return tuple(g if dim == d else g[..., :d].copy() for g in grads)
