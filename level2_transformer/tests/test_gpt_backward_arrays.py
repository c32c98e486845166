"""What a GPT training step's backward allocates, counted through the op hook: the engine's gradient sums
are written in place, and the q, k, v slices of each attention layer add into one zeros array."""

from __future__ import annotations

import collections

import numpy as np

import hyperion.tensor as ht
from hyperion.tensor import autograd
from hyperion.transformer.gpt import GPT, GPTConfig


def test_a_gpt_backward_sums_in_place_and_splits_qkv_into_one_array():
    layers = 3
    model = GPT(GPTConfig(vocab_size=17, context_length=8, n_layer=layers, n_head=2, n_embd=8),
                generator=ht.Generator(0))
    rng = np.random.default_rng(0)
    idx, tgt = (ht.tensor(rng.integers(0, 17, size=(2, 6))) for _ in range(2))
    counts: collections.Counter = collections.Counter()

    def record(ctx, phase, arrays, options, finish):
        name = type(ctx).__name__
        if name == "AddGrads":
            counts["sum in place" if options["in_place"] else "sum into a new array"] += 1
        elif name == "BasicIndex" and phase == "backward":
            counts["slice into the pending sum" if "grad_into" in vars(ctx) else "slice into zeros"] += 1
        return finish(ctx.backward(*arrays) if phase == "backward" else ctx.forward(*arrays, **options))

    previous = autograd.set_op_hook(record)
    try:
        _, loss = model(idx, tgt)
        loss.backward()
    finally:
        autograd.set_op_hook(previous)
    # per layer: the first of q, k, v makes the zeros, the other two add into them; plus the position rows
    assert counts["slice into zeros"] == layers + 1
    assert counts["slice into the pending sum"] == 2 * layers
    assert counts["sum in place"] > 0 and counts["sum into a new array"] == 0
    assert all(np.isfinite(p.grad.numpy()).all() for p in model.parameters())
