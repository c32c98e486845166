"""Launcher of ``attention/11_flash_bwd_tma.cu``: 09's two backward kernels with a producer warpgroup feeding
the tiles by the copy engine (TMA), as 10 does for 08.

Both kernels take the same four 3-D tensor maps (Q, K, V, dO; boxes of 64 columns by 64 rows, made by
:func:`hyperion.kernels.matmul.tma.tensor_map` and kept by address) and are launched, the dQ kernel first (it
writes delta = rowsum(dO ∘ O), which the dK/dV kernel reads: no delta kernel of its own), by
:class:`~hyperion.kernels.attention.fwd_tma.Plan`. :func:`flash_backward_tma` has
:func:`~hyperion.kernels.attention.flash_backward_wgmma`'s arguments and results.
"""

from __future__ import annotations

from hyperion.kernels.attention import _check_kind, _grid, _group, _kernel, _operands, check_grad_inputs
from hyperion.kernels.attention.fwd_tma import plan
from hyperion.kernels.matmul.tma import tensor_map
from hyperion.tensor.cuda_build import cupy_module, from_bf16_bits
from hyperion.transformer.flash import cuda as level2
from hyperion.transformer.flash._inputs import causal_mode, check_qkv, default_scale

SOURCE = "attention/11_flash_bwd_tma.cu"
# Per head dimension, both kernels' tile: rows of a streamed tile (FLASH_BT), consumer warpgroups (64 owned rows
# each), ring stages, blocks per SM. From the H100 sweep of 2026-12-07 (results/runtime-h100-2026-12-07-p, call
# 2: B = 4, H = 16, fp16, N 1024 / 4096 / 8192, causal and not; the whole backward timed, one tile for both
# kernels): the fastest at N = 4096 and 8192. 128-row streamed tiles spill at d >= 96 (d = 80: 16 bytes, and
# still the fastest there).
_TILE_64 = {"FLASH_BT": 64, "FLASH_WG": 2, "FLASH_STAGES": 2, "FLASH_MIN_BLOCKS": 1}
_TILE_128 = {"FLASH_BT": 128, "FLASH_WG": 2, "FLASH_STAGES": 2, "FLASH_MIN_BLOCKS": 1}
BWD_TMA_TILES: dict[int, dict[str, int]] = {64: _TILE_128, 80: _TILE_128, 96: _TILE_64, 128: _TILE_64}
# The dQ kernel's tile where it differs from the dK/dV kernel's. The two tuned apart (call 4: each kernel on five
# tiles with the other on the table's, N 4096 / 8192, causal and not): at d = 64 the dQ kernel was 1-4 % faster
# with three consumer warpgroups (192 query rows a block; it spills nothing); elsewhere no tile beat the table's
# by more than 1.4 % for either kernel.
DQ_TMA_TILES: dict[int, dict[str, int]] = {
    **BWD_TMA_TILES, 64: {"FLASH_BT": 64, "FLASH_WG": 3, "FLASH_STAGES": 2, "FLASH_MIN_BLOCKS": 1}}
# Where flash_backward_hopper takes 11 over 09: head dimension -> the shortest N_q. In that sweep 11 (its best
# tile) was faster than 09 (its tables' tiles, timed in a second process on the same host) in all 24 cells:
# 1.11-1.15x at d = 64, 1.14-1.37 at d = 80, 1.19-1.30 at d = 96, 1.24-1.44 at d = 128.
TMA_BWD_FROM_N: dict[int, int] = {64: 1, 80: 1, 96: 1, 128: 1}


