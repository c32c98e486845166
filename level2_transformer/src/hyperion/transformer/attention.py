"""Scaled dot-product attention, its masks, and multi-head attention.

For queries ``Q`` (N_q × d), keys ``K`` (N_k × d) and values ``V`` (N_k × d)::

    S = Q Kᵀ / √d          (N_q × N_k scores: how well query i matches key j)
    P = softmax(S + M)     (row-wise; M is 0 where allowed and -inf where masked)
    O = P V                (each output row is an average of value rows)

The *naive* implementation below materialises ``S`` and ``P`` — O(N²) memory, which is exactly what
FlashAttention (``hyperion.transformer.flash``) avoids. It is built from level-1 Tensor ops (batched
matmul, add, the fused stable softmax), so autograd gives its backward for free.

Mask convention (PyTorch's ``key_padding_mask``): ``True`` means *masked out*. The causal mask is
aligned to the *end* of the keys: query ``i`` of ``N_q`` sits at absolute position
``N_k - N_q + i`` and sees keys ``j ≤ N_k - N_q + i``. For ``N_q = N_k`` this is the usual lower
triangle; with a KV cache (``N_q = 1``) the new token sees every cached key.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from hyperion.nn import Dropout, Linear, Module
from hyperion.tensor import Tensor, softmax, where
from hyperion.tensor import functional as TF
from hyperion.tensor.backend import get_backend
from hyperion.tensor.errors import DTypeError, ShapeError
from hyperion.transformer.heads import merge_heads, split_heads
from hyperion.transformer.kv_cache import KVCache
from hyperion.transformer.rope import RotaryEmbedding


def _host_mask(mask: Any, batch: int, n_k: int) -> np.ndarray:
    """A key-padding mask (numpy or Tensor, bool, (B, N_k)) as a host numpy bool array, checked."""
    if isinstance(mask, Tensor):
        mask = mask._backend.to_numpy(mask._array())
    mask = np.asarray(mask)
    if mask.dtype != np.bool_:
        raise DTypeError(f"key_padding_mask must be bool (True = padding), got {mask.dtype}")
    if mask.shape != (batch, n_k):
        raise ShapeError(f"key_padding_mask must have shape (B, N_k) = {(batch, n_k)}, got {mask.shape}")
    return mask


def attention_mask(n_q: int, n_k: int, *, causal: bool = False, key_padding_mask: np.ndarray | None = None
                   ) -> np.ndarray | None:
    """Task 2.1 (part 1): the combined boolean mask, ``True`` where query i must not see key j.

    Returns ``None`` when nothing is masked, else a numpy bool array that broadcasts against the
    scores ``(B, H, N_q, N_k)``: shape ``(1, 1, N_q, N_k)`` for the causal mask alone, ``(B, 1, 1,
    N_k)`` for padding alone, ``(B, 1, N_q, N_k)`` for both (their logical or).

    * causal, aligned to the end of the keys: query ``i`` is at position ``N_k - N_q + i`` and is
      blocked from every key ``j > N_k - N_q + i`` (``np.triu(..., k=1 + N_k - N_q)``).
    * ``key_padding_mask`` ``(B, N_k)``: ``True`` marks a padding key, blocked for every query.
    """
    # BEGIN SOLUTION
    blocked = None
    if causal:
        blocked = np.triu(np.ones((n_q, n_k), dtype=bool), k=1 + n_k - n_q)[None, None]
    if key_padding_mask is not None:
        padding = key_padding_mask[:, None, None, :]
        blocked = padding if blocked is None else blocked | padding
    return blocked
    # END SOLUTION


@functools.lru_cache(maxsize=32)
def causal_bias(n_q: int, n_k: int, dtype: np.dtype) -> np.ndarray:
    """The additive causal mask (0 where allowed, -inf where blocked), ``(1, 1, N_q, N_k)``, read-only.

    Built once per shape and dtype: every training step asks for the same one, and rebuilding it on the
    host (``triu``, ``where``) each time left the device idle between the scores and the softmax.
    Needs ``N_q <= N_k`` (else the first rows would see no key at all)."""
    if n_q > n_k:
        raise ShapeError(f"causal_bias: needs N_q <= N_k, got N_q={n_q}, N_k={n_k}")
    bias = np.where(np.triu(np.ones((n_q, n_k), dtype=bool), k=1 + n_k - n_q), -np.inf, 0.0).astype(dtype)
    bias.setflags(write=False)
    return bias[None, None]


def causal_bias_on(n_q: int, n_k: int, dtype: np.dtype, device: str) -> Tensor:
    """:func:`causal_bias` as a constant Tensor on ``device``, uploaded once per shape, dtype and backend
    (a GPU step otherwise copied it host to device in every layer)."""
    return _causal_bias_on(n_q, n_k, np.dtype(dtype), device, get_backend(device))


@functools.lru_cache(maxsize=8)
def _causal_bias_on(n_q: int, n_k: int, dtype: np.dtype, device: str, backend: object) -> Tensor:
    # ``backend`` is in the key: lazy mode and CUDA-graph capture serve a device through another backend
    return Tensor(causal_bias(n_q, n_k, dtype), dtype=dtype, device=device)


def naive_attention(q: Tensor, k: Tensor, v: Tensor, *, causal: bool = False,
                    key_padding_mask: np.ndarray | None = None, dropout_p: float = 0.0,
                    training: bool = False) -> Tensor:
    """Task 2.1 (part 2): ``softmax(Q Kᵀ/√d + M) V`` with Tensor ops, materialising the scores.

    1. ``scores = (q · 1/√d) @ kᵀ`` — scale ``q`` (``N·d`` numbers) rather than the scores (``N²``).
    2. Build the mask with :func:`attention_mask`. Where it is set, add ``-inf`` (a constant Tensor of
       zeros and ``-inf`` in the scores' dtype), so the stable softmax gives those keys weight 0.
       A row whose keys are *all* masked would be ``softmax`` of all ``-inf`` = NaN: leave such rows
       unmasked in the additive mask, and set their weights to 0 after the softmax with ``where``
       (as PyTorch does: a query that may see nothing outputs zeros, and its gradient is zero).
    3. ``weights = softmax(scores, -1)``; in training with ``dropout_p > 0`` apply dropout to them.
    4. Return ``weights @ v``, shape ``(B, H, N_q, d)``.
    """
    # BEGIN SOLUTION
    scale = 1.0 / float(np.sqrt(q.shape[-1]))
    scores = (q * scale) @ k.transpose(-2, -1)
    n_q, n_k = q.shape[-2], k.shape[-2]
    plain_causal = causal and key_padding_mask is None and n_q <= n_k  # the training step's case: one cached bias
    blocked = None if plain_causal else attention_mask(n_q, n_k, causal=causal, key_padding_mask=key_padding_mask)
    empty_rows = None
    if plain_causal:
        dtype = np.dtype(scores.dtype)
        scores = scores + causal_bias_on(n_q, n_k, dtype, q.device)
    if blocked is not None:
        empty = blocked.all(axis=-1, keepdims=True)  # rows in which every key is masked
        if empty.any():
            empty_rows = Tensor(empty, device=q.device)
            blocked = blocked & ~empty
        bias = np.where(blocked, -np.inf, 0.0).astype(scores.dtype)
        scores = scores + Tensor(bias, dtype=scores.dtype, device=q.device)
    weights = softmax(scores, -1)
    if empty_rows is not None:
        weights = where(empty_rows, 0.0, weights)
    if training and dropout_p > 0:
        weights = TF.dropout(weights, dropout_p, training=True)
    return weights @ v
    # END SOLUTION


def scaled_dot_product_attention(q: Tensor, k: Tensor, v: Tensor, *, causal: bool = False,
                                 key_padding_mask: Any = None, dropout_p: float = 0.0,
                                 impl: str = "naive", training: bool = False) -> Tensor:
    """Attention over ``(B, H, N, d)`` tensors (``k``/``v`` may be longer than ``q``: a KV cache).

    ``key_padding_mask``: bool numpy array or Tensor ``(B, N_k)``, ``True`` = padding (masked out).
    ``impl="naive"`` materialises the ``N_q × N_k`` scores; ``impl="flash"`` calls
    ``hyperion.transformer.flash.flash_attention`` (tiled, O(N) memory; no attention dropout).
    """
    for name, t in (("q", q), ("k", k), ("v", v)):
        if not isinstance(t, Tensor) or t.ndim != 4:
            raise ShapeError(f"attention: {name} must be a (B, H, N, d) Tensor, got {getattr(t, 'shape', t)}")
    (batch, heads, n_q, dim), n_k = q.shape, k.shape[2]
    if k.shape != (batch, heads, n_k, dim) or v.shape[:3] != (batch, heads, n_k):
        raise ShapeError(f"attention: q {q.shape}, k {k.shape}, v {v.shape} do not agree "
                         "(need q (B, H, N_q, d), k (B, H, N_k, d), v (B, H, N_k, d_v))")
    if causal and n_q > n_k:
        raise ShapeError(f"attention: causal needs N_q <= N_k, got N_q={n_q}, N_k={n_k}")
    if not 0.0 <= dropout_p < 1.0:
        raise ValueError(f"attention: dropout_p must be in [0, 1), got {dropout_p}")
    mask = None if key_padding_mask is None else _host_mask(key_padding_mask, batch, n_k)
    if impl == "naive":
        return naive_attention(q, k, v, causal=causal, key_padding_mask=mask, dropout_p=dropout_p,
                               training=training)
    if impl == "flash":
        if training and dropout_p > 0:
            raise ValueError("attention: impl='flash' has no attention dropout; use dropout_p=0 or 'naive'")
        from hyperion.transformer.flash import flash_attention

        # the same alignment as the naive path: query i sees keys j <= i + N_k - N_q (a KV cache)
        return flash_attention(q, k, v, causal="bottom_right" if causal else False, key_padding_mask=mask)
    raise ValueError(f"attention: impl must be 'naive' or 'flash', got {impl!r}")


class MultiHeadAttention(Module):
    """Causal (by default) multi-head self-attention with one fused QKV projection.

    ``qkv``: Linear(C → 3C) whose output splits into q, k, v; heads become a batch dimension
    (:func:`split_heads`), so there is no loop over heads. Optional RoPE rotates q and k by their
    absolute positions; an optional :class:`KVCache` appends this call's keys and values and attends
    over everything cached (generation). ``proj``: Linear(C → C) back to the residual stream.
    """

    def __init__(self, n_embd: int, n_head: int, *, bias: bool = True, dropout: float = 0.0,
                 causal: bool = True, rope: RotaryEmbedding | None = None, attention: str = "naive",
                 device: str = "cpu", dtype: Any = None) -> None:
        super().__init__()
        if n_embd % n_head:
            raise ValueError(f"MultiHeadAttention: n_embd={n_embd} is not divisible by n_head={n_head}")
        if attention not in ("naive", "flash"):
            raise ValueError(f"MultiHeadAttention: attention must be 'naive' or 'flash', got {attention!r}")
        self.n_embd, self.n_head, self.causal, self.attention = n_embd, n_head, causal, attention
        self.dropout_p, self.rope = dropout, rope
        self.qkv = Linear(n_embd, 3 * n_embd, bias=bias, device=device, dtype=dtype)
        self.proj = Linear(n_embd, n_embd, bias=bias, device=device, dtype=dtype)
        self.resid_dropout = Dropout(dropout)

    def forward(self, x: Tensor, key_padding_mask: Any = None, cache: KVCache | None = None) -> Tensor:
        if x.ndim != 3 or x.shape[-1] != self.n_embd:
            raise ShapeError(f"MultiHeadAttention: expected input (B, T, {self.n_embd}), got {x.shape}")
        q, k, v = (split_heads(t, self.n_head) for t in TF.split(self.qkv(x), self.n_embd, dim=-1))
        start = 0 if cache is None else cache.length
        if self.rope is not None:
            q, k = self.rope(q, start), self.rope(k, start)
        if cache is not None:
            k, v = cache.append(k, v)
        # a single query at the end of the keys sees all of them: causal masking is a no-op there
        causal = self.causal and q.shape[2] > 1
        y = scaled_dot_product_attention(q, k, v, causal=causal, key_padding_mask=key_padding_mask,
                                         dropout_p=self.dropout_p, impl=self.attention,
                                         training=self.training)
        return self.resid_dropout(self.proj(merge_heads(y)))

    def extra_repr(self) -> str:
        return (f"n_embd={self.n_embd}, n_head={self.n_head}, causal={self.causal}, "
                f"rope={self.rope is not None}, attention={self.attention!r}")
