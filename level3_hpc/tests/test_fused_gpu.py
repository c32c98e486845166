"""Each fused kernel equals its unfused chain and a float64 reference; demos compute what they claim."""

from __future__ import annotations

import math

import numpy as np
import pytest
from level3_gpu import rel_err, skip_without_gpu

skip_without_gpu()
import cupy  # noqa: E402

from hyperion.kernels import demo  # noqa: E402
from hyperion.kernels import fused as fu  # noqa: E402

RNG = np.random.default_rng(0)


def _gelu(v):
    return 0.5 * v * (1 + np.tanh(np.sqrt(2 / np.pi) * (v + 0.044715 * v**3)))


@pytest.mark.parametrize("shape", [(1, 1), (7, 33), (64, 4096)])
def test_bias_gelu(shape):
    x, b = RNG.standard_normal(shape).astype(np.float32), RNG.standard_normal(shape[1]).astype(np.float32)
    ref = _gelu(x.astype(np.float64) + b)
    for fn in (fu.bias_gelu, fu.bias_gelu_unfused):
        assert rel_err(fn(cupy.asarray(x), cupy.asarray(b)).get(), ref) < 1e-5


def test_bias_gelu_backward_against_torch():
    torch = pytest.importorskip("torch")
    x, b = RNG.standard_normal((9, 70)).astype(np.float32), RNG.standard_normal(70).astype(np.float32)
    dy = RNG.standard_normal((9, 70)).astype(np.float32)
    tx, tb = (
        torch.tensor(x, dtype=torch.float64, requires_grad=True),
        torch.tensor(b, dtype=torch.float64, requires_grad=True),
    )
    torch.nn.functional.gelu(tx + tb, approximate="tanh").backward(torch.tensor(dy, dtype=torch.float64))
    dx, db = fu.bias_gelu_backward(cupy.asarray(dy), cupy.asarray(x), cupy.asarray(b))
    assert rel_err(dx.get(), tx.grad.numpy()) < 1e-5 and rel_err(db.get(), tb.grad.numpy()) < 1e-5


def _masked_softmax(s, scale, causal):
    z = s.astype(np.float64) * scale
    if causal:
        T = s.shape[-1]
        z = np.where(np.triu(np.ones((T, T), bool), 1), -np.inf, z)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


@pytest.mark.parametrize("causal", [True, False])
@pytest.mark.parametrize("shape", [(1, 1, 1), (3, 37, 37), (2, 300, 300), (1, 1030, 1030)])
def test_scale_mask_softmax(shape, causal):
    s = RNG.standard_normal(shape).astype(np.float32)
    ref = _masked_softmax(s, 0.3, causal)
    assert rel_err(fu.scale_mask_softmax(cupy.asarray(s), 0.3, causal).get(), ref) < 1e-5
    assert rel_err(fu.scale_mask_softmax_unfused(cupy.asarray(s), 0.3, causal).get(), ref) < 1e-5


@pytest.mark.parametrize("shape", [(1, 1), (5, 33), (70, 4096)])
def test_residual_layernorm(shape):
    x, r = RNG.standard_normal(shape).astype(np.float32), RNG.standard_normal(shape).astype(np.float32)
    w, b = RNG.standard_normal(shape[1]).astype(np.float32), RNG.standard_normal(shape[1]).astype(np.float32)
    h64 = x.astype(np.float64) + r
    mu = h64.mean(axis=1, keepdims=True)
    ref = (h64 - mu) / np.sqrt(((h64 - mu) ** 2).mean(axis=1, keepdims=True) + 1e-5) * w + b
    for fn in (fu.residual_layernorm, fu.residual_layernorm_unfused):
        h, y, _, _ = fn(*(cupy.asarray(v) for v in (x, r, w, b)))
        assert rel_err(h.get(), h64) < 1e-7
        if shape[1] > 1:
            assert rel_err(y.get(), ref) < 1e-5


@pytest.mark.parametrize("causal", [True, False])
@pytest.mark.parametrize("shape", [(1, 1, 1), (3, 65, 17), (2, 130, 64), (4, 200, 80)])
def test_attention_scores(shape, causal):
    q, k = RNG.standard_normal(shape).astype(np.float32), RNG.standard_normal(shape).astype(np.float32)
    scale = 1 / math.sqrt(shape[2])
    ref = q.astype(np.float64) @ k.astype(np.float64).transpose(0, 2, 1) * scale
    T = shape[1]
    masked = np.triu(np.ones((T, T), bool), 1) if causal else np.zeros((T, T), bool)
    for fn in (fu.attention_scores, fu.attention_scores_unfused):
        s = cupy.full((shape[0], T, T), np.nan, np.float32)
        s = fn(cupy.asarray(q), cupy.asarray(k), scale, causal).get()
        assert np.all(np.isneginf(s[:, masked]))
        assert rel_err(np.where(masked, 0, s), np.where(masked, 0, ref)) < 1e-5


def test_demos_compute_the_same_thing_both_ways():
    y0 = cupy.random.random(5000, dtype=np.float32)
    a, b = demo.branch(y0.copy(), uniform=False, iters=4), demo.branch(y0.copy(), uniform=True, iters=4)
    assert a.shape == b.shape and bool(
        cupy.isfinite(a).all()
    )  # different lanes take different paths by design
    x = cupy.arange(4096, dtype=np.float32)
    for stride in (1, 32):
        np.testing.assert_array_equal(
            demo.gather(x, stride).get(), x.get()[(np.arange(4096) * stride) % 4096]
        )
    m = cupy.random.random((96, 96), dtype=np.float32)
    for padded in (False, True):
        np.testing.assert_array_equal(demo.transpose(m, padded).get(), m.get().T)