def shared_bytes(d: int, tile: dict[str, int]) -> int:
    """Dynamic shared memory of 11: the owned rows (two operands), the ring's two tiles a stage, the dK/dV
    kernel's statistics (L and delta a stage), + alignment."""
    slabs, stages, bt = -(-d // 64), tile["FLASH_STAGES"], tile["FLASH_BT"]
    return slabs * 128 * (2 * 64 * tile["FLASH_WG"] + 2 * stages * bt) + 8 * stages * bt + 1024


_MAPS: dict[tuple[int, ...], tuple[bytes, ...]] = {}


def _maps(q: int, k: int, v: int, dout: int, d: int, n_q: int, n_k: int, bh: int) -> tuple[bytes, ...]:
    """Q's, K's, V's and dO's tensor maps (64 x 64 boxes), kept by address and shape."""
    key = (q, k, v, dout, d, n_q, n_k, bh)
    maps = _MAPS.get(key)
    if maps is None:
        if len(_MAPS) > 64:
            _MAPS.clear()
        maps = _MAPS[key] = tuple(tensor_map(ptr, d, n, 64, 64, depth=bh)
                                  for ptr, n in ((q, n_q), (k, n_k), (v, n_k), (dout, n_q)))
    return maps


def flash_backward_tma(q, k, v, out, lse, dout, *, causal=False, key_padding_mask=None, scale=None,
                       precision=None, tile: dict[str, int] | tuple[dict[str, int], dict[str, int]] | None = None,
                       group: int | None = None):
    """``(dQ, dK, dV)`` by 11 (Hopper only): :func:`~hyperion.kernels.attention.flash_backward_wgmma`'s
    arguments and results. ``tile`` (sweeps): one tile for both kernels, or a pair (dK/dV's, dQ's); else
    :data:`BWD_TMA_TILES` (dK/dV) and :data:`DQ_TMA_TILES` (dQ)."""
    cupy = cupy_module()

    check_qkv(q, k, v, key_padding_mask, "flash_backward_tma")
    kind = _check_kind(q, precision, "flash_backward_tma")
    check_grad_inputs(q, out, lse, dout, "flash_backward_tma")
    if q.size == 0 or k.size == 0:  # no query rows or no keys: every gradient is zero, nothing to launch
        return tuple(cupy.zeros_like(x) for x in (q, k, v))
    batch, heads, n_q, d = q.shape
    tiles = tile if isinstance(tile, tuple) else (tile or BWD_TMA_TILES[d], tile or DQ_TMA_TILES[d])
    # contiguous and 16-byte aligned (a tensor map's requirement; the dQ kernel's 16-byte loads of dO and O)
    q, k, v, dout, out = _operands(kind, q, k, v, dout, out)
    n_k, bh = k.shape[2], batch * heads
    lse = cupy.ascontiguousarray(lse, dtype=cupy.float32)
    pad = level2._pad_mask(key_padding_mask, batch, n_k)
    delta = cupy.empty((batch, heads, n_q), cupy.float32)  # written by the dQ kernel, read by the dK/dV kernel
    dq, dk, dv = cupy.empty_like(q), cupy.empty_like(k), cupy.empty_like(v)
    maps = _maps(q.data.ptr, k.data.ptr, v.data.ptr, dout.data.ptr, d, n_q, n_k, bh)
    scalars = (heads, n_q, n_k, float(default_scale(d, scale)), causal_mode(causal),
               int(key_padding_mask is not None), _group(causal, group))
    for name, t, n, pointers in (("dq", tiles[1], n_q, (dout, out, dq)), ("dkdv", tiles[0], n_k, (dk, dv))):
        smem = shared_bytes(d, t)
        fn = _kernel(SOURCE, f"flash_bwd_{name}_tma_{kind}", d, tuple(sorted(t.items())), smem)
        launch = plan(fn, _grid(n, 64 * t["FLASH_WG"], bh), 128 * (t["FLASH_WG"] + 1), smem, *scalars, maps=4,
                      pointers=3 + len(pointers))
        launch(maps, lse.data.ptr, delta.data.ptr, pad.data.ptr, *(x.data.ptr for x in pointers))
    return tuple(from_bf16_bits(g) for g in (dq, dk, dv)) if kind == "bf16" else (dq, dk, dv)
