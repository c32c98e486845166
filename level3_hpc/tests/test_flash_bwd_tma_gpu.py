"""11_flash_bwd_tma (Hopper: 09's backward fed by TMA and a producer warpgroup) against naive attention's
gradients in float64 and against 09, at edges that are not multiples of its tiles, masks and both 16-bit types.

Skipped without a compute-capability-9.0 GPU. Tolerances as test_flash_wgmma_gpu's.
"""

from __future__ import annotations

import numpy as np
import pytest
from level3_gpu import skip_without_gpu

skip_without_gpu()

import cupy as cp  # noqa: E402
from test_flash_wgmma_gpu import MASKS, SHAPES, _close, _grads_close, _inputs  # noqa: E402

from hyperion.kernels import attention as fh  # noqa: E402
from hyperion.kernels.attention import bwd_tma  # noqa: E402
from hyperion.transformer.flash import cuda as level2  # noqa: E402

hopper = pytest.mark.skipif(not fh.hopper_available(), reason="11 uses wgmma and TMA: compute capability 9.0 only")
# heads spanning a box edge (the 3-D maps must give zeros, not the next head's rows) and several tiles a row
TMA_SHAPES = [*SHAPES, (3, 5, 129, 1025, 64), (1, 3, 700, 450, 96)]
# every tile the sweeps try: the tables', one warpgroup at two blocks an SM, 128-row streamed tiles, 3 stages,
# three warpgroups (the dQ kernel's at d = 64)
TILES = [{"FLASH_BT": 64, "FLASH_WG": 2, "FLASH_STAGES": 2, "FLASH_MIN_BLOCKS": 1},
         {"FLASH_BT": 64, "FLASH_WG": 1, "FLASH_STAGES": 2, "FLASH_MIN_BLOCKS": 2},
         {"FLASH_BT": 128, "FLASH_WG": 2, "FLASH_STAGES": 2, "FLASH_MIN_BLOCKS": 1},
         {"FLASH_BT": 64, "FLASH_WG": 2, "FLASH_STAGES": 3, "FLASH_MIN_BLOCKS": 1},
         {"FLASH_BT": 64, "FLASH_WG": 3, "FLASH_STAGES": 2, "FLASH_MIN_BLOCKS": 1}]


def _grad_out(q, seed):
    return cp.asarray(np.random.default_rng(seed).standard_normal(q.shape)).astype(q.dtype)


@hopper
@pytest.mark.parametrize("shape", TMA_SHAPES)
@pytest.mark.parametrize(("causal", "padding"), MASKS)
def test_tma_backward_fp16(shape, causal, padding):
    (q, k, v), pad = _inputs(shape, seed=8)
    mask = pad if padding else None
    q, k, v = (x.astype(cp.float16) for x in (q, k, v))
    do = _grad_out(q, 9)
    out, lse = fh.flash_forward_wgmma(q, k, v, causal=causal, key_padding_mask=mask)
    grads = bwd_tma.flash_backward_tma(q, k, v, out, lse, do, causal=causal, key_padding_mask=mask)
    _grads_close(grads, q, k, v, do, causal, mask, f"11 fp16 {shape} causal={causal} padding={padding}")
    if padding and shape[0] > 1:
        assert all(bool(cp.all(g[-1] == 0)) for g in grads), "fully masked batch element: zero gradients"


@hopper
@pytest.mark.parametrize("shape", TMA_SHAPES[:4])
@pytest.mark.parametrize("causal", [False, True])
def test_tma_backward_bf16(shape, causal):
    (q, k, v), _ = _inputs(shape, seed=10)
    do = cp.asarray(np.random.default_rng(11).standard_normal(q.shape))
    q, k, v, do = (level2.from_bf16_bits(level2.to_bf16_bits(x.astype(cp.float32))) for x in (q, k, v, do))
    out, lse = fh.flash_forward_wgmma(q, k, v, causal=causal, precision="bf16")
    grads = bwd_tma.flash_backward_tma(q, k, v, out, lse, do, causal=causal, precision="bf16")
    _grads_close(grads, q, k, v, do, causal, None, f"11 bf16 {shape}", 2e-2)


@hopper
@pytest.mark.parametrize("tile", TILES)
@pytest.mark.parametrize("d", [64, 80, 128])
def test_tma_backward_tiles_agree(tile, d):
    """Both kernels on one tile (``tile=``) give the reference's gradients, for every tile the sweeps try at
    ``d`` (128-row tiles: d <= 80; three warpgroups: d = 64)."""
    if (tile["FLASH_BT"] == 128 and d > 80) or (tile["FLASH_WG"] == 3 and d > 64):
        pytest.skip("128-row streamed tiles at d > 80 and three warpgroups at d > 64 spill: not candidates there")
    (q, k, v), pad = _inputs((2, 2, 300, 333, d), seed=12)
    q, k, v = (x.astype(cp.float16) for x in (q, k, v))
    do = _grad_out(q, 13)
    for causal in (False, True, "bottom_right"):
        out, lse = fh.flash_forward_wgmma(q, k, v, causal=causal, key_padding_mask=pad)
        grads = bwd_tma.flash_backward_tma(q, k, v, out, lse, do, causal=causal, key_padding_mask=pad, tile=tile)
        _grads_close(grads, q, k, v, do, causal, pad, f"11 {tile} d={d} causal={causal}")


