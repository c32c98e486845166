"""LayerNorm forward and backward progressions over the last axis of a 2-D fp32 CuPy array.

Forward: 01_naive (thread per row) -> 02_warp (warp per row, 3 reads) -> 03_register_cached (block per
row, row in registers: 1 read, 1 write). ``layernorm_forward(x, w, b)`` returns ``(y, mean, rstd)``.
04_half_fwd: 03 for fp16 / bf16 x and y (fp32 weight, bias, statistics): ``layernorm_half(x, w, b, eps, dtype)``.
Backward: 11_bwd_naive (thread per row for dx, thread per column for dw/db) -> 12_bwd_fused (persistent
blocks, one read of dy and x, per-block partial dw/db then a small reduction) -> 13_bwd_smem_partials (the same
pass with the dw/db running sums in shared memory and registers capped, so several blocks share an SM).
``layernorm_backward(dy, x, w, mean, rstd)`` returns ``(dx, dw, db)``.
"""

from __future__ import annotations

import numpy as np

from hyperion.kernels._launch import aligned16, as_device, cdiv, i32, sm_count
from hyperion.kernels.loader import get_kernel
from hyperion.tensor.cuda_build import cupy_module

FORWARD_VERSIONS = ["01_naive", "02_warp", "03_register_cached"]
BACKWARD_VERSIONS = ["11_bwd_naive", "12_bwd_fused", "13_bwd_smem_partials"]
MAX_CACHE_VEC = 16


def cache_vec(C: int, block: int) -> int:
    need = cdiv(C, 4 * block)
    if need > MAX_CACHE_VEC:
        raise ValueError(
            f"rows of {C} floats exceed the register cache ({4 * block * MAX_CACHE_VEC}) at block {block}"
        )
    return max(1, need)


def _block_for(C: int, block: int | None) -> int:
    if block is not None:
        return block
    return 256 if C <= 4 * 256 * MAX_CACHE_VEC else 1024


def _params(x, w, b):
    x = as_device(x, np.float32, "x", ndim=2)
    C = x.shape[1]
    w = as_device(w, np.float32, "weight", ndim=1)
    b = as_device(b, np.float32, "bias", ndim=1)
    if w.shape != (C,) or b.shape != (C,):
        raise ValueError(f"weight and bias must have shape ({C},), got {w.shape} and {b.shape}")
    return x, w, b


def layernorm_forward(
    x, w, b, eps: float = 1e-5, version: str = "03_register_cached", block: int | None = None
):
    """``(y, mean, rstd)`` of LayerNorm over the last axis (fp32)."""
    cupy = cupy_module()

    if version not in FORWARD_VERSIONS:
        raise ValueError(f"unknown layernorm forward version {version!r}; known: {FORWARD_VERSIONS}")
    x, w, b = _params(x, w, b)
    rows, C = x.shape
    y = cupy.empty_like(x)
    mean = cupy.empty(rows, np.float32)
    rstd = cupy.empty(rows, np.float32)
    if rows == 0 or C == 0:
        return y, mean, rstd
    args = (x, w, b, y, mean, rstd, i32(rows), i32(C), np.float32(eps))
    if version == "01_naive":
        get_kernel("layernorm/01_naive.cu", "layernorm_fwd_naive")((cdiv(rows, 128),), (128,), args)
    elif version == "02_warp":
        get_kernel("layernorm/02_warp.cu", "layernorm_fwd_warp")((cdiv(rows, 8),), (256,), args)
    else:
        block = _block_for(C, block)
        vec = int(C % 4 == 0 and aligned16(x, w, b, y))
        kernel = get_kernel("layernorm/03_register_cached.cu", "layernorm_fwd", CACHE_VEC=cache_vec(C, block))
        kernel((rows,), (block,), (*args, i32(vec)))
    return y, mean, rstd


REGISTERS_PER_SM = 65536


