"""Tasks 2.14 and 2.15: the parameter and FLOP counts agree with the real GPT (its allocated parameters,
and the FLOPs its forward pass runs in Matmul and Linear, counted by wrapping those two Functions)."""

from __future__ import annotations

import numpy as np
import pytest

from hyperion.tensor.ops import matmul as mm
from hyperion.transformer.accounting import gpt_forward_flops, gpt_parameter_count
from hyperion.transformer.gpt import GPT, GPTConfig

CONFIGS = [
    dict(vocab_size=65),
    dict(vocab_size=50, n_layer=2, n_head=2, n_embd=32, context_length=16, bias=False, tie_weights=False),
    dict(vocab_size=70, n_layer=3, n_head=3, n_embd=48, positional="rope"),
]


@pytest.mark.parametrize("options", CONFIGS)
def test_parameter_count_is_the_models(options):
    config = GPTConfig(**options)
    assert gpt_parameter_count(config) == GPT(config).num_parameters()


@pytest.mark.parametrize(("options", "seq_len", "batch"), [(CONFIGS[0], 20, 3), (CONFIGS[1], 16, 1)])
def test_forward_flops_are_the_matmuls_the_forward_runs(options, seq_len, batch, monkeypatch):
    counted = [0]
    matmul_forward, linear_forward = mm.Matmul.forward, mm.Linear.forward

    def count_matmul(self, a, b, *args, **kwargs):
        out = matmul_forward(self, a, b, *args, **kwargs)
        counted[0] += 2 * out.size * a.shape[-1]
        return out

    def count_linear(self, x, weight, bias=None):
        out = linear_forward(self, x, weight, bias)
        counted[0] += 2 * out.size * weight.shape[1]
        return out

    config = GPTConfig(**{**options, "context_length": max(options.get("context_length", 256), seq_len)})
    model = GPT(config)
    monkeypatch.setattr(mm.Matmul, "forward", count_matmul)
    monkeypatch.setattr(mm.Linear, "forward", count_linear)
    model(np.zeros((batch, seq_len), dtype=np.int64))
    assert gpt_forward_flops(config, seq_len, batch) == counted[0]
