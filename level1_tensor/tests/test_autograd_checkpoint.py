"""Gradient checkpointing: the same gradients as the plain function, and measurably less memory kept."""

from __future__ import annotations

import gc
import tracemalloc

import numpy as np
import pytest

import hyperion.tensor as ht

DEPTH, WIDTH, BATCH = 12, 256, 256  # each activation: 256 x 256 float32 = 256 KiB


def _mlp_params(seed: int = 0):
    g = ht.Generator(seed)
    return [(ht.randn(WIDTH, WIDTH, generator=g) * (1 / WIDTH**0.5)).requires_grad_() for _ in range(DEPTH)]


def _block(x, *weights):
    for w in weights:
        x = ht.tanh(x @ w)
    return x


def _run(use_checkpoint: bool, segments: int = 1):
    weights = _mlp_params()
    x = ht.randn(BATCH, WIDTH, generator=ht.Generator(1), requires_grad=True)
    per = DEPTH // segments
    h = x
    for s in range(segments):
        chunk = weights[s * per : (s + 1) * per]
        h = ht.checkpoint(_block, h, *chunk) if use_checkpoint else _block(h, *chunk)
    return x, weights, h


@pytest.mark.parametrize("segments", [1, 3])
def test_checkpoint_gives_the_same_gradients_as_the_plain_function(segments):
    x1, w1, out1 = _run(False, segments)
    x2, w2, out2 = _run(True, segments)
    np.testing.assert_array_equal(out1.detach().numpy(), out2.detach().numpy())
    (out1 * out1).sum().backward()
    (out2 * out2).sum().backward()
    np.testing.assert_allclose(x2.grad.numpy(), x1.grad.numpy(), rtol=1e-6, atol=1e-7)
    for a, b in zip(w1, w2):
        np.testing.assert_allclose(b.grad.numpy(), a.grad.numpy(), rtol=1e-6, atol=1e-7)


def _memory_kept_and_peak(use_checkpoint: bool) -> tuple[int, int]:
    """Bytes still allocated after the forward (what the graph keeps alive) and the forward's peak."""
    gc.collect()
    tracemalloc.start()
    x, weights, out = _run(use_checkpoint)
    loss = (out * out).sum()
    kept, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del x, weights, out, loss
    return kept, peak


def test_checkpoint_keeps_measurably_less_memory_during_forward():
    kept_plain, peak_plain = _memory_kept_and_peak(False)
    kept_ckpt, peak_ckpt = _memory_kept_and_peak(True)
    activation = BATCH * WIDTH * 4
    # the plain graph holds ~2 arrays per layer (matmul input, tanh output); the checkpoint only its input
    assert kept_plain - kept_ckpt > (DEPTH - 2) * activation, (kept_plain, kept_ckpt)
    assert kept_ckpt < kept_plain / 2
    assert peak_ckpt < peak_plain / 2


def test_checkpoint_with_retain_graph_and_inputs_that_do_not_require_grad():
    w = ht.randn(4, 4, requires_grad=True)
    x = ht.randn(3, 4)  # data: no grad
    out = ht.checkpoint(lambda a, b: ht.tanh(a @ b), x, w).sum()
    out.backward(retain_graph=True)
    first = w.grad.numpy().copy()
    out.backward()
    np.testing.assert_allclose(w.grad.numpy(), 2 * first, rtol=1e-6)
    assert x.grad is None
    plain_w = w.detach().clone().requires_grad_()
    ht.tanh(x @ plain_w).sum().backward()
    np.testing.assert_allclose(first, plain_w.grad.numpy(), rtol=1e-6)


def test_checkpoint_under_no_grad_or_without_grad_inputs_records_nothing():
    a = ht.ones(2, requires_grad=True)
    with ht.no_grad():
        assert not ht.checkpoint(lambda t: t * 2, a).requires_grad
    assert not ht.checkpoint(lambda t: t * 2, ht.ones(2)).requires_grad
    with pytest.raises(TypeError, match="every argument must be a Tensor"):
        ht.checkpoint(lambda t, k: t * k, a, 3)


def _dropout_mlp(x, w1, w2, generator=None):
    h = ht.tanh(x @ w1)
    return ht.functional.dropout(h, 0.5, training=True, generator=generator) @ w2


def test_checkpoint_around_dropout_replays_the_masks_and_gives_the_plain_gradients():
    rng = np.random.default_rng(3)
    data = [rng.standard_normal(s) for s in ((4, 8), (8, 16), (16, 3))]
    grads, outs, after = [], [], []
    for use_checkpoint in (False, True):
        x, w1, w2 = (ht.tensor(a, requires_grad=True) for a in data)
        ht.manual_seed(11)  # the default generator draws the mask
        out = ht.checkpoint(_dropout_mlp, x, w1, w2) if use_checkpoint else _dropout_mlp(x, w1, w2)
        (out * out).sum().backward()
        outs.append(out.detach().numpy())
        grads.append([t.grad.numpy() for t in (x, w1, w2)])
        after.append(ht.rand(5).numpy())  # the recomputation must not move the stream the program sees
    np.testing.assert_array_equal(outs[1], outs[0])
    for got, want in zip(grads[1], grads[0]):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(after[1], after[0])


def test_checkpointed_dropout_gradient_matches_finite_differences_with_a_fixed_mask():
    from hyperion.tensor.testing import gradcheck

    g = ht.Generator(5)  # an explicit generator, reseeded per call: every evaluation has the same mask

    def fn(x, w1, w2):
        g.manual_seed(5)
        return ht.checkpoint(lambda a, b, c: _dropout_mlp(a, b, c, generator=g), x, w1, w2)

    rng = np.random.default_rng(4)
    assert gradcheck(fn, *(rng.standard_normal(s) for s in ((4, 8), (8, 16), (16, 3))))


def test_checkpoint_without_preserving_the_rng_state_draws_a_new_mask():
    x = ht.ones(64, requires_grad=True)
    ht.manual_seed(0)
    out = ht.checkpoint(lambda t: ht.functional.dropout(t, 0.5), x, preserve_rng_state=False)
    out.sum().backward()  # the recomputed mask differs from the forward's: documented, so opt-in only
    assert not np.array_equal(x.grad.numpy(), out.detach().numpy())
