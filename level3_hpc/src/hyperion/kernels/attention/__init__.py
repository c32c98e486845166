"""FlashAttention on Hopper: ``08_flash_fwd_wgmma.cu`` and the one function that picks it.

Level 2's CUDA FlashAttention (``hyperion.transformer.flash.cuda``) ends with mma.sync kernels (05 forward,
06 backward) that run on any GPU since Ampere. 08 continues that progression with Hopper's warpgroup MMA
(sm_90a only, built with nvcc by :mod:`hyperion.kernels.matmul.sm90a`). :func:`flash_forward_hopper` takes
level 2's arguments and returns what level 2 returns; it runs 08 for fp16/bf16 inputs with a head dimension
in :data:`WGMMA_DIMS` on a compute-capability-9.0 GPU, and level 2's kernel otherwise.
:class:`FlashAttentionHopper` is the autograd Function that ``use_kernels`` registers for "cuda"; its
backward is level 2's (06 on tensor cores).
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from hyperion.tensor.cuda_build import from_bf16_bits, to_bf16_bits
from hyperion.transformer.flash import cuda as level2
from hyperion.transformer.flash._inputs import causal_mode, check_qkv, default_scale
from hyperion.transformer.flash.function import FlashAttentionCUDA

__all__ = ["WGMMA_DIMS", "WGMMA_TILES", "FlashAttentionHopper", "flash_forward_hopper", "flash_forward_wgmma",
           "hopper_available", "shared_bytes"]

SOURCE = "attention/08_flash_fwd_wgmma.cu"
WGMMA_DIMS = (64, 80, 96, 128)
# Per head dimension: keys per K/V tile (FLASH_BC), warpgroups per block (FLASH_WG, 64 query rows each) and
# __launch_bounds__'s blocks per SM (FLASH_MIN_BLOCKS). From the H100 sweep of 2026-12-06 (`suite --only flash
# --sweep`, results/runtime-h100-2026-12-06-e/call3_suite_flash_08.txt): the fastest tile at N = 4096 and
# 8192, within 0.01 ms of the fastest at N = 1024. d = 128's three warpgroups spill 52 bytes (168 registers
# a thread) and are still the fastest there; d = 96 was not swept (it takes d = 80's tile).
WGMMA_TILES: dict[int, dict[str, int]] = {
    64: {"FLASH_BC": 128, "FLASH_WG": 1, "FLASH_MIN_BLOCKS": 2},
    80: {"FLASH_BC": 64, "FLASH_WG": 2, "FLASH_MIN_BLOCKS": 1},
    96: {"FLASH_BC": 64, "FLASH_WG": 2, "FLASH_MIN_BLOCKS": 1},
    128: {"FLASH_BC": 128, "FLASH_WG": 3, "FLASH_MIN_BLOCKS": 1},
}


def shared_bytes(d: int, tile: dict[str, int]) -> int:
    """Dynamic shared memory of 08: the Q block and two stages of K and V tiles (64-column slabs), + alignment."""
    slabs = -(-d // 64)
    return slabs * 128 * (64 * tile["FLASH_WG"] + 4 * tile["FLASH_BC"]) + 1024


@functools.cache
def _hopper(device: int) -> bool:
    import cupy

    return cupy.cuda.Device(device).compute_capability == "90"


def hopper_available() -> bool:
    """Whether the current GPU can run sm_90a code (an H100 or H200)."""
    import cupy

    return _hopper(cupy.cuda.get_device_id())


@functools.cache
def _kernel(kind: str, d: int, tile: tuple[tuple[str, int], ...]) -> Any:
    from hyperion.kernels.matmul.sm90a import get_kernel_sm90a

    fn = get_kernel_sm90a(SOURCE, f"flash_fwd_wgmma_{kind}", FLASH_D=d, **dict(tile))
    fn.max_dynamic_shared_size_bytes = shared_bytes(d, dict(tile))
    return fn


def flash_forward_wgmma(q, k, v, *, causal=False, key_padding_mask=None, scale=None, precision=None,
                        tile: dict[str, int] | None = None):
    """``(O, lse)`` by 08 for CuPy fp16 ``q (B, H, N_q, d)``, ``k, v (B, H, N_k, d)`` (or float32 with
    ``precision="bf16"``), d in :data:`WGMMA_DIMS`; level 2's ``flash_forward_cuda`` semantics. Hopper only."""
    import cupy

    check_qkv(q, k, v, key_padding_mask, "flash_forward_wgmma")
    kind = level2._kind(q.dtype, precision)
    batch, heads, n_q, d = q.shape
    if kind == "f32" or d not in WGMMA_DIMS:
        raise ValueError(f"flash_forward_wgmma: fp16/bf16 with head dimension in {WGMMA_DIMS}, got {kind}, d={d}")
    tile = tile or WGMMA_TILES[d]
    q, k, v = (cupy.ascontiguousarray(x) for x in (q, k, v))
    if kind == "bf16":
        q, k, v = (to_bf16_bits(x) for x in (q, k, v))
    n_k = k.shape[2]
    pad = level2._pad_mask(key_padding_mask, batch, n_k)
    out = cupy.empty_like(q)
    lse = cupy.empty((batch, heads, n_q), cupy.float32)
    rows = 64 * tile["FLASH_WG"]
    fn = _kernel(kind, d, tuple(sorted(tile.items())))
    args = (q, k, v, pad, out, lse, np.int32(heads), np.int32(n_q), np.int32(n_k),
            np.float32(default_scale(d, scale)), np.int32(causal_mode(causal)), np.int32(key_padding_mask is not None))
    fn(((n_q + rows - 1) // rows, batch * heads), (128 * tile["FLASH_WG"],), args, shared_mem=shared_bytes(d, tile))
    return (from_bf16_bits(out) if kind == "bf16" else out), lse


def flash_forward_hopper(q, k, v, *, causal=False, key_padding_mask=None, scale=None, precision=None, impl=None):
    """Level 2's ``flash_forward_cuda``, but 08 (wgmma) where it applies: fp16/bf16, d in :data:`WGMMA_DIMS`,
    a Hopper GPU, no ``impl`` asked for. Same arguments, same results (to fp16 rounding)."""
    half = q.dtype == np.float16 or precision == "bf16"
    if impl is None and half and q.shape[-1] in WGMMA_DIMS and q.ndim == 4 and hopper_available():
        return flash_forward_wgmma(q, k, v, causal=causal, key_padding_mask=key_padding_mask, scale=scale,
                                   precision=precision)
    return level2.flash_forward_cuda(q, k, v, causal=causal, key_padding_mask=key_padding_mask, scale=scale,
                                     precision=precision, impl=impl)


class FlashAttentionHopper(FlashAttentionCUDA):
    """Level 2's CUDA FlashAttention Function with the forward of :func:`flash_forward_hopper`."""

    @staticmethod
    def kernels():
        return flash_forward_hopper, level2.flash_backward_cuda
