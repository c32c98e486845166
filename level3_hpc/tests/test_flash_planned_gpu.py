"""The Hopper dispatch's planned calls (``attention.planned``) against the general path they stand in for: the
same kernels with the same arguments, so the same bits, on the first call of a shape (the plan is made) and on
later ones (it is looked up) with new data; and the general path wherever a plan must not run.

Skipped without a compute-capability-9.0 GPU.
"""

from __future__ import annotations

import numpy as np
import pytest
from level3_gpu import skip_without_gpu

skip_without_gpu()

import cupy as cp  # noqa: E402
from test_flash_wgmma_gpu import MASKS, SHAPES, _inputs  # noqa: E402

from hyperion.kernels import attention as fh  # noqa: E402
from hyperion.kernels.attention import bwd_tma, fwd_tma, planned  # noqa: E402

hopper = pytest.mark.skipif(not fh.hopper_available(), reason="08-10 are sm_90a kernels: compute capability 9.0 only")


def _general_forward(q, k, v, **kw):
    """What flash_forward_hopper ran before plans: 10 or 08 through their own launchers."""
    if q.shape[2] >= fwd_tma.TMA_FROM_N.get(q.shape[-1], 1 << 62):
        return fwd_tma.flash_forward_tma(q, k, v, **kw)
    return fh.flash_forward_wgmma(q, k, v, **kw)


def _general_backward(q, k, v, out, lse, do, **kw):
    """What flash_backward_hopper runs without a plan: 11 or 09 through their own launchers."""
    if q.shape[2] >= bwd_tma.TMA_BWD_FROM_N.get(q.shape[-1], 1 << 62):
        return bwd_tma.flash_backward_tma(q, k, v, out, lse, do, **kw)
    return fh.flash_backward_wgmma(q, k, v, out, lse, do, **kw)


def _fp16(shape, seed):
    (q, k, v), pad = _inputs(shape, seed=seed)
    do = cp.asarray(np.random.default_rng(seed + 100).standard_normal(q.shape)).astype(cp.float16)
    return [x.astype(cp.float16) for x in (q, k, v)], do, pad


def _same(got, want, name):
    for g, w in zip(got, want, strict=True):
        assert g.dtype == w.dtype and g.shape == w.shape, name
        assert bool(cp.all((g == w) | (cp.isnan(g) & cp.isnan(w)))), f"{name}: not the general path's bits"


@hopper
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(("causal", "padding"), MASKS)
def test_planned_calls_give_the_general_paths_bits(shape, causal, padding):
    planned._FORWARD.clear()
    planned._BACKWARD.clear()
    for seed in (20, 21):  # the first call makes the plans, the second (new data) looks them up
        (q, k, v), do, pad = _fp16(shape, seed)
        kw = {"causal": causal, "key_padding_mask": pad if padding else None}
        out, lse = fh.flash_forward_hopper(q, k, v, **kw)
        want = _general_forward(q, k, v, **kw)
        _same((out, lse), want, f"forward {shape} {kw['causal']} seed {seed}")
        grads = fh.flash_backward_hopper(q, k, v, out, lse, do, **kw)
        _same(grads, _general_backward(q, k, v, out, lse, do, **kw), f"backward {shape} seed {seed}")
    assert len(planned._FORWARD) == 1 and len(planned._BACKWARD) == 1  # one key each: the plan was reused


@hopper
def test_a_plan_is_what_runs_the_second_call(monkeypatch):
    (q, k, v), do, _ = _fp16((2, 3, 300, 300, 128), 22)
    out, lse = fh.flash_forward_hopper(q, k, v, causal=True)
    fh.flash_backward_hopper(q, k, v, out, lse, do, causal=True)

    def general(*args, **kwargs):
        raise AssertionError("the general path ran")

    for name in ("flash_forward_wgmma", "flash_backward_wgmma"):
        monkeypatch.setattr(fh, name, general)
    monkeypatch.setattr(fwd_tma, "flash_forward_tma", general)
    monkeypatch.setattr(bwd_tma, "flash_backward_tma", general)
    out2, lse2 = fh.flash_forward_hopper(q, k, v, causal=True)
    _same((out2, lse2), (out, lse), "planned forward")
    fh.flash_backward_hopper(q, k, v, out2, lse2, do, causal=True)


