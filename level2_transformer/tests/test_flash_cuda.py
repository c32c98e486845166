"""The CUDA FlashAttention kernels against naive attention (float64 on the GPU). Skipped without CuPy and a GPU.

fp32: 1e-5; fp16 / bf16: 1e-2 (relative to the largest reference value), against naive attention
computed in float64 from the same half-precision-rounded inputs. Run on a GPU machine:
``pytest -q level2_transformer/tests/test_flash_cuda.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

try:
    import cupy as cp

    cp.cuda.runtime.getDeviceCount()
    cp.zeros(1).sum()
except Exception as error:  # ImportError, or CUDA errors without a driver/GPU
    pytest.skip(f"CUDA FlashAttention tests need CuPy and an NVIDIA GPU: {error}", allow_module_level=True)

import hyperion.tensor as ht
from hyperion.transformer.flash import flash_attention
from hyperion.transformer.flash.cuda import (
    HALF_IMPLS,
    flash_backward_cuda,
    flash_forward_cuda,
    from_bf16_bits,
    to_bf16_bits,
)
from hyperion.transformer.flash.naive import naive_attention_backward, naive_attention_forward

MASKS = [(False, False), (True, False), (False, True), (True, True)]
SHAPES = [(2, 3, 130, 77, 40), (1, 2, 200, 200, 64), (2, 2, 33, 90, 16), (1, 2, 70, 45, 128), (1, 2, 150, 131, 80),
          (2, 1, 97, 160, 96)]  # 80 and 96 run natively (no padding to 128)


def _inputs(shape, seed=0):
    b, h, n_q, n_k, d = shape
    rng = np.random.default_rng(seed)
    q = rng.standard_normal((b, h, n_q, d))
    k, v = (rng.standard_normal((b, h, n_k, d)) for _ in range(2))
    do = rng.standard_normal((b, h, n_q, d))
    pad = rng.random((b, n_k)) < 0.3
    pad[-1] = True if b > 1 else pad[-1]  # the last batch element: fully masked rows
    return [cp.asarray(x) for x in (q, k, v, do)], cp.asarray(pad)


def _reference(q, k, v, do, causal, mask):
    q, k, v, do = (x.astype(cp.float64) for x in (q, k, v, do))
    out, lse = naive_attention_forward(q, k, v, causal=causal, key_padding_mask=mask)
    return out, lse, naive_attention_backward(q, k, v, do, causal=causal, key_padding_mask=mask)


def _close(got, want, name, tol, relative=False):
    got, want = cp.asnumpy(got).astype(np.float64), cp.asnumpy(want)
    assert not np.isnan(got).any(), f"{name}: NaN"
    atol = tol * max(1.0, np.abs(want).max()) if relative else tol
    np.testing.assert_allclose(got, want, rtol=tol, atol=atol, err_msg=name)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(("causal", "padding"), MASKS)
def test_fp32_forward_backward(shape, causal, padding):
    (q, k, v, do), pad = _inputs(shape)
    mask = pad if padding else None
    q, k, v, do = (x.astype(cp.float32) for x in (q, k, v, do))
    want_out, want_lse, want_grads = _reference(q, k, v, do, causal, mask)
    out, lse = flash_forward_cuda(q, k, v, causal=causal, key_padding_mask=mask)
    assert out.dtype == cp.float32 and out.shape == q.shape
    _close(out, want_out, "fp32 forward", 1e-5)
    assert bool(cp.all(cp.isneginf(lse) == cp.isneginf(want_lse)))
    finite = cp.isfinite(want_lse)
    _close(lse[finite], want_lse[finite], "fp32 lse", 1e-5)
    grads = flash_backward_cuda(q, k, v, out, lse, do, causal=causal, key_padding_mask=mask)
    for g, w, name in zip(grads, want_grads, "qkv"):
        _close(g, w, f"fp32 d{name}", 1e-5, relative=True)


@pytest.mark.parametrize("impl", HALF_IMPLS)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(("causal", "padding"), MASKS)
def test_fp16_forward_backward(shape, causal, padding, impl):
    (q, k, v, do), pad = _inputs(shape, seed=1)
    mask = pad if padding else None
    q, k, v, do = (x.astype(cp.float16) for x in (q, k, v, do))
    want_out, want_lse, want_grads = _reference(q, k, v, do, causal, mask)
    out, lse = flash_forward_cuda(q, k, v, causal=causal, key_padding_mask=mask, impl=impl)
    assert out.dtype == cp.float16
    _close(out, want_out, f"fp16 forward (tensor cores, {impl})", 1e-2)
    finite = cp.isfinite(want_lse)
    assert bool(cp.all(cp.isneginf(lse) == ~finite))
    _close(lse[finite], want_lse[finite], f"fp16 lse ({impl})", 1e-2)
    grads = flash_backward_cuda(q, k, v, out, lse, do, causal=causal, key_padding_mask=mask)
    for g, w, name in zip(grads, want_grads, "qkv"):
        assert g.dtype == cp.float16
        _close(g, w, f"fp16 d{name}", 1e-2, relative=True)


@pytest.mark.parametrize("impl", HALF_IMPLS)
@pytest.mark.parametrize(("causal", "padding"), MASKS)
def test_bf16_forward_backward(causal, padding, impl):
    (q, k, v, do), pad = _inputs(SHAPES[0], seed=2)
    mask = pad if padding else None
    q, k, v, do = (from_bf16_bits(to_bf16_bits(x.astype(cp.float32))) for x in (q, k, v, do))  # exact in bf16
    want_out, _, want_grads = _reference(q, k, v, do, causal, mask)
    out, lse = flash_forward_cuda(q, k, v, causal=causal, key_padding_mask=mask, precision="bf16", impl=impl)
    _close(out, want_out, f"bf16 forward (tensor cores, {impl})", 1e-2, relative=True)
    grads = flash_backward_cuda(q, k, v, out, lse, do, causal=causal, key_padding_mask=mask, precision="bf16")
    for g, w, name in zip(grads, want_grads, "qkv"):
        _close(g, w, f"bf16 d{name}", 2e-2, relative=True)


@pytest.mark.parametrize("impl", HALF_IMPLS)
def test_fully_masked_rows_are_zero_on_gpu(impl):
    (q, k, v, do), pad = _inputs(SHAPES[0])
    q, k, v, do = (x.astype(cp.float16) for x in (q, k, v, do))
    out, lse = flash_forward_cuda(q, k, v, key_padding_mask=pad, impl=impl)
    grads = flash_backward_cuda(q, k, v, out, lse, do, key_padding_mask=pad)
    assert bool(cp.all(out[-1] == 0)) and bool(cp.all(cp.isneginf(lse[-1])))
    for g in grads:
        assert not bool(cp.isnan(g).any()) and bool(cp.all(g[-1] == 0))


@pytest.mark.parametrize("dtype", [ht.float32, ht.float16])
def test_flash_attention_function_on_cuda(dtype):
    (q, k, v, do), pad = _inputs(SHAPES[0])
    np_dtype = np.dtype(dtype)
    tq, tk, tv = (ht.tensor(cp.asnumpy(x).astype(np_dtype), device="cuda", requires_grad=True) for x in (q, k, v))
    out = flash_attention(tq, tk, tv, causal=True, key_padding_mask=cp.asnumpy(pad))
    assert out.device == "cuda"
    out.backward(ht.tensor(cp.asnumpy(do).astype(np_dtype), device="cuda"))
    want_out, _, want_grads = _reference(*(x.astype(np_dtype) for x in (q, k, v, do)), True, pad)
    tol = 1e-5 if dtype == ht.float32 else 1e-2
    _close(out.detach().to("cpu").numpy(), want_out, "flash_attention forward on cuda", tol, relative=True)
    for t, w, name in zip((tq, tk, tv), want_grads, "qkv"):
        _close(t.grad.to("cpu").numpy(), w, f"flash_attention d{name} on cuda", tol, relative=True)


@pytest.mark.parametrize("shape", [(2, 2, 37, 150, 64), (1, 3, 150, 37, 32), (2, 2, 333, 1000, 64), (1, 2, 1, 77, 128)])
@pytest.mark.parametrize("padding", [False, True])
def test_bottom_right_causal_every_kernel(shape, padding):
    """``causal="bottom_right"`` (query i sees keys j <= i + N_k - N_q): every forward kernel and the backward."""
    (q, k, v, do), pad = _inputs(shape, seed=3)
    mask = pad if padding else None
    for dtype, impls, tol in ((cp.float32, [None], 1e-5), (cp.float16, HALF_IMPLS, 1e-2)):
        x = [t.astype(dtype) for t in (q, k, v, do)]
        want_out, want_lse, want_grads = _reference(*x, "bottom_right", mask)
        finite = cp.isfinite(want_lse)
        for impl in impls:
            what = f"bottom-right {cp.dtype(dtype).name} {impl or '01'} {shape} padding={padding}"
            out, lse = flash_forward_cuda(*x[:3], causal="bottom_right", key_padding_mask=mask, impl=impl)
            _close(out, want_out, f"{what}: forward", tol, relative=dtype == cp.float16)
            assert bool(cp.all(cp.isneginf(lse) == ~finite)), f"{what}: -inf lse rows"
        grads = flash_backward_cuda(*x[:3], out, lse, x[3], causal="bottom_right", key_padding_mask=mask)
        for g, w, name in zip(grads, want_grads, "qkv"):
            _close(g, w, f"bottom-right {cp.dtype(dtype).name} d{name}", tol, relative=True)


@pytest.mark.parametrize("causal", [False, True])
def test_pipelined_kernel_on_long_sequences(causal):
    """05 and 07 over many tiles (both pipeline stages reused many times), N not a multiple of 64 or 128."""
    (q, k, v, do), pad = _inputs((1, 4, 1100, 1100, 64), seed=4)
    q, k, v = (x.astype(cp.float16) for x in (q, k, v))
    want_out, _, _ = _reference(q, k, v, do, causal, None)
    for impl in ("pipe", "pipe64", "two"):
        out, _ = flash_forward_cuda(q, k, v, causal=causal, impl=impl)
        _close(out, want_out, f"05 {impl} causal={causal} N=1100", 1e-2)


@pytest.mark.parametrize("shape", SHAPES + [(2, 2, 333, 1000, 64), (1, 2, 150, 37, 32)])
@pytest.mark.parametrize("causal", [False, True, "bottom_right"])
@pytest.mark.parametrize("padding", [False, True])
def test_mma_backward_matches_naive(shape, causal, padding):
    """06 (tensor-core backward) against float64 naive, fp16 and bf16, every mask and alignment."""
    (q, k, v, do), pad = _inputs(shape, seed=5)
    mask = pad if padding else None
    for name in ("fp16", "bf16"):
        if name == "fp16":
            x = [t.astype(cp.float16) for t in (q, k, v, do)]
            precision = None
        else:
            x = [from_bf16_bits(to_bf16_bits(t.astype(cp.float32))) for t in (q, k, v, do)]
            precision = "bf16"
        _, _, want_grads = _reference(*x, causal, mask)
        out, lse = flash_forward_cuda(*x[:3], causal=causal, key_padding_mask=mask, precision=precision)
        grads = flash_backward_cuda(*x[:3], out, lse, x[3], causal=causal, key_padding_mask=mask,
                                    precision=precision, impl="mma")
        for g, w, gname in zip(grads, want_grads, "qkv"):
            assert g.dtype == x[0].dtype
            _close(g, w, f"06 mma backward {name} d{gname} {shape} causal={causal} padding={padding}",
                   1e-2 if name == "fp16" else 2e-2, relative=True)


def test_mma_backward_refuses_float32():
    (q, k, v, do), _ = _inputs(SHAPES[0])
    q, k, v, do = (x.astype(cp.float32) for x in (q, k, v, do))
    out, lse = flash_forward_cuda(q, k, v)
    with pytest.raises(ValueError, match="impl='mma' takes float16 or bfloat16"):
        flash_backward_cuda(q, k, v, out, lse, do, impl="mma")


def test_head_dims_80_and_96_are_not_padded():
    from hyperion.transformer.flash.cuda import _padded_dim

    assert [_padded_dim(d) for d in (80, 96, 72, 100)] == [80, 96, 80, 128]


def _shifted(x):
    """``x``'s values in a C-contiguous view starting 2 bytes past a 16-byte boundary (as ``buf[1:]`` of a
    flat fp16 buffer): the kernels' 16-byte loads would fault on it; the launchers copy it first."""
    view = cp.empty(x.size + 1, x.dtype)[1:].reshape(x.shape)
    view[...] = x
    assert view.flags.c_contiguous and view.data.ptr % 16
    return view