def _bwd_kernel(src: str, C: int, block: int | None):
    """The backward kernel and its block size: the largest block (more rows in flight per SM; 1024 won the
    H200 sweep at C = 4096) whose registers fit on an SM. A given ``block`` that cannot launch is refused."""
    for candidate in (block,) if block else (1024, 512, 256):
        if C > 4 * candidate * MAX_CACHE_VEC:
            continue
        kernel = get_kernel(src, "layernorm_bwd_fused", CACHE_VEC=cache_vec(C, candidate))
        if kernel.num_regs * candidate <= REGISTERS_PER_SM:
            return candidate, kernel
        if block:
            raise ValueError(
                f"layernorm_backward: block {block} needs {kernel.num_regs} registers per thread for rows of {C}: "
                f"more than an SM's {REGISTERS_PER_SM}; use a smaller block"
            )
    raise ValueError(f"layernorm_backward: rows of {C} floats exceed the register cache of every block size")


SHARED_PER_SM = 228 * 1024  # Hopper: bytes of shared memory per SM (1 KiB of it reserved per block)


def _bwd13_kernel(C: int, block: int | None, min_blocks: int | None):
    """13's kernel, its block size and how many of its blocks fit on one SM (registers, threads, shared
    memory). ``min_blocks`` (default: what ~8 registers per cached float4 + 24 allow) caps the registers."""
    block = block or (512 if C <= 4 * 512 * MAX_CACHE_VEC else 1024)
    if C > 4 * block * MAX_CACHE_VEC:
        raise ValueError(f"layernorm_backward: rows of {C} floats exceed the register cache at block {block}")
    vec = cache_vec(C, block)
    min_blocks = min_blocks or max(1, min(2048 // block, REGISTERS_PER_SM // (block * (8 * vec + 24))))
    kernel = get_kernel(
        "layernorm/13_bwd_smem_partials.cu",
        "layernorm_bwd_smem",
        CACHE_VEC=vec,
        BWD_BLOCK=block,
        BWD_MINB=min_blocks,
    )
    smem = 2 * 4 * cdiv(C, 4) * 4
    if smem > 48 * 1024:
        kernel.max_dynamic_shared_size_bytes = smem
    regs_per_warp = cdiv(kernel.num_regs * 32, 256) * 256
    per_sm = min(
        2048 // block,
        REGISTERS_PER_SM // (regs_per_warp * (block // 32)),
        SHARED_PER_SM // (smem + 1024 + 256),
    )
    return kernel, block, smem, max(1, per_sm)


def layernorm_backward(
    dy,
    x,
    w,
    mean,
    rstd,
    version: str = "13_bwd_smem_partials",
    block: int | None = None,
    parts: int | None = None,
    min_blocks: int | None = None,
):
    """``(dx, dw, db)`` of LayerNorm given the forward's saved ``mean`` and ``rstd``."""
    cupy = cupy_module()

    if version not in BACKWARD_VERSIONS:
        raise ValueError(f"unknown layernorm backward version {version!r}; known: {BACKWARD_VERSIONS}")
    x = as_device(x, np.float32, "x", ndim=2)
    rows, C = x.shape
    dy = as_device(dy, np.float32, "grad", ndim=2)
    if dy.shape != x.shape:
        raise ValueError(f"grad has shape {dy.shape}, x has {x.shape}")
    w = as_device(w, np.float32, "weight", ndim=1)
    mean = as_device(mean, np.float32, "mean", ndim=1)
    rstd = as_device(rstd, np.float32, "rstd", ndim=1)
    dx = cupy.empty_like(x)
    dw = cupy.zeros(C, np.float32)
    db = cupy.zeros(C, np.float32)
    if rows == 0 or C == 0:
        return dx, dw, db
    if version == "11_bwd_naive":
        src = "layernorm/11_bwd_naive.cu"
        get_kernel(src, "layernorm_bwd_naive_dx")(
            (cdiv(rows, 128),), (128,), (dy, x, w, mean, rstd, dx, i32(rows), i32(C))
        )
        get_kernel(src, "layernorm_bwd_naive_dwdb")(
            (cdiv(C, 128),), (128,), (dy, x, mean, rstd, dw, db, i32(rows), i32(C))
        )
        return dx, dw, db
    if version == "13_bwd_smem_partials":
        kernel, block, smem, per_sm = _bwd13_kernel(C, block, min_blocks)
        parts = parts or min(rows, sm_count() * per_sm)  # one wave of resident blocks
        dw_part = cupy.empty((parts, C), np.float32)
        db_part = cupy.empty((parts, C), np.float32)
        vec = int(C % 4 == 0 and aligned16(dy, x, w, dx, dw_part, db_part))
        kernel(
            (parts,),
            (block,),
            (dy, x, w, mean, rstd, dx, dw_part, db_part, i32(rows), i32(C), i32(vec)),
            shared_mem=smem,
        )
        get_kernel("layernorm/13_bwd_smem_partials.cu", "layernorm_bwd_reduce")(
            (cdiv(C, 256), cdiv(parts, 8)), (256,), (dw_part, db_part, dw, db, i32(parts), i32(C))
        )
        return dx, dw, db
    src = "layernorm/12_bwd_fused.cu"
    block, kernel = _bwd_kernel(src, C, block)
    parts = parts or min(rows, sm_count() * max(1, 2048 // block))  # enough blocks to fill every SM
    dw_part = cupy.empty((parts, C), np.float32)
    db_part = cupy.empty((parts, C), np.float32)
    vec = int(C % 4 == 0 and aligned16(dy, x, w, dx, dw_part, db_part))
    kernel((parts,), (block,), (dy, x, w, mean, rstd, dx, dw_part, db_part, i32(rows), i32(C), i32(vec)))
    get_kernel(src, "layernorm_bwd_reduce")(
        (cdiv(C, 256), cdiv(parts, 8)), (256,), (dw_part, db_part, dw, db, i32(parts), i32(C))
    )
    return dx, dw, db


# ---- 04_half_fwd: fp16 / bf16 x and y, fp32 weight, bias and statistics ----------------------------
HALF_MAX_CACHE_VEC = 8  # chunks of 8 elements per thread in registers (8 floats each)


def _half_fwd_kernel(C: int, max_head: int, dtype: str, block: int | None):
    """04's kernel and block: the smallest block (of 256, 512, 1024) whose threads hold the row (C elements
    starting up to ``max_head`` elements before a 16-byte boundary) in at most HALF_MAX_CACHE_VEC chunks of 8
    each. A given ``block`` that cannot is refused."""
    if block is not None and (block % 32 or not 32 <= block <= 1024):
        raise ValueError(f"block must be a multiple of 32 in [32, 1024], got {block}")
    for candidate in (block,) if block else (256, 512, 1024):
        chunks = cdiv(cdiv(C + max_head, 8), candidate)
        if chunks <= HALF_MAX_CACHE_VEC:
            name = f"layernorm_half_fwd_{dtype}"
            return get_kernel(
                "layernorm/04_half_fwd.cu", name, CACHE_VEC=chunks, HALF_BLOCK=candidate
            ), candidate
    raise ValueError(
        f"layernorm_half: rows of {C} elements do not fit the register cache at "
        f"{f'block {block}' if block else 'any block size'} (at most {HALF_MAX_CACHE_VEC} chunks of 8 per thread)"
    )


def layernorm_half(x, w, b, eps: float = 1e-5, dtype: str = "bf16", block: int | None = None, out=None):
    """``(y, mean, rstd)`` of LayerNorm over the last axis of a 2-D fp16 (``float16``) or bf16 (``uint16``
    bits) array with fp32 weight and bias: fp32 statistics, y rounded once to ``dtype`` (04_half_fwd)."""
    cupy = cupy_module()

    from hyperion.kernels.softmax import half_dtype, half_out, max_row_head

    x = as_device(x, half_dtype(dtype), "x", ndim=2)
    rows, C = x.shape
    w = as_device(w, np.float32, "weight", ndim=1)
    b = as_device(b, np.float32, "bias", ndim=1)
    if w.shape != (C,) or b.shape != (C,):
        raise ValueError(f"weight and bias must have shape ({C},), got {w.shape} and {b.shape}")
    y = half_out(out, x)
    mean = cupy.empty(rows, np.float32)
    rstd = cupy.empty(rows, np.float32)
    if rows == 0 or C == 0:
        return y, mean, rstd
    vec = int(x.data.ptr % 16 == y.data.ptr % 16)  # a row of x and of y then start equally misaligned
    kernel, block = _half_fwd_kernel(C, max_row_head(x, vec), dtype, block)
    wvec = int(aligned16(w, b))
    args = (x, w, b, y, mean, rstd, i32(rows), i32(C), np.float32(eps), i32(vec), i32(wvec))
    kernel((rows,), (block,), args)
    return y, mean, rstd
