"""The softmax progression (row-wise over the last axis of a 2-D fp32 CuPy array).

01_naive (thread per row, 3 passes) -> 02_block_reduce (block per row, shared-memory trees, 3 passes)
-> 03_online_warp (warp per row, online max/sum, 2 reads) -> 04_register_cached (block per row, row in
float4 registers, 1 read + 1 write). ``softmax(x, version, block=...)``.
"""

from __future__ import annotations

import numpy as np

from hyperion.kernels._launch import aligned16, as_device, cdiv, i32
from hyperion.kernels.loader import get_kernel

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
    import cupy

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