@pytest.mark.parametrize("impl", HALF_IMPLS)
def test_a_misaligned_view_gives_the_aligned_results(impl):
    (q, k, v, do), _ = _inputs((1, 2, 70, 90, 64), seed=31)
    q, k, v, do = (x.astype(cp.float16) for x in (q, k, v, do))
    out, lse = flash_forward_cuda(q, k, v, causal=True, impl=impl)
    got, got_lse = flash_forward_cuda(_shifted(q), _shifted(k), _shifted(v), causal=True, impl=impl)
    assert bool(cp.all(got == out)) and bool(cp.all(got_lse == lse))
    grads = flash_backward_cuda(q, k, v, out, lse, do, causal=True, impl="mma")
    shifted = flash_backward_cuda(*(_shifted(x) for x in (q, k, v, out)), lse, _shifted(do), causal=True, impl="mma")
    for a, b in zip(grads, shifted, strict=True):
        assert bool(cp.all(a == b))


def test_every_form_of_a_padding_mask_gives_the_same_bits():
    """A contiguous bool mask is read in place (viewed as uint8); a strided or a host mask is copied first."""
    (q, k, v, do), pad = _inputs((2, 2, 70, 90, 64), seed=32)
    q, k, v, do = (x.astype(cp.float16) for x in (q, k, v, do))
    wide = cp.zeros((2, 180), bool)
    wide[:, ::2] = pad
    out, lse = flash_forward_cuda(q, k, v, key_padding_mask=cp.asnumpy(pad))
    grads = flash_backward_cuda(q, k, v, out, lse, do, key_padding_mask=cp.asnumpy(pad))
    for name, mask in {"contiguous": pad, "strided": wide[:, ::2]}.items():
        got, got_lse = flash_forward_cuda(q, k, v, key_padding_mask=mask)
        assert bool(cp.all(got == out)) and bool(cp.all(got_lse == lse)), name
        for a, b in zip(flash_backward_cuda(q, k, v, out, lse, do, key_padding_mask=mask), grads, strict=True):
            assert bool(cp.all(a == b)), name
    assert pad.dtype == cp.bool_ and bool(cp.all(wide[:, ::2] == pad)), "the caller's masks are left as they were"
    with pytest.raises(ValueError, match="bool"):
        flash_forward_cuda(q, k, v, key_padding_mask=pad.astype(cp.uint8))
