"""Launcher of ``attention/10_flash_fwd_tma.cu``: 08's forward with a producer warpgroup feeding K/V tiles by
the copy engine (TMA) and each tile's softmax overlapped with the tensor cores' next products.

The kernel takes Q, K and V as 3-D tensor maps by value (``CUtensorMap``, 128 bytes each: d inner, N, batch x
heads; made by :func:`hyperion.kernels.matmul.tma.tensor_map` and kept by address), so it is launched through
``cuLaunchKernel`` with a parameter block laid out once per geometry (:class:`Plan`). :func:`flash_forward_tma`
has :func:`flash_forward_wgmma`'s arguments and results.
"""

from __future__ import annotations

import struct
import threading
from typing import Any

import numpy as np

from hyperion.kernels.attention import _check_kind, _grid, _group, _kernel, _operands, flash_forward_wgmma
from hyperion.kernels.matmul.tma import MAP_BYTES, tensor_map
from hyperion.tensor.cuda_build import cupy_module, from_bf16_bits
from hyperion.transformer.flash import cuda as level2
from hyperion.transformer.flash._inputs import causal_mode, check_qkv, default_scale

SOURCE = "attention/10_flash_fwd_tma.cu"
# Per head dimension: keys per tile, consumer warpgroups (64 query rows each), ring stages, blocks per SM.
# From the H100 sweep of 2026-12-06 (results/runtime-h100-2026-12-06-k, call 1: B = 4, H = 16, fp16, N 1024 /
# 4096 / 8192, causal and not): the fastest of 10's tiles at N = 4096 and 8192; d = 80 and 96 from a sweep of
# three tiles after 10's products were no longer serialized (results/runtime-h100-2026-12-07-p, call 7: three
# stages the fastest summed over N = 4096 and 8192); d = 128's third stage from call 9 (1.12-1.22x faster in
# all six cells; at d = 64 a third stage changed nothing, 0.98-1.00).
TMA_TILES: dict[int, dict[str, int]] = {
    64: {"FLASH_BC": 128, "FLASH_WG": 1, "FLASH_STAGES": 2, "FLASH_MIN_BLOCKS": 2},
    80: {"FLASH_BC": 128, "FLASH_WG": 2, "FLASH_STAGES": 3, "FLASH_MIN_BLOCKS": 1},
    96: {"FLASH_BC": 128, "FLASH_WG": 2, "FLASH_STAGES": 3, "FLASH_MIN_BLOCKS": 1},
    128: {"FLASH_BC": 128, "FLASH_WG": 2, "FLASH_STAGES": 3, "FLASH_MIN_BLOCKS": 1},
}
# Where flash_forward_hopper takes 10 over 08: head dimension -> the shortest N_q. Every head dimension from any
# N since 10's waits moved ahead of its wgmma fence (2026-12-07, call 6: 10 1.01-1.25x faster than before;
# call 7, one process, in turns: 08's time / 10's best tile 1.03-1.22 at d = 80 and 1.13-1.33 at d = 96 over
# N 1024 / 2048 / 4096 / 8192, causal and not). Before that, d = 80 kept 08 and d = 96 took 10 from N = 4096.
TMA_FROM_N: dict[int, int] = {64: 1, 80: 1, 96: 1, 128: 1}


