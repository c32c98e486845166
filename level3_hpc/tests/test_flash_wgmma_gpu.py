"""08_flash_fwd_wgmma and 09_flash_bwd_wgmma (Hopper) against naive attention in float64, and the dispatch.

Skipped without a GPU; the kernel tests also need a compute-capability-9.0 GPU (wgmma is sm_90a only).
Tolerances as level 2's half-precision tests: 1e-2 against float64 attention of the same rounded inputs.
"""

from __future__ import annotations

import numpy as np
import pytest
from level3_gpu import skip_without_gpu

skip_without_gpu()

import cupy as cp  # noqa: E402

import hyperion.tensor as ht  # noqa: E402
from hyperion.kernels import attention as fh  # noqa: E402
from hyperion.transformer.flash import cuda as level2  # noqa: E402
from hyperion.transformer.flash import flash_attention  # noqa: E402
from hyperion.transformer.flash.naive import naive_attention_backward, naive_attention_forward  # noqa: E402

hopper = pytest.mark.skipif(not fh.hopper_available(), reason="08 uses wgmma: a compute-capability-9.0 GPU only")
# (B, H, N_q, N_k, d): edges that are not multiples of the 128-row block or the key tile, one query, N_q != N_k
SHAPES = [(2, 3, 130, 77, 64), (1, 2, 200, 200, 128), (2, 2, 33, 300, 80), (1, 2, 257, 129, 96), (1, 1, 1, 77, 64),
          (1, 2, 1000, 1000, 128), (2, 1, 64, 64, 64)]
MASKS = [(False, False), (True, False), ("bottom_right", False), (False, True), (True, True)]


def _inputs(shape, seed=0):
    b, h, n_q, n_k, d = shape
    rng = np.random.default_rng(seed)
    q = rng.standard_normal((b, h, n_q, d))
    k, v = (rng.standard_normal((b, h, n_k, d)) for _ in range(2))
    pad = rng.random((b, n_k)) < 0.3
    if b > 1:
        pad[-1] = True  # the last batch element: every row fully masked
    return [cp.asarray(x) for x in (q, k, v)], cp.asarray(pad)


def _close(got, want, name, tol=1e-2):
    got, want = cp.asnumpy(got).astype(np.float64), cp.asnumpy(want)
    assert np.isfinite(got).all(), f"{name}: NaN or inf"
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol * max(1.0, np.abs(want).max()), err_msg=name)


def check_forward_fp16(forward, name, shape, causal, padding):
    """``forward`` (08's or 10's) against float64 attention: outputs, lse, fully masked rows."""
    (q, k, v), pad = _inputs(shape, seed=1)
    mask = pad if padding else None
    q, k, v = (x.astype(cp.float16) for x in (q, k, v))
    want, want_lse = naive_attention_forward(*(x.astype(cp.float64) for x in (q, k, v)), causal=causal,
                                             key_padding_mask=mask)
    out, lse = forward(q, k, v, causal=causal, key_padding_mask=mask)
    assert out.dtype == cp.float16 and out.shape == q.shape and lse.shape == q.shape[:3]
    _close(out, want, f"{name} fp16 {shape} causal={causal} padding={padding}")
    finite = cp.isfinite(want_lse)
    assert bool(cp.all(cp.isneginf(lse) == ~finite)), "fully masked rows: lse = -inf, others finite"
    _close(lse[finite], want_lse[finite], f"{name} lse")
    if padding and shape[0] > 1:
        assert bool(cp.all(out[-1] == 0)), "fully masked rows are zero"


def check_forward_bf16(forward, name, shape, causal):
    (q, k, v), _ = _inputs(shape, seed=2)
    q, k, v = (level2.from_bf16_bits(level2.to_bf16_bits(x.astype(cp.float32))) for x in (q, k, v))  # exact in bf16
    want, _ = naive_attention_forward(*(x.astype(cp.float64) for x in (q, k, v)), causal=causal)
    out, _ = forward(q, k, v, causal=causal, precision="bf16")
    assert out.dtype == cp.float32
    _close(out, want, f"{name} bf16 {shape}", 2e-2)


@hopper
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(("causal", "padding"), MASKS)
def test_wgmma_forward_fp16(shape, causal, padding):
    check_forward_fp16(fh.flash_forward_wgmma, "08", shape, causal, padding)


