"""FlashAttention on Hopper: ``08_flash_fwd_wgmma.cu``, ``09_flash_bwd_wgmma.cu`` and the functions that pick them.

Level 2's CUDA FlashAttention (``hyperion.transformer.flash.cuda``) ends with mma.sync kernels (05 forward,
06 backward) that run on any GPU since Ampere. 08 continues that progression with Hopper's warpgroup MMA
(sm_90a only, built with nvcc by :mod:`hyperion.kernels.matmul.sm90a`), and 09 does the same for 06.
:func:`flash_forward_hopper` and :func:`flash_backward_hopper` take level 2's arguments and return what level 2
returns; they run 08 / 09 for fp16/bf16 inputs with a head dimension in :data:`WGMMA_DIMS` on a
compute-capability-9.0 GPU, and level 2's kernels otherwise; an fp16 call whose shapes and flags were seen
before runs by the plan made then (:mod:`.planned`: a look-up, the allocations and packed launches).
:class:`FlashAttentionHopper` is the autograd Function that ``use_kernels`` registers for "cuda".
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from hyperion.tensor.cuda_build import cupy_module, from_bf16_bits, to_bf16_bits
from hyperion.transformer.flash import cuda as level2
from hyperion.transformer.flash._inputs import causal_mode, check_qkv, default_scale
from hyperion.transformer.flash.function import FlashAttentionCUDA

__all__ = ["BWD_TILES", "CAUSAL_GROUP", "DQ_TILES", "SHORT_TILES", "WGMMA_DIMS", "WGMMA_TILES",
           "FlashAttentionHopper", "flash_backward_hopper", "flash_backward_wgmma", "flash_forward_hopper",
           "flash_forward_wgmma", "forward_tile", "hopper_available", "shared_bytes"]

SOURCE = "attention/08_flash_fwd_wgmma.cu"
BWD_SOURCE = "attention/09_flash_bwd_wgmma.cu"
WGMMA_DIMS = (64, 80, 96, 128)
# Per head dimension: keys per K/V tile (FLASH_BC), warpgroups per block (FLASH_WG, 64 query rows each) and
# __launch_bounds__'s blocks per SM (FLASH_MIN_BLOCKS). From the H100 sweep of 2026-12-06 (`suite --only flash
# --sweep`, results/runtime-h100-2026-12-06-e/call5_suite_flash.txt): the fastest tile at N = 4096 and
# 8192, within 0.01 ms of the fastest at N = 1024. d = 128's three warpgroups spill (52-72 bytes at 168 registers
# a thread) and are still the fastest there. d = 96 from its own sweep (results/runtime-h100-2026-12-06-f, call
# 5): two blocks an SM, fastest at every N (1.06 against 1.57 ms with d = 80's tile at N = 4096).
WGMMA_TILES: dict[int, dict[str, int]] = {
    64: {"FLASH_BC": 128, "FLASH_WG": 1, "FLASH_MIN_BLOCKS": 2},
    80: {"FLASH_BC": 64, "FLASH_WG": 2, "FLASH_MIN_BLOCKS": 1},
    96: {"FLASH_BC": 64, "FLASH_WG": 2, "FLASH_MIN_BLOCKS": 2},
    128: {"FLASH_BC": 128, "FLASH_WG": 3, "FLASH_MIN_BLOCKS": 1},
}

# Short sequences at d = 128: the table's three warpgroups make few, partly empty blocks (N = 1024 is 5.3 tiles
# of 192 rows a head) and one block an SM; two warpgroups, 64-key tiles and two blocks an SM fill the GPU
# better. Measured on an H100 at B = 4, H = 16 (results/runtime-h100-2026-12-06-i, call 1; SDPA's time / ours):
# not causal, N = 512 / 1024 / 2048: 1.03 / 1.01 / 1.03 against the table's 0.82 / 0.99 / 1.01; causal at
# N = 512 1.09 against 1.00, but at 1024 and 2048 the table's tile was faster (1.21 / 1.29 against 1.19 / 1.26).
# Measured with N_q = N_k only; the rule looks at N_q. (head dimension -> (longest N_q not causal, longest N_q
# causal, tile)); it spills 16 bytes (test_compile). Since 2026-12-07 flash_forward_hopper runs 10 at d = 128 at
# every N (fwd_tma.TMA_FROM_N), so this tile serves 08 called directly.
SHORT_TILES: dict[int, tuple[int, int, dict[str, int]]] = {
    128: (2048, 512, {"FLASH_BC": 64, "FLASH_WG": 2, "FLASH_MIN_BLOCKS": 2}),
}


def forward_tile(d: int, n_q: int, causal) -> dict[str, int]:
    """08's tile for head dimension ``d`` and ``n_q`` query rows: :data:`SHORT_TILES` where it applies, else
    :data:`WGMMA_TILES`."""
    short = SHORT_TILES.get(d)
    if short is not None and n_q <= (short[1] if causal_mode(causal) else short[0]):
        return short[2]
    return WGMMA_TILES[d]


# Causal launches take heads CAUSAL_GROUP at a time, every head's longest tile of a group first (flash_wgmma.cuh's
# block_tile); 1 is the plain order (a head's tiles longest first, then the next head's). Swept on an H100 at
# B = 4, H = 16, d 64/80/128, N 1024/4096/8192, causal (results/runtime-h100-2026-12-06-f, call 7): 16 was faster
# than 1 in all 9 cells, forward and forward + backward (e.g. d = 128, N = 4096 f+b 0.92 against 0.86 of SDPA).
CAUSAL_GROUP = 16


def _grid(n: int, rows: int, batch_heads: int) -> tuple[int, int]:
    """(tiles of ``rows``, batch x heads): the grid of 08/09, inside CUDA's limits and block_tile's 32 bits."""
    tiles = -(-n // rows)
    if batch_heads > 65535 or tiles * batch_heads >= 2**31:
        raise ValueError(f"flash (wgmma): {batch_heads} batch x heads (at most 65535) and {tiles} tiles of {rows} "
                         f"rows make too large a grid")
    return tiles, batch_heads


def _group(causal, group: int | None) -> int:
    """Heads per group of the block order: 1 (the plain order) unless causal."""
    if group is not None and group < 1:
        raise ValueError(f"group must be a positive number of heads, got {group}")
    return (group or CAUSAL_GROUP) if causal else 1


# 09's dK/dV kernel per head dimension (dQ's: DQ_TILES below): rows of a streamed tile (FLASH_BT), warpgroups
# per block, blocks per SM; d = 128's from the kernels timed apart (call 10, below). Else from the same
# kind of sweep (results/runtime-h100-2026-12-06-e/call9_suite_flash.txt): the fastest at N = 4096 and 8192
# (d = 80's spills in the dK/dV kernel -- 20 bytes since block_tile, 44 before -- and is still the fastest);
# d = 96 from its own sweep (results/runtime-h100-2026-12-06-f, call 5: fastest at N = 4096 and 8192, as at
# d = 80; spills 52 bytes).
BWD_TILES: dict[int, dict[str, int]] = {
    64: {"FLASH_BT": 128, "FLASH_WG": 1, "FLASH_MIN_BLOCKS": 1},
    80: {"FLASH_BT": 128, "FLASH_WG": 2, "FLASH_MIN_BLOCKS": 1},
    96: {"FLASH_BT": 128, "FLASH_WG": 2, "FLASH_MIN_BLOCKS": 1},
    128: {"FLASH_BT": 64, "FLASH_WG": 1, "FLASH_MIN_BLOCKS": 2},
}
# The dQ kernel's own tile where it differs from BWD_TILES (the dK/dV kernel's). The two kernels timed apart
# (results/runtime-h100-2026-12-06-f, call 10, d = 128, N 4096/8192, causal and not): dK/dV fastest with one
# warpgroup and two blocks an SM (2-8 % over two warpgroups, one block), dQ with 128-row streamed tiles (4-13 %).
# Forward + backward at d = 128 with both (results/runtime-h100-2026-12-06-g, call 1): 1.08 / 0.98 / 1.04 / 0.93x
# SDPA at N 4096, 4096 causal, 8192, 8192 causal, against 1.03 / 0.95 / 0.95 / 0.89x with dQ on dK/dV's tile.
DQ_TILES: dict[int, dict[str, int]] = {**BWD_TILES, 128: {"FLASH_BT": 128, "FLASH_WG": 2, "FLASH_MIN_BLOCKS": 1}}


def bwd_shared_bytes(d: int, tile: dict[str, int]) -> int:
    """Dynamic shared memory of 09: the owned rows (two operands), two stages of two streamed tiles, the
    dK/dV kernel's statistics (two stages of L and delta), + alignment."""
    slabs = -(-d // 64)
    return slabs * 128 * (2 * 64 * tile["FLASH_WG"] + 4 * tile["FLASH_BT"]) + 16 * tile["FLASH_BT"] + 1024


def shared_bytes(d: int, tile: dict[str, int]) -> int:
    """Dynamic shared memory of 08: the Q block and two stages of K and V tiles (64-column slabs), + alignment."""
    slabs = -(-d // 64)
    return slabs * 128 * (64 * tile["FLASH_WG"] + 4 * tile["FLASH_BC"]) + 1024


@functools.cache
def _hopper(device: int) -> bool:
    cupy = cupy_module()

    return cupy.cuda.Device(device).compute_capability == "90"


def hopper_available() -> bool:
    """Whether the current GPU can run sm_90a code (an H100 or H200)."""
    cupy = cupy_module()

    return _hopper(cupy.cuda.get_device_id())


@functools.cache
def _kernel(source: str, name: str, d: int, tile: tuple[tuple[str, int], ...], smem: int) -> Any:
    from hyperion.kernels.matmul.sm90a import get_kernel_sm90a

    fn = get_kernel_sm90a(source, name, FLASH_D=d, **dict(tile))
    fn.max_dynamic_shared_size_bytes = smem
    return fn


def _check_kind(q, precision, where: str) -> str:
    kind = level2._kind(q.dtype, precision)
    if kind == "f32" or q.shape[-1] not in WGMMA_DIMS:
        raise ValueError(f"{where}: fp16/bf16 with head dimension in {WGMMA_DIMS}, got {kind}, d={q.shape[-1]}")
    return kind


def check_grad_inputs(q, out, lse, dout, where: str) -> None:
    """The backward's ``out`` and ``dout`` are shaped and typed as ``q`` (the kernels read them as q's 16-bit
    type, or round them from float32 like q with precision="bf16"), ``lse`` is ``q``'s shape without d."""
    for name, x in (("out", out), ("dout", dout)):
        if x.shape != q.shape or x.dtype != q.dtype:
            raise ValueError(f"{where}: {name} must have q's shape {q.shape} and dtype {q.dtype}, "
                             f"got {x.shape} {x.dtype}")
    if lse.shape != q.shape[:3]:
        raise ValueError(f"{where}: lse must have shape {q.shape[:3]} (B, H, N_q), got {lse.shape}")


def _operands(kind: str, *arrays):
    """The kernels' operands: C-contiguous and 16-byte aligned (level 2's ``_prepare``), bf16 bits for "bf16"."""
    arrays = tuple(level2._prepare(x, x.shape[-1]) for x in arrays)
    return tuple(to_bf16_bits(x) for x in arrays) if kind == "bf16" else arrays


def flash_forward_wgmma(q, k, v, *, causal=False, key_padding_mask=None, scale=None, precision=None,
                        tile: dict[str, int] | None = None, group: int | None = None):
    """``(O, lse)`` by 08 for CuPy fp16 ``q (B, H, N_q, d)``, ``k, v (B, H, N_k, d)`` (or float32 with
    ``precision="bf16"``), d in :data:`WGMMA_DIMS`; level 2's ``flash_forward_cuda`` semantics. Hopper only.
    ``tile`` and ``group`` (causal block order, :data:`CAUSAL_GROUP`) override the tables, for sweeps."""
    cupy = cupy_module()

    check_qkv(q, k, v, key_padding_mask, "flash_forward_wgmma")
    kind = _check_kind(q, precision, "flash_forward_wgmma")
    batch, heads, n_q, d = q.shape
    q, k, v = _operands(kind, q, k, v)
    n_k = k.shape[2]
    tile = tile or forward_tile(d, n_q, causal)
    pad = level2._pad_mask(key_padding_mask, batch, n_k)
    out = cupy.empty_like(q)
    lse = cupy.empty((batch, heads, n_q), cupy.float32)
    if out.size == 0:  # no query rows: nothing to launch (a grid of 0 blocks is a launch error)
        return (from_bf16_bits(out) if kind == "bf16" else out), lse
    rows = 64 * tile["FLASH_WG"]
    smem = shared_bytes(d, tile)
    fn = _kernel(SOURCE, f"flash_fwd_wgmma_{kind}", d, tuple(sorted(tile.items())), smem)
    args = (q, k, v, pad, out, lse, np.int32(heads), np.int32(n_q), np.int32(n_k),
            np.float32(default_scale(d, scale)), np.int32(causal_mode(causal)), np.int32(key_padding_mask is not None),
            np.int32(_group(causal, group)))
    fn(_grid(n_q, rows, batch * heads), (128 * tile["FLASH_WG"],), args, shared_mem=smem)
    return (from_bf16_bits(out) if kind == "bf16" else out), lse


def flash_backward_wgmma(q, k, v, out, lse, dout, *, causal=False, key_padding_mask=None, scale=None,
                         precision=None, tile: dict[str, int] | None = None, group: int | None = None):
    """``(dQ, dK, dV)`` by 09 (Hopper only) from the forward's ``out`` and ``lse``; level 2's
    ``flash_backward_cuda`` semantics, for fp16 (or float32 with ``precision="bf16"``), d in :data:`WGMMA_DIMS`."""
    cupy = cupy_module()

    check_qkv(q, k, v, key_padding_mask, "flash_backward_wgmma")
    kind = _check_kind(q, precision, "flash_backward_wgmma")
    check_grad_inputs(q, out, lse, dout, "flash_backward_wgmma")
    if q.size == 0 or k.size == 0:  # no query rows or no keys: every gradient is zero, nothing to launch
        return tuple(cupy.zeros_like(x) for x in (q, k, v))
    batch, heads, n_q, d = q.shape
    tiles = (tile or BWD_TILES[d], tile or DQ_TILES[d])  # (dK/dV's, dQ's): one ``tile`` sets both
    delta = level2.row_delta(dout, out, kind, d)
    q, k, v, dout = _operands(kind, q, k, v, dout)
    n_k = k.shape[2]
    lse = cupy.ascontiguousarray(lse, dtype=cupy.float32)
    pad = level2._pad_mask(key_padding_mask, batch, n_k)
    dq, dk, dv = cupy.empty_like(q), cupy.empty_like(k), cupy.empty_like(v)
    tail = (np.int32(heads), np.int32(n_q), np.int32(n_k), np.float32(default_scale(d, scale)),
            np.int32(causal_mode(causal)), np.int32(key_padding_mask is not None), np.int32(_group(causal, group)))
    for name, t, n, args in (("dkdv", tiles[0], n_k, (q, k, v, dout, lse, delta, pad, dk, dv, *tail)),
                             ("dq", tiles[1], n_q, (q, k, v, dout, lse, delta, pad, dq, *tail))):
        smem = bwd_shared_bytes(d, t)
        fn = _kernel(BWD_SOURCE, f"flash_bwd_{name}_wgmma_{kind}", d, tuple(sorted(t.items())), smem)
        fn(_grid(n, 64 * t["FLASH_WG"], batch * heads), (128 * t["FLASH_WG"],), args, shared_mem=smem)
    return tuple(from_bf16_bits(g) for g in (dq, dk, dv)) if kind == "bf16" else (dq, dk, dv)


def flash_forward_hopper(q, k, v, *, causal=False, key_padding_mask=None, scale=None, precision=None, impl=None):
    """Level 2's ``flash_forward_cuda``, but 08 (wgmma) where it applies: fp16/bf16, d in :data:`WGMMA_DIMS`,
    a Hopper GPU, no ``impl`` asked for; and 10 (TMA, a producer warpgroup) instead of 08 at the head dimensions
    and lengths of ``fwd_tma.TMA_FROM_N`` (all of them since 2026-12-07). Same arguments, same results (to fp16
    rounding). fp16 calls run by a plan made once per shape (:mod:`.planned`) where one applies."""
    if impl is None and precision is None:
        done = planned.forward(q, k, v, causal, key_padding_mask, scale)
        if done is not None:
            return done
    if _wgmma_applies(q, precision, impl):
        from hyperion.kernels.attention import fwd_tma

        if q.shape[2] >= fwd_tma.TMA_FROM_N.get(q.shape[-1], 1 << 62):
            return fwd_tma.flash_forward_tma(q, k, v, causal=causal, key_padding_mask=key_padding_mask,
                                             scale=scale, precision=precision)
        return flash_forward_wgmma(q, k, v, causal=causal, key_padding_mask=key_padding_mask, scale=scale,
                                   precision=precision)
    return level2.flash_forward_cuda(q, k, v, causal=causal, key_padding_mask=key_padding_mask, scale=scale,
                                     precision=precision, impl=impl)


def flash_backward_hopper(q, k, v, out, lse, dout, *, causal=False, key_padding_mask=None, scale=None,
                          precision=None, impl=None):
    """Level 2's ``flash_backward_cuda``, but 09 (wgmma) where it applies (as :func:`flash_forward_hopper`), and 11
    (TMA, a producer warpgroup) instead of 09 at the head dimensions and lengths of ``bwd_tma.TMA_BWD_FROM_N``."""
    if impl is None and precision is None:
        done = planned.backward(q, k, v, out, lse, dout, causal, key_padding_mask, scale)
        if done is not None:
            return done
    if _wgmma_applies(q, precision, impl):
        from hyperion.kernels.attention import bwd_tma

        if q.shape[2] >= bwd_tma.TMA_BWD_FROM_N.get(q.shape[-1], 1 << 62):
            return bwd_tma.flash_backward_tma(q, k, v, out, lse, dout, causal=causal,
                                              key_padding_mask=key_padding_mask, scale=scale, precision=precision)
        return flash_backward_wgmma(q, k, v, out, lse, dout, causal=causal, key_padding_mask=key_padding_mask,
                                    scale=scale, precision=precision)
    return level2.flash_backward_cuda(q, k, v, out, lse, dout, causal=causal, key_padding_mask=key_padding_mask,
                                      scale=scale, precision=precision, impl=impl)


def _wgmma_applies(q, precision, impl) -> bool:
    half = q.dtype == np.float16 or precision == "bf16"
    return impl is None and half and q.ndim == 4 and q.shape[-1] in WGMMA_DIMS and hopper_available()


class FlashAttentionHopper(FlashAttentionCUDA):
    """Level 2's CUDA FlashAttention Function on :func:`flash_forward_hopper` and :func:`flash_backward_hopper`."""

    @staticmethod
    def kernels():
        return flash_forward_hopper, flash_backward_hopper


from hyperion.kernels.attention import planned  # noqa: E402  (it uses the tables and helpers above)
