"""The transformer block: pre-LayerNorm attention and MLP, each on a residual path.

::

    x = x + Attention(LayerNorm₁(x))
    x = x + MLP(LayerNorm₂(x))          MLP(h) = Dropout(W₂ · GELU(W₁ h)),  W₁: C → 4C, W₂: 4C → C

GELU is the tanh approximation ``0.5·x·(1 + tanh(√(2/π)(x + 0.044715x³)))`` of GPT-2 (within 1e-3
of the exact ``x·Φ(x)``): on numpy it costs a ``tanh`` where the exact form costs an ``erf``, several
times slower, and the MLP's GELU runs on the largest activations of the model (B·T·4C).

*Pre*-LN (GPT-2 onwards) normalises the input of each sub-layer and leaves the residual stream
itself untouched: the identity path from the loss to the embeddings carries gradient unchanged
through every block, which is why deep pre-LN stacks train without warm-up tricks.
"""

from __future__ import annotations

from typing import Any

from hyperion.nn import GELU, Dropout, LayerNorm, Linear, Module
from hyperion.tensor import Tensor
from hyperion.transformer.attention import MultiHeadAttention
from hyperion.transformer.kv_cache import KVCache
from hyperion.transformer.rope import RotaryEmbedding


class MLP(Module):
    """Position-wise feed-forward: Linear(C → 4C), GELU (tanh approximation), Linear(4C → C), dropout."""

    def __init__(self, n_embd: int, *, bias: bool = True, dropout: float = 0.0, device: str = "cpu",
                 dtype: Any = None) -> None:
        super().__init__()
        self.fc = Linear(n_embd, 4 * n_embd, bias=bias, device=device, dtype=dtype)
        self.gelu = GELU(approximate="tanh")
        self.proj = Linear(4 * n_embd, n_embd, bias=bias, device=device, dtype=dtype)
        self.dropout = Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        return self.dropout(self.proj(self.gelu(self.fc(x))))


class Block(Module):
    """One pre-LN transformer block: ``ln1 → attn`` and ``ln2 → mlp``, each added to ``x``."""

    def __init__(self, n_embd: int, n_head: int, *, bias: bool = True, dropout: float = 0.0,
                 rope: RotaryEmbedding | None = None, attention: str = "naive", device: str = "cpu",
                 dtype: Any = None) -> None:
        super().__init__()
        self.ln1 = LayerNorm(n_embd, bias=bias, device=device, dtype=dtype)
        self.attn = MultiHeadAttention(n_embd, n_head, bias=bias, dropout=dropout, rope=rope,
                                       attention=attention, device=device, dtype=dtype)
        self.ln2 = LayerNorm(n_embd, bias=bias, device=device, dtype=dtype)
        self.mlp = MLP(n_embd, bias=bias, dropout=dropout, device=device, dtype=dtype)

    def forward(self, x: Tensor, key_padding_mask: Any = None, cache: KVCache | None = None) -> Tensor:
        """Task 2.4: the pre-LN block forward.

        ``x = x + self.attn(self.ln1(x), key_padding_mask=key_padding_mask, cache=cache)``, then
        ``x = x + self.mlp(self.ln2(x))``; return ``x``. Normalise the *input* of each sub-layer, never
        the residual stream itself (that would be post-LN, the original 2017 transformer).
        """
        # BEGIN SOLUTION
        x = x + self.attn(self.ln1(x), key_padding_mask=key_padding_mask, cache=cache)
        return x + self.mlp(self.ln2(x))
        # END SOLUTION
