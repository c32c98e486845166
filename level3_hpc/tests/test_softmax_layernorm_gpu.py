"""Softmax and LayerNorm (forward and backward) versions against float64 references / PyTorch CPU."""

from __future__ import annotations

import numpy as np
import pytest
from level3_gpu import rel_err, skip_without_gpu

skip_without_gpu()
import cupy  # noqa: E402

from hyperion.kernels import layernorm as ln  # noqa: E402
from hyperion.kernels import softmax as sm  # noqa: E402

SHAPES = [(1, 1), (3, 7), (33, 100), (17, 1023), (64, 4096), (5, 5000), (2, 20000)]


def _softmax_ref(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("version", sm.VERSIONS)
@pytest.mark.parametrize("shape", SHAPES)
def test_softmax(version, shape):
    x = (np.random.default_rng(0).standard_normal(shape) * 4).astype(np.float32)
    y = cupy.full(shape, np.nan, np.float32)
    out = sm.softmax(cupy.asarray(x), version, out=y).get()
    tol = 5e-5 if version == "01_naive" else 1e-5  # 01 sums a row of up to 20000 terms sequentially in fp32
    assert rel_err(out, _softmax_ref(x.astype(np.float64))) < tol


@pytest.mark.parametrize("block", [32, 128, 1024])
def test_softmax_block_sizes(block):
    x = np.random.default_rng(1).standard_normal((9, 3001)).astype(np.float32)
    out = sm.softmax(cupy.asarray(x), "04_register_cached", block).get()
    assert rel_err(out, _softmax_ref(x.astype(np.float64))) < 1e-5


def test_softmax_handles_minus_inf_and_large_values():
    x = np.array([[-np.inf, 0.0, 1000.0, 999.0], [5.0, -np.inf, -np.inf, -np.inf]], np.float32)
    for v in sm.VERSIONS:
        out = sm.softmax(cupy.asarray(x), v).get()
        assert rel_err(out, _softmax_ref(x.astype(np.float64))) < 1e-6, v


def _ln_ref(x, w, b, eps=1e-5):
    mu = x.mean(axis=1, keepdims=True)
    rstd = 1 / np.sqrt(((x - mu) ** 2).mean(axis=1, keepdims=True) + eps)
    return (x - mu) * rstd * w + b, mu[:, 0], rstd[:, 0]


@pytest.mark.parametrize("version", ln.FORWARD_VERSIONS)
@pytest.mark.parametrize("shape", SHAPES)
def test_layernorm_forward(version, shape):
    rng = np.random.default_rng(2)
    x = (rng.standard_normal(shape) * 2 + 3).astype(np.float32)
    w, b = rng.standard_normal(shape[1]).astype(np.float32), rng.standard_normal(shape[1]).astype(np.float32)
    y, mean, rstd = ln.layernorm_forward(cupy.asarray(x), cupy.asarray(w), cupy.asarray(b), version=version)
    ry, rmean, rrstd = _ln_ref(x.astype(np.float64), w, b)
    if shape[1] > 1:  # a row of one element has y = b exactly and rstd = 1/sqrt(eps)
        assert rel_err(y.get(), ry) < 1e-5
    assert rel_err(mean.get(), rmean) < 1e-5  # 01 sums a row sequentially in fp32: ~1e-6 off
    assert rel_err(rstd.get(), rrstd) < 1e-5


@pytest.mark.parametrize("version", ln.BACKWARD_VERSIONS)
@pytest.mark.parametrize("shape", [(3, 7), (33, 100), (17, 1023), (300, 4096), (5, 5000)])
def test_layernorm_backward_against_torch(version, shape):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    x = (rng.standard_normal(shape) + 1).astype(np.float32)
    w, b = rng.standard_normal(shape[1]).astype(np.float32), rng.standard_normal(shape[1]).astype(np.float32)
    dy = rng.standard_normal(shape).astype(np.float32)
    tx, tw, tb = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (x, w, b))
    torch.nn.functional.layer_norm(tx, (shape[1],), tw, tb, 1e-5).backward(
        torch.tensor(dy, dtype=torch.float64)
    )
    _, mean, rstd = ln.layernorm_forward(cupy.asarray(x), cupy.asarray(w), cupy.asarray(b))
    dx, dw, db = ln.layernorm_backward(
        cupy.asarray(dy), cupy.asarray(x), cupy.asarray(w), mean, rstd, version
    )
    assert rel_err(dx.get(), tx.grad.numpy()) < 1e-4
    assert rel_err(dw.get(), tw.grad.numpy()) < 1e-4
    assert rel_err(db.get(), tb.grad.numpy()) < 1e-5


@pytest.mark.parametrize(
    ("block", "min_blocks"), [(256, None), (512, None), (512, 2), (1024, None), (1024, 1)]
)
@pytest.mark.parametrize("shape", [(300, 4096), (41, 5000), (9, 20000)])
def test_layernorm_backward_13_configs(block, min_blocks, shape):
    """13 at every configuration the benchmark sweeps, and at a row wide enough for > 48 KiB of partials."""
    rng = np.random.default_rng(4)
    x = (rng.standard_normal(shape) + 1).astype(np.float32)
    w = rng.standard_normal(shape[1]).astype(np.float32)
    dy = rng.standard_normal(shape).astype(np.float32)
    _, mean, rstd = ln.layernorm_forward(cupy.asarray(x), cupy.asarray(w), cupy.asarray(w))
    if shape[1] > 4 * block * ln.MAX_CACHE_VEC:  # the row does not fit the registers: refused, clearly
        with pytest.raises(ValueError, match="exceed the register cache at block"):
            ln.layernorm_backward(cupy.asarray(dy), cupy.asarray(x), cupy.asarray(w), mean, rstd, block=block)
        return
    dx, dw, db = ln.layernorm_backward(
        cupy.asarray(dy),
        cupy.asarray(x),
        cupy.asarray(w),
        mean,
        rstd,
        "13_bwd_smem_partials",
        block=block,
        min_blocks=min_blocks,
    )
    ref = ln.layernorm_backward(
        cupy.asarray(dy), cupy.asarray(x), cupy.asarray(w), mean, rstd, "11_bwd_naive"
    )
    for got, want in zip((dx, dw, db), ref):
        assert rel_err(got.get(), want.get().astype(np.float64)) < 1e-5


def test_layernorm_shape_errors():
    x = cupy.ones((4, 8), np.float32)
    with pytest.raises(ValueError, match=r"shape \(8,\)"):
        ln.layernorm_forward(x, cupy.ones(7, np.float32), cupy.ones(8, np.float32))
