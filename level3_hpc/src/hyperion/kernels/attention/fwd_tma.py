"""Launcher of ``attention/10_flash_fwd_tma.cu``: 08's forward with a producer warpgroup feeding K/V tiles by
the copy engine (TMA) and each tile's softmax overlapped with the tensor cores' next products.

The kernel takes Q, K and V as 3-D tensor maps by value (``CUtensorMap``, 128 bytes each: d inner, N, batch x
heads; made by :func:`hyperion.kernels.matmul.tma.tensor_map`), so it is launched through ``cuLaunchKernel``
with a parameter block laid out here. :func:`flash_forward_tma` has :func:`flash_forward_wgmma`'s arguments and
results.
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np

from hyperion.kernels.attention import _check_kind, _grid, _group, _kernel, _operands, flash_forward_wgmma
from hyperion.kernels.matmul.tma import MAP_BYTES, tensor_map
from hyperion.tensor.cuda_build import from_bf16_bits
from hyperion.transformer.flash import cuda as level2
from hyperion.transformer.flash._inputs import causal_mode, check_qkv, default_scale

SOURCE = "attention/10_flash_fwd_tma.cu"
# Per head dimension: keys per tile, consumer warpgroups (64 query rows each), ring stages, blocks per SM.
# From the H100 sweep of 2026-12-06 (results/runtime-h100-2026-12-06-k, call 1: B = 4, H = 16, fp16, N 1024 /
# 4096 / 8192, causal and not): the fastest of 10's tiles at N = 4096 and 8192.
TMA_TILES: dict[int, dict[str, int]] = {
    64: {"FLASH_BC": 128, "FLASH_WG": 1, "FLASH_STAGES": 2, "FLASH_MIN_BLOCKS": 2},
    80: {"FLASH_BC": 128, "FLASH_WG": 2, "FLASH_STAGES": 2, "FLASH_MIN_BLOCKS": 1},
    96: {"FLASH_BC": 128, "FLASH_WG": 2, "FLASH_STAGES": 2, "FLASH_MIN_BLOCKS": 1},
    128: {"FLASH_BC": 128, "FLASH_WG": 2, "FLASH_STAGES": 2, "FLASH_MIN_BLOCKS": 1},
}
# Where flash_forward_hopper takes 10 over 08: head dimension -> the shortest N_q. In that sweep 10 (its
# table's tile) against 08 (its own): d = 64 1.02-1.13x SDPA against 1.02-1.14 (faster at N = 4096 and 8192
# without a mask, within 2 % elsewhere); d = 128 faster in all six cells (1.05-1.38 against 0.99-1.26); d = 96
# faster or even from N = 4096 (1.09-1.20 against 1.05-1.20), slower at N = 1024 without a mask (0.95 against
# 1.02); d = 80 slower in five of six cells (08 stays).
TMA_FROM_N: dict[int, int] = {64: 1, 96: 4096, 128: 1}
_SCALARS = "<QQQiiifiii"  # key_pad, out, lse, heads, n_q, n_k, scale, causal, has_pad, group


def shared_bytes(d: int, tile: dict[str, int]) -> int:
    """Dynamic shared memory of 10: the Q block and the ring's K and V tiles (64-column slabs), + alignment."""
    slabs = -(-d // 64)
    return slabs * 128 * (64 * tile["FLASH_WG"] + 2 * tile["FLASH_STAGES"] * tile["FLASH_BC"]) + 1024


def threads(tile: dict[str, int]) -> int:
    """A block: the producer warpgroup and the consumers."""
    return 128 * (tile["FLASH_WG"] + 1)


def _aligned(x):
    """``x`` itself when its data starts 16-byte aligned (a tensor map's requirement), else an aligned copy."""
    import cupy

    return x if x.data.ptr % 16 == 0 else cupy.array(x, copy=True)


def _launch(fn: Any, grid: tuple[int, int], block: int, smem: int, maps: tuple[bytes, ...], *scalars: Any) -> None:
    """cuLaunchKernel with the three maps and the scalars each in their own slot of one 64-aligned buffer."""
    import cupy

    raw = np.zeros(3 * MAP_BYTES + 8 * len(scalars) + 64, np.uint8)
    start = (-raw.ctypes.data) % 64
    block_bytes = raw[start:]
    for i, m in enumerate(maps):
        block_bytes[i * MAP_BYTES:(i + 1) * MAP_BYTES] = np.frombuffer(m, np.uint8)
    fmt = "".join(c if c in "Q" else c + "4x" for c in _SCALARS[1:])
    struct.pack_into("<" + fmt, block_bytes, 3 * MAP_BYTES, *scalars)
    base = block_bytes.ctypes.data
    params = np.array([base + i * MAP_BYTES for i in range(3)] +
                      [base + 3 * MAP_BYTES + 8 * i for i in range(len(scalars))], np.uint64)
    cupy.cuda.driver.launchKernel(fn.kernel.ptr, grid[0], grid[1], 1, block, 1, 1, smem,
                                  cupy.cuda.get_current_stream().ptr, int(params.ctypes.data), 0)
    # cuLaunchKernel has copied the parameters when it returns: raw and params may go


_MAPS: dict[tuple[int, ...], tuple[bytes, bytes, bytes]] = {}


def _maps(q: int, k: int, v: int, d: int, n_q: int, n_k: int, bh: int, rows: int, bc: int) -> tuple[bytes, ...]:
    """Q's, K's and V's tensor maps, kept by address and shape (a training loop's buffers come back)."""
    key = (q, k, v, d, n_q, n_k, bh, rows, bc)
    maps = _MAPS.get(key)
    if maps is None:
        if len(_MAPS) > 64:
            _MAPS.clear()
        maps = _MAPS[key] = (tensor_map(q, d, n_q, 64, rows, depth=bh), tensor_map(k, d, n_k, 64, bc, depth=bh),
                             tensor_map(v, d, n_k, 64, bc, depth=bh))
    return maps


def flash_forward_tma(q, k, v, *, causal=False, key_padding_mask=None, scale=None, precision=None,
                      tile: dict[str, int] | None = None, group: int | None = None):
    """``(O, lse)`` by 10 (Hopper only): :func:`flash_forward_wgmma`'s arguments and results. ``tile``
    overrides :data:`TMA_TILES` (sweeps)."""
    import cupy

    check_qkv(q, k, v, key_padding_mask, "flash_forward_tma")
    kind = _check_kind(q, precision, "flash_forward_tma")
    batch, heads, n_q, d = q.shape
    n_k = k.shape[2]
    if q.size == 0 or n_k == 0:  # no query rows, or no keys (a tensor map needs every dimension >= 1): 08's
        return flash_forward_wgmma(q, k, v, causal=causal, key_padding_mask=key_padding_mask, scale=scale,
                                   precision=precision, group=group)
    q, k, v = (_aligned(x) for x in _operands(kind, q, k, v))
    tile = tile or TMA_TILES[d]
    pad = level2._pad_mask(key_padding_mask, batch, n_k)
    out = cupy.empty_like(q)
    lse = cupy.empty((batch, heads, n_q), cupy.float32)
    rows, bh = 64 * tile["FLASH_WG"], batch * heads
    maps = _maps(q.data.ptr, k.data.ptr, v.data.ptr, d, n_q, n_k, bh, rows, tile["FLASH_BC"])
    smem = shared_bytes(d, tile)
    fn = _kernel(SOURCE, f"flash_fwd_tma_{kind}", d, tuple(sorted(tile.items())), smem)
    _launch(fn, _grid(n_q, rows, bh), threads(tile), smem, maps, pad.data.ptr, out.data.ptr, lse.data.ptr, heads,
            n_q, n_k, float(default_scale(d, scale)), causal_mode(causal), int(key_padding_mask is not None),
            _group(causal, group))
    return (from_bf16_bits(out) if kind == "bf16" else out), lse