@hopper
@pytest.mark.parametrize("shape", SHAPES[:4])
@pytest.mark.parametrize("causal", [False, True])
def test_wgmma_forward_bf16(shape, causal):
    check_forward_bf16(fh.flash_forward_wgmma, "08", shape, causal)


@hopper
@pytest.mark.parametrize("tile", [{"FLASH_BC": 64, "FLASH_WG": 1, "FLASH_MIN_BLOCKS": 2},
                                  {"FLASH_BC": 128, "FLASH_WG": 3, "FLASH_MIN_BLOCKS": 1},
                                  {"FLASH_BC": 64, "FLASH_WG": 2, "FLASH_MIN_BLOCKS": 2}])
@pytest.mark.parametrize("d", [64, 128])
def test_wgmma_tiles_agree(tile, d):
    (q, k, v), pad = _inputs((2, 2, 300, 333, d), seed=3)
    q, k, v = (x.astype(cp.float16) for x in (q, k, v))
    for causal in (False, True):
        want, _ = naive_attention_forward(*(x.astype(cp.float64) for x in (q, k, v)), causal=causal,
                                          key_padding_mask=pad)
        out, _ = fh.flash_forward_wgmma(q, k, v, causal=causal, key_padding_mask=pad, tile=tile)
        _close(out, want, f"08 {tile} d={d} causal={causal}")


@hopper
def test_wgmma_negative_and_zero_scale():
    (q, k, v), _ = _inputs((1, 2, 100, 150, 64), seed=4)
    q, k, v = (x.astype(cp.float16) for x in (q, k, v))
    for scale in (-0.2, 0.0):
        want, _ = naive_attention_forward(*(x.astype(cp.float64) for x in (q, k, v)), causal=True, scale=scale)
        out, _ = fh.flash_forward_wgmma(q, k, v, causal=True, scale=scale)
        _close(out, want, f"08 scale={scale}")


@hopper
def test_wgmma_refuses_what_it_does_not_cover():
    (q, k, v), _ = _inputs((1, 1, 10, 10, 64))
    with pytest.raises(ValueError, match="fp16/bf16"):
        fh.flash_forward_wgmma(q.astype(cp.float32), k.astype(cp.float32), v.astype(cp.float32))
    q48 = cp.zeros((1, 1, 10, 48), cp.float16)
    with pytest.raises(ValueError, match="head dimension"):
        fh.flash_forward_wgmma(q48, q48, q48)


def test_dispatch_falls_back_to_level2_where_08_does_not_apply(monkeypatch):
    (q, k, v), _ = _inputs((1, 2, 50, 60, 40), seed=5)  # d = 40: not a wgmma head dimension
    q, k, v = (x.astype(cp.float16) for x in (q, k, v))
    called = []
    monkeypatch.setattr(fh, "flash_forward_wgmma", lambda *a, **kw: called.append(1))
    out, _ = fh.flash_forward_hopper(q, k, v, causal=True)
    want, _ = level2.flash_forward_cuda(q, k, v, causal=True)
    assert not called and bool(cp.all(out == want))
    fh.flash_forward_hopper(q.astype(cp.float32), k.astype(cp.float32), v.astype(cp.float32))
    assert not called


@hopper
def test_dispatch_picks_08_on_hopper(monkeypatch):
    """Where fwd_tma.TMA_FROM_N does not take 10 (since 2026-12-07 it takes every head dimension: here d = 80 is
    taken out of it), fp16 runs 08, by a plan and by the general path."""
    from hyperion.kernels.attention import fwd_tma

    monkeypatch.setitem(fwd_tma.TMA_FROM_N, 80, 1 << 62)
    monkeypatch.setattr(fh.planned, "_FORWARD", {})
    (q, k, v), _ = _inputs((1, 2, 50, 60, 80), seed=6)
    q, k, v = (x.astype(cp.float16) for x in (q, k, v))
    fh.flash_forward_hopper(q, k, v)
    assert fh.planned._FORWARD[fh.planned._key((q, k, v), False, None, None)].kernel == "08"  # run by a plan
    called = []
    real = fh.flash_forward_wgmma
    monkeypatch.setattr(fh.planned, "forward", lambda *a: None)  # no plan: the general path
    monkeypatch.setattr(fh, "flash_forward_wgmma", lambda *a, **kw: called.append(1) or real(*a, **kw))
    fh.flash_forward_hopper(q, k, v)
    assert called == [1]
    fh.flash_forward_hopper(q, k, v, impl="pipe")  # an explicit level-2 kernel is honoured
    assert called == [1]


