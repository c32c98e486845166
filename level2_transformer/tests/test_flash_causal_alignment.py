"""Causal alignment on the CPU: ``causal="bottom_right"`` (the KV-cache mask) in naive, numpy tiles and numba.

Bottom-right: query ``i`` sees key ``j <= i + N_k - N_q``, so the last query sees the last key. Checked
against PyTorch with an explicit mask (``tril(diagonal=N_k - N_q)``), for N_q < N_k (a chunk of new
tokens after a cache), N_q > N_k (the first rows see nothing: output 0, lse -inf) and N_q == N_k
(the same mask as top-left), with and without padding, forward and backward.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import hyperion.tensor as ht
from hyperion.transformer.flash import flash_attention, numba_cpu, tiled_numpy
from hyperion.transformer.flash._inputs import causal_mode
from hyperion.transformer.flash.naive import naive_attention_backward, naive_attention_forward

SIZES = [(37, 90), (90, 37), (70, 70), (1, 45)]  # (N_q, N_k), none a multiple of a block


def _inputs(n_q, n_k, b=2, h=2, d=20, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    q = rng.standard_normal((b, h, n_q, d)).astype(dtype)
    k, v = (rng.standard_normal((b, h, n_k, d)).astype(dtype) for _ in range(2))
    do = rng.standard_normal((b, h, n_q, d)).astype(dtype)
    pad = rng.random((b, n_k)) < 0.3
    pad[:, -1] = False  # the last key stays visible: with N_q <= N_k every bottom-right row sees a key
    return q, k, v, do, pad


def _torch_bottom_right(q, k, v, do, pad):
    tq, tk, tv = (torch.tensor(x, requires_grad=True) for x in (q, k, v))
    n_q, n_k = q.shape[2], k.shape[2]
    allowed = torch.ones(n_q, n_k, dtype=torch.bool).tril(diagonal=n_k - n_q)[None, None]
    if pad is not None:
        allowed = allowed & ~torch.tensor(pad)[:, None, None, :]
    s = (tq @ tk.transpose(-1, -2)) / np.sqrt(q.shape[-1])
    s = s.masked_fill(~allowed, -torch.inf)
    p = torch.nan_to_num(torch.softmax(s, dim=-1))  # rows that see nothing: 0
    out = p @ tv
    out.backward(torch.tensor(do))
    return out.detach().numpy(), tuple(t.grad.numpy() for t in (tq, tk, tv))


@pytest.mark.parametrize("padding", [False, True])
@pytest.mark.parametrize(("n_q", "n_k"), SIZES)
def test_naive_bottom_right_matches_torch(n_q, n_k, padding):
    q, k, v, do, pad = _inputs(n_q, n_k)
    mask = pad if padding else None
    want_out, want_grads = _torch_bottom_right(q, k, v, do, mask)
    out, lse = naive_attention_forward(q, k, v, causal="bottom_right", key_padding_mask=mask)
    np.testing.assert_allclose(out, want_out, rtol=1e-10, atol=1e-10)
    allowed = np.tril(np.ones((n_q, n_k), bool), k=n_k - n_q)[None] & ~(pad if padding else np.zeros_like(pad))[:, None]
    sees_nothing = ~allowed.any(-1)[:, None]  # (B, 1, N_q)
    assert sees_nothing.any() or n_q <= n_k  # N_q > N_k: the first N_q - N_k rows see nothing
    np.testing.assert_array_equal(np.isneginf(lse), np.broadcast_to(sees_nothing, lse.shape))
    grads = naive_attention_backward(q, k, v, do, causal="bottom_right", key_padding_mask=mask)
    for got, want, name in zip(grads, want_grads, "qkv", strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10, err_msg=f"d{name}")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("padding", [False, True])
@pytest.mark.parametrize(("n_q", "n_k"), SIZES)
def test_tiles_and_numba_bottom_right_match_naive(n_q, n_k, padding, dtype):
    q, k, v, do, pad = _inputs(n_q, n_k, dtype=dtype, seed=1)
    mask = pad if padding else None
    tol = 1e-5 if dtype == np.float32 else 1e-10
    want_out, want_lse = naive_attention_forward(*(x.astype(np.float64) for x in (q, k, v)), causal="bottom_right",
                                                 key_padding_mask=mask)
    want_grads = naive_attention_backward(*(x.astype(np.float64) for x in (q, k, v, do)), causal="bottom_right",
                                          key_padding_mask=mask)
    variants = {
        "numpy tiles": (tiled_numpy.flash_forward_numpy, tiled_numpy.flash_backward_numpy,
                        {"block_q": 16, "block_k": 16}),
        "numba": (numba_cpu.flash_forward, numba_cpu.flash_backward, {"block_q": 32, "block_k": 16}),
    }
    for name, (forward, backward, blocks) in variants.items():
        out, lse = forward(q, k, v, causal="bottom_right", key_padding_mask=mask, **blocks)
        np.testing.assert_allclose(out, want_out, rtol=tol, atol=tol, err_msg=f"{name} forward")
        assert np.array_equal(np.isneginf(lse), np.isneginf(want_lse)), f"{name}: -inf lse rows"
        grads = backward(q, k, v, out, lse, do, causal="bottom_right", key_padding_mask=mask, **blocks)
        for got, want, g in zip(grads, want_grads, "qkv", strict=True):
            np.testing.assert_allclose(got, want, rtol=tol, atol=tol, err_msg=f"{name} d{g}")


def test_alignments_agree_when_square_and_differ_otherwise():
    q, k, v, _, _ = _inputs(70, 70)
    top, _ = numba_cpu.flash_forward(q, k, v, causal="top_left")
    bottom, _ = numba_cpu.flash_forward(q, k, v, causal="bottom_right")
    np.testing.assert_array_equal(top, bottom)
    q, k, v, _, _ = _inputs(1, 45)  # one new token after a cache of 44: it sees every key
    bottom, _ = numba_cpu.flash_forward(q, k, v, causal="bottom_right")
    full, _ = numba_cpu.flash_forward(q, k, v, causal=False)
    top, _ = numba_cpu.flash_forward(q, k, v, causal=True)
    np.testing.assert_allclose(bottom, full, rtol=1e-12, atol=1e-12)
    assert np.abs(top - full).max() > 1e-3  # top-left: the one query sees key 0 only


def test_flash_attention_function_bottom_right_gradients():
    q, k, v, do, pad = _inputs(37, 90, dtype=np.float32, seed=2)
    tq, tk, tv = (ht.tensor(x, requires_grad=True) for x in (q, k, v))
    out = flash_attention(tq, tk, tv, causal="bottom_right", key_padding_mask=pad)
    out.backward(ht.tensor(do))
    want_out, want_grads = _torch_bottom_right(*(x.astype(np.float64) for x in (q, k, v, do)), pad)
    np.testing.assert_allclose(out.detach().numpy(), want_out, rtol=1e-5, atol=1e-5)
    for t, want, name in zip((tq, tk, tv), want_grads, "qkv", strict=True):
        np.testing.assert_allclose(t.grad.numpy(), want, rtol=1e-4, atol=1e-5, err_msg=f"d{name}")


@pytest.mark.parametrize("bad", ["bottom-right", "causal", 1, None])
def test_bad_causal_value_is_named(bad):
    with pytest.raises(ValueError, match="causal must be False, True, 'top_left' or 'bottom_right'"):
        causal_mode(bad)
    q, k, v, _, _ = _inputs(5, 7, dtype=np.float32)
    with pytest.raises(ValueError, match="causal must be"):
        flash_attention(*(ht.tensor(x) for x in (q, k, v)), causal=bad)
