"""Tasks 2.12 and 2.13: GPT.embed is wte[idx] + wpe[start:start+T]; tying shares one Parameter whose gradient
is the sum of both uses (checked against numpy)."""

from __future__ import annotations

import numpy as np
import pytest

import hyperion.tensor as ht
from hyperion.tensor.errors import ShapeError
from hyperion.transformer.gpt import GPT, GPTConfig


def test_embed_adds_token_and_position_rows():
    model = GPT(GPTConfig(vocab_size=11, context_length=16, n_layer=1, n_head=2, n_embd=6), generator=ht.Generator(1))
    idx = np.random.default_rng(0).integers(0, 11, size=(2, 5))
    out = model.embed(ht.tensor(idx), start=3).detach().numpy()
    wte, wpe = model.wte.weight.detach().numpy(), model.wpe.weight.detach().numpy()
    np.testing.assert_allclose(out, wte[idx] + wpe[3:8], rtol=1e-6)


def test_position_rows_get_the_batch_summed_gradient_and_overflow_is_named():
    model = GPT(GPTConfig(vocab_size=11, context_length=8, n_layer=1, n_head=2, n_embd=6), generator=ht.Generator(3))
    rng = np.random.default_rng(4)
    idx, g = rng.integers(0, 11, size=(3, 4)), rng.standard_normal((3, 4, 6)).astype(np.float32)
    (model.embed(ht.tensor(idx), start=2) * ht.tensor(g)).sum().backward()
    want = np.zeros((8, 6), np.float32)
    want[2:6] = g.sum(axis=0)  # rows 2..5, summed over the batch; every other row 0
    np.testing.assert_allclose(model.wpe.weight.grad.numpy(), want, rtol=1e-6, atol=1e-6)
    with pytest.raises(ShapeError, match="positions 6..9 outside the 8"):
        model.embed(ht.tensor(idx), start=6)


def test_tied_weight_is_one_parameter_with_both_gradients():
    model = GPT(GPTConfig(vocab_size=9, context_length=8, n_layer=1, n_head=2, n_embd=4), generator=ht.Generator(2))
    assert model.lm_head.weight is model.wte.weight
    rng = np.random.default_rng(1)
    idx, g = rng.integers(0, 9, size=(2, 5)), rng.standard_normal((2, 5, 9)).astype(np.float32)
    w = model.wte.weight.detach().numpy().astype(np.float64)
    (model.lm_head(model.wte(ht.tensor(idx))) * ht.tensor(g)).sum().backward()
    want = np.einsum("btv,btc->vc", g, w[idx])
    np.add.at(want, idx, g @ w)
    np.testing.assert_allclose(model.wte.weight.grad.numpy(), want, rtol=1e-5, atol=1e-6)
