"""A GPT: token (+ learned position) embeddings, pre-LN blocks, final LayerNorm, a tied LM head.

::

    idx (B, T) ──wte──► (B, T, C) ─(+ wpe[0..T))─► dropout ─► Block × n_layer ─► ln_f ─► lm_head ─► logits (B, T, V)

With ``positional="rope"`` there is no ``wpe``: each attention rotates its q and k instead
(:mod:`hyperion.transformer.rope`). With ``tie_weights`` the LM head *is* the token embedding
(one Parameter, ``lm_head.weight is wte.weight``): the head scores a hidden state against every
token's embedding, and the Parameter's gradient is the sum of both uses (the engine adds them).

Initialisation as GPT-2: weights ``N(0, 0.02)``, biases 0, and the two projections that write into
the residual stream (``attn.proj``, ``mlp.proj``) ``N(0, 0.02/√(2·n_layer))`` so the stream's
variance does not grow with depth.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from hyperion.nn import Dropout, Embedding, LayerNorm, Linear, Module, ModuleList, init
from hyperion.tensor import Tensor, dtypes
from hyperion.tensor import functional as TF
from hyperion.tensor.errors import DTypeError, ShapeError
from hyperion.tensor.random import Generator
from hyperion.transformer.blocks import Block
from hyperion.transformer.kv_cache import KVCache
from hyperion.transformer.rope import RotaryEmbedding


@dataclass
class GPTConfig:
    """The shape of a GPT. ``positional``: ``"learned"`` or ``"rope"``; ``attention``: ``"naive"`` or
    ``"flash"``."""

    vocab_size: int
    context_length: int = 256
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    dropout: float = 0.0
    bias: bool = True
    positional: str = "learned"
    tie_weights: bool = True
    attention: str = "naive"

    def __post_init__(self) -> None:
        if self.n_embd % self.n_head:
            raise ValueError(f"GPTConfig: n_embd={self.n_embd} is not divisible by n_head={self.n_head}")
        if self.positional not in ("learned", "rope"):
            raise ValueError(f"GPTConfig: positional must be 'learned' or 'rope', got {self.positional!r}")
        if self.attention not in ("naive", "flash"):
            raise ValueError(f"GPTConfig: attention must be 'naive' or 'flash', got {self.attention!r}")
        if min(self.vocab_size, self.context_length, self.n_layer, self.n_head) < 1:
            raise ValueError(f"GPTConfig: sizes must be positive, got {self}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"GPTConfig: dropout must be in [0, 1), got {self.dropout}")


class GPT(Module):
    """A decoder-only transformer language model (GPT-2 layout, pre-LN)."""

    def __init__(self, config: GPTConfig, device: str = "cpu", dtype: Any = "float32",
                 generator: Generator | None = None) -> None:
        super().__init__()
        self.config, c = config, config
        dtype = dtypes.as_dtype(dtype)
        self.wte = Embedding(c.vocab_size, c.n_embd, device=device, dtype=dtype)
        if c.positional == "learned":
            self.wpe = Embedding(c.context_length, c.n_embd, device=device, dtype=dtype)
            rope = None
        else:
            self.wpe = None
            rope = RotaryEmbedding(c.n_embd // c.n_head, c.context_length)
        self.drop = Dropout(c.dropout)
        self.blocks = ModuleList(
            Block(c.n_embd, c.n_head, bias=c.bias, dropout=c.dropout, rope=rope, attention=c.attention,
                  device=device, dtype=dtype)
            for _ in range(c.n_layer)
        )
        self.ln_f = LayerNorm(c.n_embd, bias=c.bias, device=device, dtype=dtype)
        self.lm_head = Linear(c.n_embd, c.vocab_size, bias=False, device=device, dtype=dtype)
        self._init_weights(generator)
        if c.tie_weights:
            self.tie_weights()

    def tie_weights(self) -> None:
        """Task 2.13: weight tying: make the LM head use the token embedding's Parameter itself.

        ``lm_head.weight`` (V, C) and ``wte.weight`` (V, C) have the same shape: row ``v`` of the head
        scores a hidden state against token ``v``, row ``v`` of the embedding *is* token ``v``. Tying
        shares one Parameter between the two uses (assign it: ``lm_head.weight is wte.weight``), so
        ``parameters()`` lists it once, the optimizer updates it once, and backward adds the gradients
        of both uses into its ``.grad``. It saves V·C parameters (most of a small model's) and
        usually helps a small model's loss (Press & Wolf, 2017).
        """
        # BEGIN SOLUTION
        self.lm_head.weight = self.wte.weight  # one Parameter, used twice
        # END SOLUTION

    def _init_weights(self, generator: Generator | None) -> None:
        residual_std = 0.02 / math.sqrt(2 * self.config.n_layer)
        for name, module in self.named_modules():
            if isinstance(module, (Linear, Embedding)):
                std = residual_std if name.startswith("blocks.") and name.endswith(".proj") else 0.02
                init.normal_(module.weight, 0.0, std, generator=generator)
                if getattr(module, "bias", None) is not None:
                    init.zeros_(module.bias)

    @property
    def device(self) -> str:
        return self.wte.weight.device

    @property
    def dtype(self) -> np.dtype:
        return self.wte.weight.dtype

    def num_parameters(self) -> int:
        """Parameters counted once each (a tied weight counts once)."""
        return sum(p.numel() for p in self.parameters())

    def new_caches(self, batch: int) -> list[KVCache]:
        """One empty :class:`KVCache` per block, sized for ``context_length`` positions."""
        c = self.config
        return [KVCache(batch, c.n_head, c.context_length, c.n_embd // c.n_head, device=self.device,
                        dtype=self.dtype) for _ in range(c.n_layer)]

    def _tokens(self, idx: Any, name: str) -> Tensor:
        if isinstance(idx, Tensor):
            if idx.dtype != dtypes.int64:
                raise DTypeError(f"GPT: {name} must hold int64 token ids, got {idx.dtype}")
            return idx if idx.device == self.device else idx.to(self.device)
        array = np.asarray(idx)
        if array.dtype.kind not in "iu":
            raise DTypeError(f"GPT: {name} must hold integer token ids, got {array.dtype}")
        return Tensor(array.astype(np.int64), device=self.device)

    def embed(self, idx: Tensor, start: int = 0) -> Tensor:
        """Task 2.12: the input of the first block: token embeddings plus position embeddings.

        ``idx`` is an int64 ``(B, T)`` Tensor on the model's device holding positions ``start ..
        start+T-1`` (``start`` > 0 when a KV cache holds the earlier ones). Return
        ``drop(wte(idx) + wpe(positions))`` of shape ``(B, T, C)``, with ``positions`` the rows
        ``start .. start+T-1``, broadcast over the batch; with RoPE (``self.wpe is None``) just
        ``drop(wte(idx))``: the position then enters through the rotation of q and k. Attention itself
        is blind to order (a permutation of the tokens permutes its output): the position embedding is
        the only place the model learns where a token stands. The positions are consecutive, so
        ``self.wpe.weight[start:start + T]`` (a view) picks the same rows as ``wpe(arange(start,
        start + T))`` without building, uploading and range-checking an index tensor every step.
        """
        # BEGIN SOLUTION
        x = self.wte(idx)
        if self.wpe is not None:
            stop = start + idx.shape[1]
            if start < 0 or stop > self.wpe.weight.shape[0]:
                raise ShapeError(f"GPT.embed: positions {start}..{stop - 1} outside the "
                                 f"{self.wpe.weight.shape[0]} learned position embeddings")
            x = x + self.wpe.weight[start:stop]
        return self.drop(x)
        # END SOLUTION

    def forward(self, idx: Any, targets: Any = None, *, key_padding_mask: Any = None,
                caches: list[KVCache] | None = None) -> tuple[Tensor, Tensor | None]:
        """Logits ``(B, T, V)`` for token ids ``idx`` ``(B, T)``, and the mean cross-entropy against
        ``targets`` ``(B, T)`` (``-100`` entries ignored) when given, else ``None``.

        ``key_padding_mask`` ``(B, T)`` (with caches ``(B, cached + T)``): ``True`` marks padding keys.
        ``caches`` (from :meth:`new_caches`): the ``T`` tokens continue the cached ones (their
        positions start at the caches' length; their keys and values are appended).
        """
        idx = self._tokens(idx, "idx")
        c = self.config
        if idx.ndim != 2:
            raise ShapeError(f"GPT: idx must have shape (B, T), got {idx.shape}")
        start = 0 if caches is None else caches[0].length
        length = idx.shape[1]
        if start + length > c.context_length:
            raise ShapeError(f"GPT: {start + length} positions exceed context_length={c.context_length}")
        x = self.embed(idx, start)
        for i, block in enumerate(self.blocks):
            x = block(x, key_padding_mask=key_padding_mask, cache=None if caches is None else caches[i])
        logits = self.lm_head(self.ln_f(x))
        if targets is None:
            return logits, None
        targets = self._tokens(targets, "targets")
        if targets.shape != idx.shape:
            raise ShapeError(f"GPT: targets {targets.shape} must have the shape of idx {idx.shape}")
        loss = TF.cross_entropy(logits.reshape(-1, c.vocab_size), targets.reshape(-1))
        return logits, loss

    def generate(self, idx: Any, max_new_tokens: int, *, temperature: float = 1.0, top_k: int | None = None,
                 top_p: float | None = None, seed: int | None = None, use_cache: bool = True) -> np.ndarray:
        """``idx`` ``(B, T)`` (or ``(T,)``) followed by ``max_new_tokens`` sampled tokens, as int64 numpy.

        See :func:`hyperion.transformer.generation.generate`.
        """
        from hyperion.transformer.generation import generate

        return generate(self, idx, max_new_tokens, temperature=temperature, top_k=top_k, top_p=top_p,
                        seed=seed, use_cache=use_cache)

