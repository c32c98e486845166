"""10_flash_fwd_tma (Hopper: TMA, a producer warpgroup, softmax overlapped with the next products) against naive
attention in float64 and against 08, at edges that are not multiples of its tiles, masks and both 16-bit types.

Skipped without a compute-capability-9.0 GPU. Tolerances as test_flash_wgmma_gpu's.
"""

from __future__ import annotations

import pytest
from level3_gpu import skip_without_gpu

skip_without_gpu()

import cupy as cp  # noqa: E402
from test_flash_wgmma_gpu import MASKS, SHAPES, _close, _inputs, check_forward_bf16, check_forward_fp16  # noqa: E402

from hyperion.kernels import attention as fh  # noqa: E402
from hyperion.kernels.attention import fwd_tma, planned  # noqa: E402
from hyperion.transformer.flash.naive import naive_attention_forward  # noqa: E402

hopper = pytest.mark.skipif(not fh.hopper_available(), reason="10 uses wgmma and TMA: compute capability 9.0 only")
# heads spanning a tile edge (the 3-D map must give zeros, not the next head's rows) and several tiles a row
TMA_SHAPES = [*SHAPES, (3, 5, 129, 1025, 64), (1, 3, 700, 450, 96)]


@hopper
@pytest.mark.parametrize("shape", TMA_SHAPES)
@pytest.mark.parametrize(("causal", "padding"), MASKS)
def test_tma_forward_fp16(shape, causal, padding):
    check_forward_fp16(fwd_tma.flash_forward_tma, "10", shape, causal, padding)


@hopper
@pytest.mark.parametrize("shape", TMA_SHAPES[:4])
@pytest.mark.parametrize("causal", [False, True])
def test_tma_forward_bf16(shape, causal):
    check_forward_bf16(fwd_tma.flash_forward_tma, "10", shape, causal)


@hopper
@pytest.mark.parametrize("tile", [{"FLASH_BC": 64, "FLASH_WG": 1, "FLASH_STAGES": 2, "FLASH_MIN_BLOCKS": 2},
                                  {"FLASH_BC": 128, "FLASH_WG": 2, "FLASH_STAGES": 3, "FLASH_MIN_BLOCKS": 1},
                                  {"FLASH_BC": 64, "FLASH_WG": 3, "FLASH_STAGES": 4, "FLASH_MIN_BLOCKS": 1}])
@pytest.mark.parametrize("d", [64, 128])
def test_tma_tiles_agree(tile, d):
    (q, k, v), pad = _inputs((2, 2, 300, 333, d), seed=3)
    q, k, v = (x.astype(cp.float16) for x in (q, k, v))
    for causal in (False, True, "bottom_right"):
        want, _ = naive_attention_forward(*(x.astype(cp.float64) for x in (q, k, v)), causal=causal,
                                          key_padding_mask=pad)
        out, _ = fwd_tma.flash_forward_tma(q, k, v, causal=causal, key_padding_mask=pad, tile=tile)
        _close(out, want, f"10 {tile} d={d} causal={causal}")


@hopper
def test_tma_matches_08_closely():
    """The same arithmetic as 08 in another order: the two agree far inside the float64 tolerance."""
    (q, k, v), _ = _inputs((2, 4, 1024, 1024, 128), seed=4)
    q, k, v = (x.astype(cp.float16) for x in (q, k, v))
    for causal in (False, True):
        ours, lse = fwd_tma.flash_forward_tma(q, k, v, causal=causal)
        ref, ref_lse = fh.flash_forward_wgmma(q, k, v, causal=causal)
        _close(ours, ref.astype(cp.float64), f"10 vs 08 causal={causal}", 2e-3)
        _close(lse, ref_lse.astype(cp.float64), "10 vs 08 lse", 1e-4)


@hopper
def test_tma_unaligned_view_and_no_keys():
    (q, k, v), _ = _inputs((1, 2, 100, 150, 64), seed=5)
    q, k, v = (x.astype(cp.float16) for x in (q, k, v))
    flat = cp.empty(q.size + 1, cp.float16)
    q_off = flat[1:].reshape(q.shape)  # starts 2 bytes off: copied to an aligned array first
    q_off[...] = q
    want, _ = naive_attention_forward(*(x.astype(cp.float64) for x in (q, k, v)))
    out, _ = fwd_tma.flash_forward_tma(q_off, k, v)
    _close(out, want, "10 unaligned q")
    out0, lse0 = fwd_tma.flash_forward_tma(q, k[:, :, :0], v[:, :, :0])
    assert bool(cp.all(out0 == 0)) and bool(cp.all(cp.isneginf(lse0)))


@hopper
@pytest.mark.parametrize(("d", "n_q", "from_n", "want"), [(64, 100, None, "10"), (80, 5000, None, "10"),
                                                           (96, 1000, None, "10"), (128, 1, None, "10"),
                                                           (96, 1000, 4096, "08"), (96, 4096, 4096, "10")])
def test_dispatch_takes_10_where_its_table_says(monkeypatch, d, n_q, from_n, want):
    """Both ways the dispatch runs: by a plan (fp16, contiguous, aligned) and by the general path; with the table
    as it is, and with 10 from N_q = 4096 only (``from_n``)."""
    if from_n is not None:
        monkeypatch.setitem(fwd_tma.TMA_FROM_N, d, from_n)
    monkeypatch.setattr(planned, "_FORWARD", {})
    q = cp.ones((1, 1, n_q, d), cp.float16)
    k = cp.ones((1, 1, 7, d), cp.float16)
    out, _ = fh.flash_forward_hopper(q, k, k, causal=True)
    assert planned._FORWARD[planned._key((q, k, k), True, None, None)].kernel == want and bool(cp.all(out == 1))
    called = []
    real08, real10 = fh.flash_forward_wgmma, fwd_tma.flash_forward_tma
    monkeypatch.setattr(planned, "forward", lambda *a: None)  # no plan: the general path
    monkeypatch.setattr(fh, "flash_forward_wgmma", lambda *a, **kw: called.append("08") or real08(*a, **kw))
    monkeypatch.setattr(fwd_tma, "flash_forward_tma", lambda *a, **kw: called.append("10") or real10(*a, **kw))
    out, _ = fh.flash_forward_hopper(q, k, k, causal=True)
    assert called == [want] and bool(cp.all(out == 1))