def test_use_kernels_registers_the_hopper_function():
    from hyperion.runtime.backend import use_kernels
    from hyperion.tensor.backend import get_backend
    from hyperion.transformer.flash.function import FlashAttention, FlashAttentionCUDA

    try:
        use_kernels(True)
        assert get_backend("cuda").function(FlashAttention) is fh.FlashAttentionHopper
        (q, k, v), pad = _inputs((2, 2, 70, 90, 64), seed=7)
        tq, tk, tv = (ht.tensor(cp.asnumpy(x).astype(np.float16), device="cuda", requires_grad=True)
                      for x in (q, k, v))
        out = flash_attention(tq, tk, tv, causal=True, key_padding_mask=cp.asnumpy(pad))
        out.sum().backward()
        q16, k16, v16 = (cp.asarray(t.detach().to("cpu").numpy()) for t in (tq, tk, tv))
        want, lse = level2.flash_forward_cuda(q16, k16, v16, causal=True, key_padding_mask=pad)
        _close(out.detach().to("cpu").numpy(), want, "Function forward vs level 2's 05", 2e-3)
        want_grads = level2.flash_backward_cuda(q16, k16, v16, want, lse, cp.ones_like(want), causal=True,
                                                key_padding_mask=pad)
        for t, w, which in zip((tq, tk, tv), want_grads, "qkv", strict=True):
            _close(t.grad.to("cpu").numpy(), w, f"Function d{which} vs level 2's 06", 5e-3)
    finally:
        use_kernels(False)
    assert get_backend("cuda").function(FlashAttention) is FlashAttentionCUDA


def _grads_close(got, q, k, v, do, causal, mask, name, tol=1e-2):
    want = naive_attention_backward(*(x.astype(cp.float64) for x in (q, k, v, do)), causal=causal,
                                    key_padding_mask=mask)
    for g, w, which in zip(got, want, "qkv", strict=True):
        assert g.dtype == q.dtype and g.shape == w.shape
        _close(g, w, f"{name} d{which}", tol)


@hopper
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(("causal", "padding"), MASKS)
def test_wgmma_backward_fp16(shape, causal, padding):
    (q, k, v), pad = _inputs(shape, seed=8)
    do = cp.asarray(np.random.default_rng(9).standard_normal(q.shape)).astype(cp.float16)
    mask = pad if padding else None
    q, k, v = (x.astype(cp.float16) for x in (q, k, v))
    out, lse = fh.flash_forward_wgmma(q, k, v, causal=causal, key_padding_mask=mask)
    grads = fh.flash_backward_wgmma(q, k, v, out, lse, do, causal=causal, key_padding_mask=mask)
    _grads_close(grads, q, k, v, do, causal, mask, f"09 fp16 {shape} causal={causal} padding={padding}")
    if padding and shape[0] > 1:
        assert all(bool(cp.all(g[-1] == 0)) for g in grads), "fully masked batch element: zero gradients"


@hopper
@pytest.mark.parametrize("causal", [False, True])
def test_wgmma_backward_bf16(causal):
    (q, k, v), _ = _inputs(SHAPES[0], seed=10)
    do = cp.asarray(np.random.default_rng(11).standard_normal(q.shape))
    q, k, v, do = (level2.from_bf16_bits(level2.to_bf16_bits(x.astype(cp.float32))) for x in (q, k, v, do))
    out, lse = fh.flash_forward_wgmma(q, k, v, causal=causal, precision="bf16")
    grads = fh.flash_backward_wgmma(q, k, v, out, lse, do, causal=causal, precision="bf16")
    _grads_close(grads, q, k, v, do, causal, None, "09 bf16", 2e-2)


@hopper
@pytest.mark.parametrize("tile", [{"FLASH_BT": 128, "FLASH_WG": 2, "FLASH_MIN_BLOCKS": 1},
                                  {"FLASH_BT": 64, "FLASH_WG": 1, "FLASH_MIN_BLOCKS": 2}])
