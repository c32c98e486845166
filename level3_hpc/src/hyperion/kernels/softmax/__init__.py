"""The softmax progression (row-wise over the last axis of a 2-D fp32 CuPy array).

01_naive (thread per row, 3 passes) -> 02_block_reduce (block per row, shared-memory trees, 3 passes)
-> 03_online_warp (warp per row, online max/sum, 2 reads) -> 04_register_cached (block per row, row in
float4 registers, 1 read + 1 write). ``softmax(x, version, block=...)``.
05_half: 04 for fp16 / bf16 rows (fp32 arithmetic, 16-byte loads): ``softmax_half(x, dtype)``.
"""

from __future__ import annotations

import numpy as np

from hyperion.kernels._launch import aligned16, as_device, cdiv, i32
from hyperion.kernels.loader import get_kernel
from hyperion.tensor.cuda_build import cupy_module

VERSIONS = ["01_naive", "02_block_reduce", "03_online_warp", "04_register_cached"]
_SOURCES = {
    "01_naive": ("softmax/01_naive.cu", "softmax_naive"),
    "02_block_reduce": ("softmax/02_block_reduce.cu", "softmax_block_reduce"),
    "03_online_warp": ("softmax/03_online_warp.cu", "softmax_online"),
    "04_register_cached": ("softmax/04_register_cached.cu", "softmax_register_cached"),
}
DEFAULT_BLOCK = {"01_naive": 128, "02_block_reduce": 256, "03_online_warp": 256, "04_register_cached": 256}


def cache_vec(C: int, block: int) -> int:
    """float4s per thread that cover a row of C floats with ``block`` threads (at least 1, at most 16)."""
    return max(1, min(16, cdiv(C, 4 * block)))


def softmax(x, version: str = "04_register_cached", block: int | None = None, out=None):
    """Softmax over the last axis of a 2-D fp32 array with one kernel of the progression."""
    cupy = cupy_module()

    if version not in _SOURCES:
        raise ValueError(f"unknown softmax version {version!r}; known: {VERSIONS}")
    x = as_device(x, np.float32, "x", ndim=2)
    rows, C = x.shape
    y = cupy.empty_like(x) if out is None else out
    if rows == 0 or C == 0:
        return y
    block = block or DEFAULT_BLOCK[version]
    if block % 32 or not 32 <= block <= 1024:
        raise ValueError(f"block must be a multiple of 32 in [32, 1024], got {block}")
    source, name = _SOURCES[version]
    if version == "01_naive":
        get_kernel(source, name)((cdiv(rows, block),), (block,), (x, y, i32(rows), i32(C)))
    elif version == "02_block_reduce":
        if block & (block - 1):
            raise ValueError(f"02_block_reduce needs a power-of-two block, got {block}")
        get_kernel(source, name)((rows,), (block,), (x, y, i32(rows), i32(C)), shared_mem=4 * block)
    elif version == "03_online_warp":
        get_kernel(source, name)((cdiv(rows, block // 32),), (block,), (x, y, i32(rows), i32(C)))
    else:
        vec = int(C % 4 == 0 and aligned16(x, y))
        kernel = get_kernel(source, name, CACHE_VEC=cache_vec(C, block))
        kernel((rows,), (block,), (x, y, i32(rows), i32(C), i32(vec)))
    return y


# ---- 05_half: fp16 / bf16 rows, fp32 arithmetic ------------------------------------------------------
HALF_DTYPES = {"f16": np.float16, "bf16": np.uint16}  # bf16 travels as uint16 bit patterns (CuPy has none)
HALF_MAX_CACHE_VEC = 8  # chunks of 8 elements per thread in registers (8 floats each)
REGISTERS_PER_SM = 65536


def half_dtype(dtype: str):
    """numpy dtype that holds a 16-bit type's values: float16 for "f16", uint16 bit patterns for "bf16"."""
    if dtype not in HALF_DTYPES:
        raise ValueError(f"dtype must be 'f16' or 'bf16', got {dtype!r}")
    return HALF_DTYPES[dtype]


def half_out(out, like, name: str = "out"):
    """``out`` checked against ``like`` (shape, dtype, C-contiguous), or a new array like ``like``."""
    cupy = cupy_module()

    if out is None:
        return cupy.empty_like(like)
    if not isinstance(out, cupy.ndarray) or out.shape != like.shape or out.dtype != like.dtype:
        raise ValueError(f"{name} must be a cupy array of shape {like.shape} and dtype {like.dtype}")
    if not out.flags.c_contiguous:
        raise ValueError(f"{name} must be C-contiguous")
    return out


def fits_registers(kernel, block: int) -> bool:
    """A block of ``block`` threads of ``kernel`` fits an SM's register file (allocated per warp, 256 at a time)."""
    return cdiv(kernel.num_regs * 32, 256) * 256 * (block // 32) <= REGISTERS_PER_SM


def max_row_head(x, vec: int) -> int:
    """The most elements any row of ``x`` starts before a 16-byte boundary (what half_row.cuh's kernels
    add to a row's length); row heads repeat every 8 rows."""
    if not vec:
        return 0
    rows, C = x.shape
    return max((x.data.ptr + 2 * r * C) % 16 // 2 for r in range(min(rows, 8)))


def softmax_half(x, dtype: str = "bf16", block: int = 256, out=None):
    """Softmax over the last axis of a 2-D fp16 (``float16``) or bf16 (``uint16`` bits) array, computed in
    fp32 and rounded once to ``dtype`` (05_half)."""
    x = as_device(x, half_dtype(dtype), "x", ndim=2)
    rows, C = x.shape
    y = half_out(out, x)
    if rows == 0 or C == 0:
        return y
    if block % 32 or not 32 <= block <= 1024:
        raise ValueError(f"block must be a multiple of 32 in [32, 1024], got {block}")
    vec = int(x.data.ptr % 16 == y.data.ptr % 16)  # a row of x and of y then start equally misaligned
    # the most chunks per thread that the row needs and that a block's registers allow (the rest streams)
    for cv in range(min(HALF_MAX_CACHE_VEC, cdiv(cdiv(C + max_row_head(x, vec), 8), block)), 0, -1):
        kernel = get_kernel("softmax/05_half.cu", f"softmax_half_{dtype}", CACHE_VEC=cv)
        if fits_registers(kernel, block):
            break
    kernel((rows,), (block,), (x, y, i32(rows), i32(C), i32(vec)))
    return y
