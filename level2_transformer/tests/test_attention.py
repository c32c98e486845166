"""Naive scaled dot-product attention vs ``torch.nn.functional.scaled_dot_product_attention``:
forward and backward with no mask, causal, key padding, both, and a KV-cache shape (N_q < N_k);
finite differences on a tiny case; the mask builder; MultiHeadAttention vs a torch formula."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from hyperion.tensor import Tensor
from hyperion.tensor.errors import DTypeError, ShapeError
from hyperion.tensor.testing import gradcheck
from hyperion.transformer.attention import MultiHeadAttention, attention_mask, scaled_dot_product_attention

CASES = [  # (B, H, N_q, N_k, d, causal, padded)
    (2, 3, 5, 5, 4, False, False),
    (2, 3, 5, 5, 4, True, False),
    (2, 2, 6, 6, 8, False, True),
    (3, 2, 6, 6, 8, True, True),
    (2, 2, 1, 7, 4, True, False),  # one new token against a cache
    (2, 2, 3, 7, 4, True, True),   # a chunk against a cache
]


def _padding(batch: int, n_k: int, rng: np.random.Generator) -> np.ndarray:
    """Right padding of random lengths (at least one real key per row)."""
    lengths = rng.integers(1, n_k + 1, batch)
    lengths[0] = n_k - 2  # at least one row is padded
    return np.arange(n_k)[None, :] >= lengths[:, None]


def _torch_allowed(n_q: int, n_k: int, causal: bool, padding: np.ndarray | None) -> torch.Tensor | None:
    allowed = None
    if causal:  # aligned to the end of the keys, written independently of attention_mask
        allowed = torch.tensor([[j <= i + n_k - n_q for j in range(n_k)] for i in range(n_q)])
    if padding is not None:
        keys = ~torch.tensor(padding)[:, None, None, :]
        allowed = keys if allowed is None else allowed & keys
    return allowed


@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-10), (np.float32, 2e-5)])
@pytest.mark.parametrize("case", CASES)
def test_naive_attention_matches_torch(case, dtype, tol):
    batch, heads, n_q, n_k, d, causal, padded = case
    rng = np.random.default_rng(hash(case) % 2**32)
    q, k, v = (rng.standard_normal((batch, heads, n, d)).astype(dtype) for n in (n_q, n_k, n_k))
    grad = rng.standard_normal((batch, heads, n_q, d)).astype(dtype)
    padding = _padding(batch, n_k, rng) if padded else None

    ours = [Tensor(a, dtype=dtype, requires_grad=True) for a in (q, k, v)]
    out = scaled_dot_product_attention(*ours, causal=causal, key_padding_mask=padding)
    out.backward(Tensor(grad, dtype=dtype))

    theirs = [torch.tensor(a, requires_grad=True) for a in (q, k, v)]
    ref = F.scaled_dot_product_attention(*theirs, attn_mask=_torch_allowed(n_q, n_k, causal, padding))
    ref.backward(torch.tensor(grad))

    assert out.dtype == dtype and out.shape == (batch, heads, n_q, d)
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=tol, atol=tol)
    for name, a, b in zip("qkv", ours, theirs):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=tol, atol=tol, err_msg=f"d{name}")


def test_fully_masked_rows_give_zeros_like_torch():
    """Left padding with a causal mask: the first query of row 0 may see no key at all."""
    rng = np.random.default_rng(3)
    q, k, v = (rng.standard_normal((2, 2, 4, 3)) for _ in range(3))
    padding = np.array([[True, True, False, False], [False, False, False, False]])
    ours = [Tensor(a, requires_grad=True) for a in (q, k, v)]
    out = scaled_dot_product_attention(*ours, causal=True, key_padding_mask=Tensor(padding))
    out.sum().backward()
    theirs = [torch.tensor(a, requires_grad=True) for a in (q, k, v)]
    ref = F.scaled_dot_product_attention(*theirs, attn_mask=_torch_allowed(4, 4, True, padding))
    ref.sum().backward()
    assert np.all(out.detach().numpy()[0, :, :2] == 0)
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), atol=1e-12)
    for a, b in zip(ours, theirs):
        assert np.all(np.isfinite(a.grad.numpy()))
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), atol=1e-12)


@pytest.mark.parametrize("causal,padded", [(False, False), (True, False), (True, True)])
def test_naive_attention_gradcheck(causal, padded):
    rng = np.random.default_rng(7)
    q, k, v = (rng.standard_normal((1, 2, 3, 2)) for _ in range(3))
    padding = np.array([[False, False, True]]) if padded else None
    assert gradcheck(lambda a, b, c: scaled_dot_product_attention(a, b, c, causal=causal,
                                                                  key_padding_mask=padding), q, k, v)


def test_attention_mask_shapes_and_values():
    assert attention_mask(3, 3) is None
    causal = attention_mask(3, 5, causal=True)
    assert causal.shape == (1, 1, 3, 5)
    # query i sits at position 2 + i and sees keys 0 .. 2 + i
    np.testing.assert_array_equal(causal[0, 0], [[0, 0, 0, 1, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]])
    pad = np.array([[False, True, False, False, True]])
    both = attention_mask(3, 5, causal=True, key_padding_mask=pad)
    assert both.shape == (1, 1, 3, 5)
    np.testing.assert_array_equal(both[0, 0], causal[0, 0] | pad)
    assert attention_mask(3, 5, key_padding_mask=pad).shape == (1, 1, 1, 5)


def test_dropout_on_weights_only_in_training():
    rng = np.random.default_rng(0)
    q, k, v = (Tensor(rng.standard_normal((1, 1, 6, 4))) for _ in range(3))
    plain = scaled_dot_product_attention(q, k, v, causal=True)
    assert np.allclose(scaled_dot_product_attention(q, k, v, causal=True, dropout_p=0.5).numpy(), plain.numpy())
    dropped = scaled_dot_product_attention(q, k, v, causal=True, dropout_p=0.5, training=True)
    assert not np.allclose(dropped.detach().numpy(), plain.numpy())


def test_bad_inputs_are_named():
    q = Tensor(np.zeros((1, 2, 3, 4)))
    with pytest.raises(ShapeError, match="do not agree"):
        scaled_dot_product_attention(q, Tensor(np.zeros((1, 2, 3, 5))), q)
    with pytest.raises(ShapeError, match="key_padding_mask"):
        scaled_dot_product_attention(q, q, q, key_padding_mask=np.zeros((1, 4), bool))
    with pytest.raises(DTypeError, match="bool"):
        scaled_dot_product_attention(q, q, q, key_padding_mask=np.zeros((1, 3)))
    with pytest.raises(ValueError, match="impl"):
        scaled_dot_product_attention(q, q, q, impl="fast")
    with pytest.raises(ShapeError, match="B, H, N, d"):
        scaled_dot_product_attention(Tensor(np.zeros((2, 3, 4))), q, q)


def test_multi_head_attention_matches_a_torch_formula():
    """Fused QKV, 4 heads, causal, padding: against the same weights in torch (float64)."""
    rng = np.random.default_rng(11)
    mha = MultiHeadAttention(16, 4, dtype="float64")
    x = rng.standard_normal((2, 5, 16))
    padding = np.array([[False] * 5, [False, False, False, True, True]])
    xt = Tensor(x, requires_grad=True)
    out = mha(xt, key_padding_mask=padding)
    out.sum().backward()

    w = {name: torch.tensor(p.detach().numpy(), requires_grad=True) for name, p in mha.named_parameters()}
    xr = torch.tensor(x, requires_grad=True)
    q, k, v = F.linear(xr, w["qkv.weight"], w["qkv.bias"]).split(16, dim=-1)
    q, k, v = (z.reshape(2, 5, 4, 4).transpose(1, 2) for z in (q, k, v))
    y = F.scaled_dot_product_attention(q, k, v, attn_mask=_torch_allowed(5, 5, True, padding))
    ref = F.linear(y.transpose(1, 2).reshape(2, 5, 16), w["proj.weight"], w["proj.bias"])
    ref.sum().backward()
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(xt.grad.numpy(), xr.grad.numpy(), atol=1e-12)
    for name, p in mha.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), w[name].grad.numpy(), atol=1e-12, err_msg=name)


def test_flash_dispatch_agrees_with_naive():
    """impl="flash" reaches hyperion.transformer.flash and gives the same outputs and gradients, also for
    a chunk of queries against a longer KV cache (both align the causal mask to the end of the keys)."""
    rng = np.random.default_rng(5)
    data = [rng.standard_normal((2, 2, 6, 4)) for _ in range(3)]
    padding = np.array([[False] * 6, [False] * 4 + [True] * 2])
    for n_q in (6, 3, 1):
        outs, grads = {}, {}
        for impl in ("naive", "flash"):
            q, k, v = (Tensor(a, requires_grad=True) for a in data)
            out = scaled_dot_product_attention(q[:, :, -n_q:], k, v, causal=True, key_padding_mask=padding,
                                               impl=impl)
            (out * out).sum().backward()
            outs[impl], grads[impl] = out.detach().numpy(), [t.grad.numpy() for t in (q, k, v)]
        np.testing.assert_allclose(outs["flash"], outs["naive"], atol=1e-12, err_msg=f"N_q={n_q}")
        for name, got, want in zip("qkv", grads["flash"], grads["naive"]):
            np.testing.assert_allclose(got, want, atol=1e-10, err_msg=f"grad {name}, N_q={n_q}")


def test_causal_bias_is_the_causal_mask_built_once():
    """The cached additive bias: -inf exactly where ``attention_mask`` blocks, the same read-only array on a
    second call, per dtype; a query block longer than the keys is refused (its first rows would see nothing)."""
    from hyperion.transformer.attention import causal_bias

    for n_q, n_k in ((5, 5), (1, 7), (3, 7)):
        bias = causal_bias(n_q, n_k, np.dtype(np.float32))
        blocked = attention_mask(n_q, n_k, causal=True)
        assert bias.shape == blocked.shape and bias.dtype == np.float32
        assert np.array_equal(np.isneginf(bias), blocked) and not bias[~blocked].any()
        assert causal_bias(n_q, n_k, np.dtype(np.float32)) is bias and not bias.flags.writeable
    assert causal_bias(4, 4, np.dtype(np.float64)).dtype == np.float64
    with pytest.raises(ShapeError, match="N_q <= N_k"):
        causal_bias(6, 5, np.dtype(np.float32))


def test_causal_bias_on_a_device_is_uploaded_once_per_backend(monkeypatch):
    """The device copy of the bias: the same Tensor on a second call, not one that needs a gradient; a
    device served by another backend (lazy mode, a CUDA-graph capture) gets its own copy."""
    from hyperion.tensor import backend as backend_module
    from hyperion.transformer.attention import causal_bias, causal_bias_on

    bias = causal_bias_on(3, 7, np.float32, "cpu")
    assert causal_bias_on(3, 7, np.dtype(np.float32), "cpu") is bias and not bias.requires_grad
    np.testing.assert_array_equal(bias.numpy(), causal_bias(3, 7, np.dtype(np.float32)))
    other = type(backend_module.get_backend("cpu"))()
    monkeypatch.setattr(backend_module, "get_backend", lambda device: other)
    monkeypatch.setattr("hyperion.transformer.attention.get_backend", lambda device: other)
    assert causal_bias_on(3, 7, np.float32, "cpu") is not bias