@hopper
@pytest.mark.parametrize("d", [64, 80, 96, 128])
def test_strided_and_misaligned_inputs_take_the_general_path(d):
    """A transposed view (not C-contiguous) and a view 2 bytes into its buffer (08-10 load 16 bytes at a time;
    it faulted before the launchers copied it) after a plan exists for the shape: both copied by the general
    path, same results, forward and backward."""
    (q, k, v), do, _ = _fp16((1, 2, 256, 256, d), 23)
    out, lse = fh.flash_forward_hopper(q, k, v)
    grads = fh.flash_backward_hopper(q, k, v, out, lse, do)
    strided = cp.ascontiguousarray(q.transpose(0, 2, 1, 3)).transpose(0, 2, 1, 3)
    assert not strided.flags.c_contiguous
    _same(fh.flash_forward_hopper(strided, k, v), (out, lse), "strided q")
    _same(fh.flash_backward_hopper(strided, k, v, out, lse, do), grads, "strided q, backward")
    shifted = [cp.empty(x.size + 1, cp.float16)[1:].reshape(x.shape) for x in (q, k, v, out, do)]
    for view, x in zip(shifted, (q, k, v, out, do), strict=True):
        view[...] = x
        assert view.data.ptr % 16 and view.flags.c_contiguous
    sq, sk, sv, sout, sdo = shifted
    _same(fh.flash_forward_hopper(sq, sk, sv), (out, lse), "misaligned q, k, v")
    _same(fh.flash_backward_hopper(sq, sk, sv, sout, lse, sdo), grads, "misaligned, backward")


@hopper
def test_bad_arguments_are_refused_every_time():
    (q, k, v), do, _ = _fp16((1, 2, 64, 64, 64), 24)
    fh.flash_forward_hopper(q, k, v, causal=True)
    for _ in range(2):  # ``1`` is not ``True`` (the key holds causal's type); nothing bad is kept
        with pytest.raises(ValueError, match="causal must be"):
            fh.flash_forward_hopper(q, k, v, causal=1)
        with pytest.raises(ValueError, match="must agree in B, H and d"):
            fh.flash_forward_hopper(q, k[:, :1], v[:, :1])
        with pytest.raises(ValueError, match="key_padding_mask"):
            fh.flash_forward_hopper(q, k, v, key_padding_mask=cp.zeros((1, 63), bool))


@hopper
def test_float32_and_bf16_keep_the_general_path():
    (q, k, v), _, _ = _fp16((1, 2, 64, 64, 64), 25)
    before = len(planned._FORWARD)
    q32, k32, v32 = (x.astype(cp.float32) for x in (q, k, v))
    out, _ = fh.flash_forward_hopper(q32, k32, v32, precision="bf16")
    assert out.dtype == cp.float32 and len(planned._FORWARD) == before  # precision given: no plan looked up
    out, _ = fh.flash_forward_hopper(q32, k32, v32)  # float32: level 2's kernels; "no plan" kept for the key
    assert out.dtype == cp.float32
    assert planned._FORWARD[planned._key((q32, k32, v32), False, None, None)] is None


@hopper
def test_the_plan_tables_stay_bounded(monkeypatch):
    monkeypatch.setattr(planned, "LIMIT", 3)
    planned._FORWARD.clear()
    for n in range(1, 8):
        (q, k, v), _, _ = _fp16((1, 1, n, n, 64), 26)
        fh.flash_forward_hopper(q, k, v)
        assert len(planned._FORWARD) <= 3


@hopper
def test_a_plan_holds_its_own_no_padding_mask():
    """Level 2's cache of all-zero masks may drop the one a plan was made with (64 kept): the plan holds it, so
    memory reused after the cache lets go is never read as the mask."""
    from hyperion.transformer.flash import cuda as level2

    (q, k, v), do, _ = _fp16((2, 2, 192, 160, 64), 27)
    want = _general_forward(q, k, v, causal=True)
    fh.flash_forward_hopper(q, k, v, causal=True)  # the plan is made
    level2._no_padding.cache_clear()
    junk = [cp.full((2, 160), 1, cp.uint8) for _ in range(64)]  # the pool hands the freed block out again
    _same(fh.flash_forward_hopper(q, k, v, causal=True), want, "after the cache let go")
    del junk


@hopper
def test_host_keys_and_values_keep_the_general_path():
    """A numpy ``k`` and ``v`` beside a CuPy ``q``: no plan; the general path's error, which names the type (a
    plan would have failed on numpy's missing attributes instead)."""
    (q, k, v), _, _ = _fp16((1, 2, 64, 80, 64), 28)
    fh.flash_forward_hopper(q, k, v)
    with pytest.raises(TypeError, match="numpy.ndarray"):
        fh.flash_forward_hopper(q, cp.asnumpy(k), cp.asnumpy(v))
