"""The PyTorch twin of ``hyperion.transformer.gpt.GPT``: the same architecture, parameter names and
layout, written independently with torch ops — the oracle for the equivalence tests and the
baseline of the step-time benchmark.

Same state_dict keys, so ``twin.load_state_dict(state_dict_from(ours))`` copies every weight.
Attention uses ``torch.nn.functional.scaled_dot_product_attention``; RoPE the rotate-half formula
of GPT-NeoX / Hugging Face LLaMA; GELU the tanh approximation (as GPT-2); LM head tied to ``wte`` when asked.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    return torch.cat([-x[..., half:], x[..., :half]], dim=-1)


def torch_rope(x: torch.Tensor, start: int = 0, base: float = 10000.0) -> torch.Tensor:
    """``x · cos + rotate_half(x) · sin`` with angles ``m · base^(-2i/d)`` (Hugging Face's formula)."""
    d, n = x.shape[-1], x.shape[-2]
    inv_freq = 1.0 / (base ** (torch.arange(0, d, 2, dtype=torch.float64) / d))
    angles = torch.outer(torch.arange(start, start + n, dtype=torch.float64), inv_freq)
    emb = torch.cat([angles, angles], dim=-1)
    return x * emb.cos().to(x.dtype) + rotate_half(x) * emb.sin().to(x.dtype)


class TorchAttention(nn.Module):
    def __init__(self, cfg) -> None:
        super().__init__()
        self.n_head, self.rope = cfg.n_head, cfg.positional == "rope"
        self.qkv = nn.Linear(cfg.n_embd, 3 * cfg.n_embd, bias=cfg.bias)
        self.proj = nn.Linear(cfg.n_embd, cfg.n_embd, bias=cfg.bias)

    def forward(self, x: torch.Tensor, key_padding_mask: torch.Tensor | None = None) -> torch.Tensor:
        b, t, c = x.shape
        q, k, v = self.qkv(x).split(c, dim=-1)
        q, k, v = (z.view(b, t, self.n_head, c // self.n_head).transpose(1, 2) for z in (q, k, v))
        if self.rope:
            q, k = torch_rope(q), torch_rope(k)
        if key_padding_mask is None:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            allowed = torch.ones(t, t, dtype=torch.bool).tril() & ~key_padding_mask[:, None, None, :]
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=allowed)
        return self.proj(y.transpose(1, 2).reshape(b, t, c))


class TorchMLP(nn.Module):
    def __init__(self, cfg) -> None:
        super().__init__()
        self.fc = nn.Linear(cfg.n_embd, 4 * cfg.n_embd, bias=cfg.bias)
        self.proj = nn.Linear(4 * cfg.n_embd, cfg.n_embd, bias=cfg.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(F.gelu(self.fc(x), approximate="tanh"))


class TorchBlock(nn.Module):
    def __init__(self, cfg) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(cfg.n_embd, bias=cfg.bias)
        self.attn = TorchAttention(cfg)
        self.ln2 = nn.LayerNorm(cfg.n_embd, bias=cfg.bias)
        self.mlp = TorchMLP(cfg)

    def forward(self, x: torch.Tensor, key_padding_mask: torch.Tensor | None = None) -> torch.Tensor:
        x = x + self.attn(self.ln1(x), key_padding_mask)
        return x + self.mlp(self.ln2(x))


class TorchGPT(nn.Module):
    """``TorchGPT(config)`` for a ``GPTConfig`` (dropout must be 0: the RNGs differ)."""

    def __init__(self, cfg) -> None:
        super().__init__()
        assert cfg.dropout == 0.0, "the twin has no dropout"
        self.cfg = cfg
        self.wte = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        self.wpe = nn.Embedding(cfg.context_length, cfg.n_embd) if cfg.positional == "learned" else None
        self.blocks = nn.ModuleList(TorchBlock(cfg) for _ in range(cfg.n_layer))
        self.ln_f = nn.LayerNorm(cfg.n_embd, bias=cfg.bias)
        self.lm_head = nn.Linear(cfg.n_embd, cfg.vocab_size, bias=False)
        if cfg.tie_weights:
            self.lm_head.weight = self.wte.weight

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None,
                key_padding_mask: torch.Tensor | None = None):
        x = self.wte(idx)
        if self.wpe is not None:
            x = x + self.wpe(torch.arange(idx.shape[1]))
        for block in self.blocks:
            x = block(x, key_padding_mask)
        logits = self.lm_head(self.ln_f(x))
        loss = None if targets is None else F.cross_entropy(logits.flatten(0, 1), targets.flatten())
        return logits, loss


def twin_of(model, dtype: torch.dtype = torch.float32) -> TorchGPT:
    """A ``TorchGPT`` holding copies of ``model``'s weights (a Hyperion GPT), in ``dtype``."""
    twin = TorchGPT(model.config).to(dtype)
    state = {k: torch.tensor(np.array(v.numpy()), dtype=dtype) for k, v in model.state_dict().items()}
    twin.load_state_dict(state)
    return twin
