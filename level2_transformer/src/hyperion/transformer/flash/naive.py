"""Naive attention: the N×N score matrix, materialised. The reference every other variant must match.

Forward, for one head (rows of ``Q`` are queries, rows of ``K``/``V`` keys and values)::

    S = scale · Q Kᵀ          (N_q × N_k, masked entries -inf)
    P = softmax(S) row-wise   (stable: subtract the row max)
    O = P V

Backward, given ``dO``::

    dV = Pᵀ dO
    dP = dO Vᵀ
    dS = P ∘ (dP − rowsum(dP ∘ P))          (the softmax Jacobian, applied row by row)
    dQ = scale · dS K,   dK = scale · dSᵀ Q

``rowsum(dP ∘ P)`` equals ``rowsum(dO ∘ O)`` (since ``O = P V``): FlashAttention uses the second
form because it needs no N×N matrix. Memory here is ``O(B·H·N_q·N_k)``: at N = 8192, one head's
scores in float32 are 256 MB. That is what FlashAttention removes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hyperion.transformer.flash._inputs import allowed_mask, causal_shift, check_qkv, default_scale


def _xp(a: Any) -> Any:
    """numpy or CuPy, whichever owns ``a`` (so the same code serves as the GPU baseline)."""
    return np if isinstance(a, np.ndarray) else __import__("cupy").get_array_module(a)


def attention_probs(q, k, *, causal=False, key_padding_mask=None, scale=None):
    """``(P, lse)``: the softmax probabilities ``(B, H, N_q, N_k)`` and the row log-sum-exp ``(B, H, N_q)``.

    Fully masked rows get ``P = 0`` and ``lse = -inf``.
    """
    xp = _xp(q)
    s = (q @ k.swapaxes(-1, -2)) * q.dtype.type(default_scale(q.shape[-1], scale))
    shift = causal_shift(causal, q.shape[2], k.shape[2])
    allowed = allowed_mask(xp, q.shape[2], k.shape[2], causal, key_padding_mask, shift=shift)
    if allowed is not None:
        s = xp.where(allowed, s, -xp.inf).astype(q.dtype)
    m = s.max(axis=-1, keepdims=True)
    m = xp.where(xp.isneginf(m), 0, m).astype(q.dtype)  # a fully masked row: exp(-inf - 0) = 0
    p = xp.exp(s - m)
    total = p.sum(axis=-1, keepdims=True)
    with np.errstate(divide="ignore"):
        lse = (m + xp.log(total))[..., 0]
    p /= xp.where(total == 0, 1, total).astype(q.dtype)
    return p, lse


def naive_attention_forward(q, k, v, *, causal=False, key_padding_mask=None, scale=None):
    """``(O, lse)`` for ``q (B, H, N_q, d)``, ``k, v (B, H, N_k, d)``: softmax(scale·QKᵀ) V."""
    check_qkv(q, k, v, key_padding_mask, "naive_attention_forward")
    p, lse = attention_probs(q, k, causal=causal, key_padding_mask=key_padding_mask, scale=scale)
    return p @ v, lse


def naive_attention_backward(q, k, v, dout, *, causal=False, key_padding_mask=None, scale=None):
    """``(dQ, dK, dV)`` for upstream gradient ``dout`` (shaped like O); recomputes P (N×N again)."""
    check_qkv(q, k, v, key_padding_mask, "naive_attention_backward")
    scale = default_scale(q.shape[-1], scale)
    p, _ = attention_probs(q, k, causal=causal, key_padding_mask=key_padding_mask, scale=scale)
    dv = p.swapaxes(-1, -2) @ dout
    dp = dout @ v.swapaxes(-1, -2)
    ds = p * (dp - (dp * p).sum(axis=-1, keepdims=True))
    ds *= q.dtype.type(scale)
    return ds @ k, ds.swapaxes(-1, -2) @ q, dv