def shared_bytes(d: int, tile: dict[str, int]) -> int:
    """Dynamic shared memory of 10: the Q block and the ring's K and V tiles (64-column slabs), + alignment."""
    slabs = -(-d // 64)
    return slabs * 128 * (64 * tile["FLASH_WG"] + 2 * tile["FLASH_STAGES"] * tile["FLASH_BC"]) + 1024


def threads(tile: dict[str, int]) -> int:
    """A block: the producer warpgroup and the consumers."""
    return 128 * (tile["FLASH_WG"] + 1)


class Plan:
    """One launch geometry of a kernel that takes tensor maps by value (10, 11): kernel, grid, block, shared
    memory and the seven scalars, with its parameter block -- ``maps`` 128-byte maps on 64-byte boundaries, then
    an 8-byte slot per pointer and per scalar -- laid out once. A call copies the maps in only when they are
    not the ones already there, packs the ``pointers`` that change from call to call and calls cuLaunchKernel,
    which copies the block before it returns. Calls from several threads take turns (a lock)."""

    SCALARS = "<i4xi4xi4xf4xi4xi4xi4x"  # heads, n_q, n_k, scale, causal, has_pad, group

    def __init__(self, fn: Any, grid: tuple[int, int], block: int, smem: int, *scalars: Any, maps: int = 3,
                 pointers: int = 3) -> None:
        cupy = cupy_module()

        self.pointers_at, self.pointer_format = maps * MAP_BYTES, "<" + "Q" * pointers
        size = self.pointers_at + 8 * (pointers + 7)
        self._raw = np.zeros(size + 64, np.uint8)
        start = (-self._raw.ctypes.data) % 64
        self.block = self._raw[start:start + size]
        struct.pack_into(self.SCALARS, self.block, self.pointers_at + 8 * pointers, *scalars)
        base = self.block.ctypes.data
        self.params = np.array([base + i * MAP_BYTES for i in range(maps)] +
                               [base + self.pointers_at + 8 * i for i in range(pointers + 7)], np.uint64)
        self._params_ptr = int(self.params.ctypes.data)
        self.head = (fn.kernel.ptr, grid[0], grid[1], 1, block, 1, 1, smem)
        self.maps: tuple[bytes, ...] | None = None  # the maps the block holds
        self._launch, self._stream = cupy.cuda.driver.launchKernel, cupy.cuda.get_current_stream
        self._lock = threading.Lock()

    def __call__(self, maps: tuple[bytes, ...], *pointers: int) -> None:
        with self._lock:
            if maps is not self.maps:
                self.block[:self.pointers_at] = np.frombuffer(b"".join(maps), np.uint8)
                self.maps = maps
            struct.pack_into(self.pointer_format, self.block, self.pointers_at, *pointers)
            self._launch(*self.head, self._stream().ptr, self._params_ptr, 0)


_PLANS: dict[tuple, Plan] = {}


def plan(fn: Any, grid: tuple[int, int], block: int, smem: int, *scalars: Any, maps: int = 3,
         pointers: int = 3) -> Plan:
    """The :class:`Plan` of this kernel, geometry and scalars, made on the first call."""
    key = (fn.kernel.ptr, grid, block, smem, scalars)
    found = _PLANS.get(key)
    if found is None:
        if len(_PLANS) > 256:
            _PLANS.clear()
        found = _PLANS[key] = Plan(fn, grid, block, smem, *scalars, maps=maps, pointers=pointers)
    return found


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
    cupy = cupy_module()

    check_qkv(q, k, v, key_padding_mask, "flash_forward_tma")
    kind = _check_kind(q, precision, "flash_forward_tma")
    batch, heads, n_q, d = q.shape
    n_k = k.shape[2]
    if q.size == 0 or n_k == 0:  # no query rows, or no keys (a tensor map needs every dimension >= 1): 08's
        return flash_forward_wgmma(q, k, v, causal=causal, key_padding_mask=key_padding_mask, scale=scale,
                                   precision=precision, group=group)
    q, k, v = _operands(kind, q, k, v)  # contiguous and 16-byte aligned (a tensor map's requirement)
    tile = tile or TMA_TILES[d]
    pad = level2._pad_mask(key_padding_mask, batch, n_k)
    out = cupy.empty_like(q)
    lse = cupy.empty((batch, heads, n_q), cupy.float32)
    rows, bh = 64 * tile["FLASH_WG"], batch * heads
    maps = _maps(q.data.ptr, k.data.ptr, v.data.ptr, d, n_q, n_k, bh, rows, tile["FLASH_BC"])
    smem = shared_bytes(d, tile)
    fn = _kernel(SOURCE, f"flash_fwd_tma_{kind}", d, tuple(sorted(tile.items())), smem)
    launch = plan(fn, _grid(n_q, rows, bh), threads(tile), smem, heads, n_q, n_k, float(default_scale(d, scale)),
                  causal_mode(causal), int(key_padding_mask is not None), _group(causal, group))
    launch(maps, pad.data.ptr, out.data.ptr, lse.data.ptr)
    return (from_bf16_bits(out) if kind == "bf16" else out), lse