@hopper
def test_tma_backward_matches_09_closely():
    """09's arithmetic fed another way: the two agree far inside the float64 tolerance, over many tiles."""
    (q, k, v), _ = _inputs((2, 4, 1024, 1024, 128), seed=14)
    q, k, v = (x.astype(cp.float16) for x in (q, k, v))
    do = _grad_out(q, 15)
    for causal in (False, True):
        out, lse = fh.flash_forward_wgmma(q, k, v, causal=causal)
        ours = bwd_tma.flash_backward_tma(q, k, v, out, lse, do, causal=causal)
        theirs = fh.flash_backward_wgmma(q, k, v, out, lse, do, causal=causal)
        for a, b, which in zip(ours, theirs, "qkv", strict=True):
            _close(a, b.astype(cp.float64), f"11 vs 09 d{which} causal={causal}", 2e-3)


@hopper
def test_tma_backward_unaligned_and_empty():
    (q, k, v), _ = _inputs((1, 2, 100, 150, 64), seed=5)
    q, k, v = (x.astype(cp.float16) for x in (q, k, v))
    do = _grad_out(q, 6)
    out, lse = fh.flash_forward_wgmma(q, k, v)
    do_off, out_off = (cp.empty(x.size + 1, cp.float16)[1:].reshape(x.shape) for x in (do, out))
    do_off[...], out_off[...] = do, out  # they start 2 bytes off: copied to aligned arrays first
    _grads_close(bwd_tma.flash_backward_tma(q, k, v, out, lse, do_off), q, k, v, do, False, None, "11 unaligned dO")
    _grads_close(bwd_tma.flash_backward_tma(q, k, v, out_off, lse, do), q, k, v, do, False, None, "11 unaligned O")
    by_plan = fh.flash_backward_hopper(q, k, v, out_off, lse, do_off)  # the planned call declines; the general path
    _grads_close(by_plan, q, k, v, do, False, None, "planned, unaligned O and dO")
    for backward in (bwd_tma.flash_backward_tma, fh.flash_backward_wgmma):  # read as fp16 they would be garbage
        with pytest.raises(ValueError, match="dout must have q's shape"):
            backward(q, k, v, out, lse, do.astype(cp.float32))
        with pytest.raises(ValueError, match="lse must have shape"):
            backward(q, k, v, out, lse[:, :, :-1], do)
    grads = bwd_tma.flash_backward_tma(q, k[:, :, :0], v[:, :, :0], out, lse, do)
    assert [g.shape for g in grads] == [q.shape, (1, 2, 0, 64), (1, 2, 0, 64)] and bool(cp.all(grads[0] == 0))


@hopper
@pytest.mark.parametrize("from_n", [1, 10**9])
def test_dispatch_takes_11_where_its_table_says(monkeypatch, from_n):
    """With d = 64 in TMA_BWD_FROM_N from N_q = 1 (11) or past any N (09): the planned call and the general path
    take the kernel the table says, and give the bits that kernel gives called directly."""
    from hyperion.kernels.attention import planned

    monkeypatch.setitem(bwd_tma.TMA_BWD_FROM_N, 64, from_n)
    monkeypatch.setattr(planned, "_BACKWARD", {})
    (q, k, v), pad = _inputs((2, 3, 200, 190, 64), seed=16)
    q, k, v = (x.astype(cp.float16) for x in (q, k, v))
    do = _grad_out(q, 17)
    out, lse = fh.flash_forward_wgmma(q, k, v, causal=True, key_padding_mask=pad)
    direct = (bwd_tma.flash_backward_tma if from_n == 1 else fh.flash_backward_wgmma)(
        q, k, v, out, lse, do, causal=True, key_padding_mask=pad)
    by_plan = fh.flash_backward_hopper(q, k, v, out, lse, do, causal=True, key_padding_mask=pad)
    (plan,) = planned._BACKWARD.values()
    assert plan.kernel == ("11" if from_n == 1 else "09")
    monkeypatch.setattr(planned, "backward", lambda *a: None)  # no plan: the general path
    general = fh.flash_backward_hopper(q, k, v, out, lse, do, causal=True, key_padding_mask=pad)
    for a, b, c in zip(direct, by_plan, general, strict=True):
        assert bool(cp.all(a == b)) and bool(cp.all(a == c))