@pytest.mark.parametrize("d", [64, 128])
def test_wgmma_backward_tiles_agree(tile, d):
    """Both backward kernels on one tile (``tile=`` overrides BWD_TILES and DQ_TILES) give the reference's
    gradients, for the tiles the tables pick at d = 128."""
    (q, k, v), pad = _inputs((2, 2, 300, 333, d), seed=12)
    do = cp.asarray(np.random.default_rng(13).standard_normal(q.shape)).astype(cp.float16)
    q, k, v = (x.astype(cp.float16) for x in (q, k, v))
    for causal in (False, "bottom_right"):
        out, lse = fh.flash_forward_wgmma(q, k, v, causal=causal, key_padding_mask=pad)
        grads = fh.flash_backward_wgmma(q, k, v, out, lse, do, causal=causal, key_padding_mask=pad, tile=tile)
        _grads_close(grads, q, k, v, do, causal, pad, f"09 {tile} causal={causal}")


@hopper
def test_wgmma_backward_matches_level2_06():
    (q, k, v), _ = _inputs((2, 4, 512, 512, 128), seed=14)
    do = cp.asarray(np.random.default_rng(15).standard_normal(q.shape)).astype(cp.float16)
    q, k, v = (x.astype(cp.float16) for x in (q, k, v))
    out, lse = level2.flash_forward_cuda(q, k, v, causal=True)
    ours = fh.flash_backward_hopper(q, k, v, out, lse, do, causal=True)
    theirs = level2.flash_backward_cuda(q, k, v, out, lse, do, causal=True)
    for a, b, which in zip(ours, theirs, "qkv", strict=True):
        _close(a, b, f"09 vs 06 d{which}", 5e-3)


@hopper
@pytest.mark.parametrize(("n_q", "n_k"), [(0, 50), (40, 0), (0, 0)])
def test_wgmma_empty_sequences(n_q, n_k):
    """No queries or no keys: no launch; outputs of the right shapes; rows with no key are 0 with lse -inf."""
    q = cp.ones((1, 2, n_q, 64), cp.float16)
    k = v = cp.ones((1, 2, n_k, 64), cp.float16)
    out, lse = fh.flash_forward_wgmma(q, k, v)
    assert out.shape == q.shape and lse.shape == q.shape[:3]
    assert bool(cp.all(out == 0)) and bool(cp.all(cp.isneginf(lse)))
    grads = fh.flash_backward_wgmma(q, k, v, out, lse, cp.ones_like(q))
    assert [g.shape for g in grads] == [q.shape, k.shape, v.shape]
    assert all(bool(cp.all(g == 0)) for g in grads)


@hopper
@pytest.mark.parametrize("causal", [True, "bottom_right"])
@pytest.mark.parametrize("group", [1, 3, 64])
def test_causal_block_order_changes_nothing_but_the_order(causal, group):
    """block_tile's grouped longest-first order (3 does not divide the 10 heads: a short last group; 64: all
    heads in one group) gives the plain order's outputs and gradients bit for bit: each block's work is the same."""
    (q, k, v), _ = _inputs((2, 5, 200, 170, 64), seed=9)
    q, k, v = (x.astype(cp.float16) for x in (q, k, v))
    dout = cp.asarray(np.random.default_rng(10).standard_normal(q.shape)).astype(cp.float16)
    base, base_lse = fh.flash_forward_wgmma(q, k, v, causal=causal, group=1)
    out, lse = fh.flash_forward_wgmma(q, k, v, causal=causal, group=group)
    assert bool(cp.all(out == base)) and bool(cp.all(lse == base_lse))
    want = fh.flash_backward_wgmma(q, k, v, base, base_lse, dout, causal=causal, group=1)
    got = fh.flash_backward_wgmma(q, k, v, base, base_lse, dout, causal=causal, group=group)
    for name, g, w in zip(("dQ", "dK", "dV"), got, want):
        assert bool(cp.all(g == w)), name
    ref = naive_attention_forward(*(x.astype(cp.float64) for x in (q, k, v)), causal=causal)[0]
    _close(out, ref, f"08 causal={causal} group={group}")


@hopper
def test_block_order_refuses_a_group_of_no_heads():
    (q, k, v), _ = _inputs((1, 1, 64, 64, 64))
    q, k, v = (x.astype(cp.float16) for x in (q, k, v))
    with pytest.raises(ValueError, match="group must be a positive"):
        fh.flash_forward_wgmma(q, k, v, causal=True, group=0)
